//! The same reranking pipeline on two backends: the model run in this process by
//! candle, and the same model behind an OpenAI-compatible server. The pipeline is
//! written once, generic over `Backend`.
//!
//! Usage: swap_backend [BASE_URL]   (default http://127.0.0.1:8080/v1)

use anyhow::Context;
use rerank::core::{candidates_from_docs, Document, Query, Ranking};
use rerank::model::candle::{default_device, CandleBackend};
use rerank::model::http::{HttpBackend, HttpConfig};
use rerank::model::{registry, Backend, ModelSource};
use rerank::{Method, Reranker};

/// The pipeline: any backend in, a ranking out.
fn pipeline<B: Backend + 'static>(
    backend: B,
    query: &Query,
    docs: &[Document],
) -> anyhow::Result<Ranking> {
    let mut reranker = Reranker::builder()
        .backend(backend)
        .method(Method::RankGpt)
        .max_new_tokens(64)
        .build()?;
    Ok(reranker.rerank(query, &candidates_from_docs(docs.iter().cloned()))?)
}

fn main() -> anyhow::Result<()> {
    let base_url = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "http://127.0.0.1:8080/v1".into());
    let query = Query::new(
        "q",
        "measuring the dielectric constant of liquids with microwaves",
    );
    let docs: Vec<Document> = [
        "a microwave cavity method for the dielectric constant of liquids",
        "transistor amplifiers for radio receivers",
        "dielectric loss of water at centimetre wavelengths",
        "binary number representation in computing machines",
        "the permittivity of polar liquids measured in a waveguide",
    ]
    .iter()
    .enumerate()
    .map(|(i, t)| Document::new(format!("d{}", i + 1), *t))
    .collect();

    // 1. candle, in process.
    let source = ModelSource::resolve(registry::DEFAULT_MODEL)?;
    let candle = CandleBackend::load(&source, &default_device())?;
    let tokenizer = candle.tokenizer().clone();
    let a = pipeline(candle, &query, &docs)?;
    println!("candle: {:?}", a.ids());

    // 2. the same model behind a server (llama.cpp's, vLLM, …). llama-cpp-python's
    //    server penalises repeats by default; switch that off for plain greedy decoding.
    let mut config = HttpConfig::new(&base_url, "smollm2").api_key_from_env("OPENAI_API_KEY");
    config
        .extra_body
        .insert("repeat_penalty".into(), 1.0.into());
    let http = HttpBackend::new(config)?.with_tokenizer(tokenizer);
    let b = pipeline(http, &query, &docs)?;
    println!("http:   {:?}", b.ids());
    let same = a.ids().iter().zip(b.ids()).filter(|(x, y)| *x == y).count();
    println!("{same} of {} positions agree", docs.len());
    for (name, r) in [("candle", &a), ("http", &b)] {
        let c = &r.calls[0];
        let output = c.record.raw_output.as_deref().unwrap_or("");
        println!("{name} output: {}", output.trim());
        // A failed request is not an error of the pipeline (the window keeps its
        // order), but here it means the server is not there.
        if let Some(e) = &c.error {
            return Err(anyhow::anyhow!("{e}")).context(format!(
                "the {name} backend failed; is a server running at {base_url}? (see examples/swap_backend/README.md)"
            ));
        }
    }
    Ok(())
}
