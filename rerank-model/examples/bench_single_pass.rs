//! Per-window time of single-pass ranking (FIRST: one forward pass, the identifiers'
//! log-probabilities) against generating the answer, on the same windows, one window
//! at a time, with the candle backend.
//!
//! usage: bench_single_pass MODEL RUN [WINDOWS=8] [SIZE=20] [MAX_NEW_TOKENS=256] [PROMPT=rankgpt]
//!
//! MODEL: a known name or GGUF file; RUN: a TREC run over the Vaswani collection
//! (`rerank retrieve`'s BM25 run); each window is the top SIZE documents of one of the
//! first WINDOWS queries of the run. Both methods use PROMPT's template (`rankgpt` or
//! `rearank`); generation is greedy and stops at `</answer>` when the template asks
//! for answer tags. Prints one line per window and the medians.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Instant;

use rerank_core::data::{read_topics, Corpus};
use rerank_core::{Candidate, JudgeRequest, ListwiseJudge, Query};
use rerank_model::candle::CandleBackend;
use rerank_model::{LlmJudge, ModelSource, Scoring};
use rerank_prompt::Template;

fn main() {
    rerank_model::candle::keep_freed_memory();
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 3 {
        eprintln!("usage: bench_single_pass MODEL RUN [WINDOWS=8] [SIZE=20] [MAX_NEW_TOKENS=256] [PROMPT=rankgpt]");
        std::process::exit(2);
    }
    let arg = |i: usize, default: usize| args.get(i).map_or(default, |s| s.parse().unwrap());
    let (windows, size, max_new) = (arg(3, 8), arg(4, 20), arg(5, 256));
    let prompt = args.get(6).map_or("rankgpt", String::as_str);
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("../data/vaswani");
    let topics: BTreeMap<String, Query> = read_topics(data.join("query-text.trec"))
        .unwrap()
        .into_iter()
        .map(|q| (q.id.clone(), q))
        .collect();
    let corpus = Corpus::read(data.join("doc-text.trec")).unwrap();
    // The run's top SIZE per query, in rank order (TREC: qid Q0 docno rank score tag).
    let mut ranked: BTreeMap<String, Vec<(usize, String, f64)>> = BTreeMap::new();
    for line in std::fs::read_to_string(&args[2]).unwrap().lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        ranked.entry(f[0].into()).or_default().push((
            f[3].parse().unwrap(),
            f[2].into(),
            f[4].parse().unwrap(),
        ));
    }
    let mut queries: Vec<(&Query, Vec<Candidate>)> = ranked
        .iter_mut()
        .filter_map(|(qid, docs)| {
            docs.sort_by_key(|d| d.0);
            let cands: Vec<Candidate> = docs
                .iter()
                .take(size)
                .map(|(rank, id, score)| {
                    Candidate::new(corpus.get(id).unwrap().clone(), *score, *rank)
                })
                .collect();
            (cands.len() == size).then(|| (&topics[qid], cands))
        })
        .collect();
    queries.sort_by_key(|(q, _)| q.id.parse::<u64>().unwrap_or(u64::MAX));
    queries.truncate(windows);

    let source = ModelSource::resolve(&args[1]).unwrap();
    let backend = CandleBackend::load(&source, &candle_core::Device::Cpu).unwrap();
    let mut judge = LlmJudge::new(backend, Template::builtin(prompt).unwrap()).unwrap();
    judge.params.max_new_tokens = max_new;
    println!(
        "{} windows of {size} ({prompt} prompt), one at a time; generation greedy, at most {max_new} new tokens",
        queries.len()
    );
    println!(
        "{:>6} {:>7} {:>12} {:>14} {:>11} {:>8} {:>10}",
        "query", "prompt", "single ms", "generate ms", "new tokens", "ratio", "same first"
    );
    let (mut single_ms, mut gen_ms) = (Vec::new(), Vec::new());
    let mut same_first = 0;
    for (q, cands) in &queries {
        let req = [JudgeRequest {
            query: q,
            candidates: cands.iter().collect(),
        }];
        judge.scoring = Scoring::Likelihood;
        let t = Instant::now();
        let s = judge.rank_windows(&req).remove(0).unwrap();
        let single = t.elapsed().as_secs_f64() * 1000.0;
        judge.scoring = Scoring::Generate;
        let t = Instant::now();
        let g = judge.rank_windows(&req).remove(0).unwrap();
        let generated = t.elapsed().as_secs_f64() * 1000.0;
        let same = s.order[0] == g.order[0];
        same_first += same as usize;
        println!(
            "{:>6} {:>7} {:>12.0} {:>14.0} {:>11} {:>7.1}x {:>10}",
            q.id,
            s.record.prompt_tokens.unwrap_or(0),
            single,
            generated,
            g.record.completion_tokens.unwrap_or(0),
            generated / single,
            same
        );
        single_ms.push(single);
        gen_ms.push(generated);
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let (s, g) = (median(&mut single_ms), median(&mut gen_ms));
    println!(
        "median: single pass {s:.0} ms, generate {g:.0} ms per window ({:.1}x); same first identifier in {same_first} of {}",
        g / s,
        queries.len()
    );
}
