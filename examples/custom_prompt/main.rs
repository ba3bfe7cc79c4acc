//! A prompt of your own: a TOML template file, checked when it is read, shown as the
//! model will see it, and used by a reranker in place of the method's prompt.

use std::path::Path;

use rerank::core::{candidates_from_docs, Document, Query};
use rerank::prompt::Template;
use rerank::{Method, Reranker};

fn main() -> anyhow::Result<()> {
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("custom_prompt/prompt.toml");
    let template = Template::from_toml_file(&file)?;
    println!(
        "template '{}' ({:?}), answer tags: {}",
        template.name, template.kind, template.answer_tags
    );

    let query = Query::new("q1", "effects of the solar wind on the ionosphere");
    let docs = [
        Document::new("a", "Bees navigate by the position of the sun."),
        Document::new(
            "b",
            "Solar wind particles disturb the ionosphere and cause radio blackouts.",
        ),
        Document::new("c", "The ionosphere reflects short radio waves."),
    ];
    for m in template.messages(&query.text, &["passage one", "passage two"]) {
        println!("--- {:?}\n{}", m.role, m.content);
    }

    let mut reranker = Reranker::builder()
        .model("smollm2-135m")
        .method(Method::Rearank) // the sliding window; the prompt is ours
        .template(template)
        .max_new_tokens(128)
        .build()?;
    let ranking = reranker.rerank(&query, &candidates_from_docs(docs))?;
    println!("\nnew order: {:?}", ranking.ids());
    let call = &ranking.calls[0];
    println!(
        "model output: {}",
        call.record.raw_output.as_deref().unwrap_or("").trim()
    );
    println!(
        "parsed: {:?}",
        call.record.parse.as_ref().map(|p| p.outcome)
    );

    // A template that cannot work is refused with the file's name and the reason.
    let broken = std::env::temp_dir().join("broken_prompt.toml");
    std::fs::write(
        &broken,
        "kind = \"listwise\"\nprompt_system = \"x\"\nprompt_user = \"no passages here\"\n",
    )?;
    println!("\n{}", Template::from_toml_file(&broken).unwrap_err());
    Ok(())
}
