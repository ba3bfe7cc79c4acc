//! Rerank documents from your own Rust program: build a reranker, hand it a query and
//! candidates, read the new order and the model's reasoning.

use rerank::core::{candidates_from_docs, Document, Query};
use rerank::{Method, Reranker};

fn main() -> anyhow::Result<()> {
    // A known model name (installed with `rerank fetch-model`), a GGUF file or a
    // safetensors folder.
    let model = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "smollm2-135m".into());
    let mut reranker = Reranker::builder()
        .model(model)
        .method(Method::Rearank)
        .max_new_tokens(256)
        .build()?;

    let query = Query::new("q1", "How do honey bees tell each other where food is?");
    let docs = [
        Document::new("honey", "Honey is made by bees from the nectar of flowers."),
        Document::new("dance", "Forager bees perform a waggle dance whose angle and length encode the direction and distance of a food source."),
        Document::new("wasps", "Wasps are predators and do not make honey."),
        Document::new("scent", "Bees also mark rich flowers with scent so that nest mates find them."),
    ];
    let ranking = reranker.rerank(&query, &candidates_from_docs(docs))?;

    println!("new order: {:?}", ranking.ids());
    for call in &ranking.calls {
        let reasoning = call.record.reasoning.as_deref().unwrap_or("(none)");
        println!("reasoning: {}", reasoning.trim());
        println!(
            "parsed: {:?}, applied: {}",
            call.record.parse.as_ref().map(|p| p.outcome),
            call.applied
        );
    }
    Ok(())
}
