//! `rerank demo`: what the project does, on data bundled in the binary.
//!
//! Until the reranking pipeline lands, the demo evaluates the sample runs shipped with
//! trec_eval 10.0 (NIST's test suite), exactly as trec_eval would, and compares two of
//! them with a significance test.

use std::io::Write;

use anyhow::Result;
use clap::Args;
use rerank_eval::stats::{self, CompareOptions};
use rerank_eval::{EvalOptions, Evaluator, Qrels, Run};

const QRELS: &[u8] = include_bytes!("../../rerank-eval/tests/data/trec_eval/qrels.test");
const RUN: &[u8] = include_bytes!("../../rerank-eval/tests/data/trec_eval/results.test");

#[derive(Args, Debug)]
pub struct DemoArgs {}

pub fn run(_: DemoArgs) -> Result<()> {
    let mut out = std::io::stdout().lock();
    let qrels = Qrels::parse(QRELS, "trec_eval/qrels.test".as_ref())?;
    let run = Run::parse(RUN, "trec_eval/results.test".as_ref())?;
    writeln!(out, "== trec_eval's sample run, official measures (identical to `trec_eval qrels.test results.test`) ==")?;
    let ev = Evaluator::new(["official"], EvalOptions::default())?;
    ev.evaluate(&qrels, &run)?
        .write_trec_eval(&mut out, false, true)?;

    // A "reranked" run: the same documents with the top 20 of each query re-sorted by
    // judged relevance, the best a reranker of depth 20 can do.
    let mut reranked = Run::new("oracle-top20");
    for q in &run {
        let judged = qrels.get(q.qid());
        let order = q.ranked_indices();
        let mut top: Vec<(&str, i32)> = order
            .iter()
            .take(20)
            .map(|&i| {
                let d = q.get(i as usize).0;
                (d, judged.and_then(|j| j.relevance(d)).unwrap_or(0))
            })
            .collect();
        top.sort_by_key(|&(_, rel)| std::cmp::Reverse(rel));
        let rest = order.iter().skip(20).map(|&i| q.get(i as usize).0);
        reranked.push_ranking(q.qid(), top.iter().map(|&(d, _)| d).chain(rest));
    }
    let ev = Evaluator::new(["ndcg_cut.10", "P.10", "map"], EvalOptions::default())?;
    let a = ev.evaluate(&qrels, &run)?;
    let b = ev.evaluate(&qrels, &reranked)?;
    writeln!(
        out,
        "\n== an oracle reranker of the top 20, against the original ranking =="
    )?;
    writeln!(
        out,
        "{:<14} {:>10} {:>10} {:>10}",
        "run", "ndcg_cut_10", "P_10", "map"
    )?;
    for e in [&a, &b] {
        write!(out, "{:<14}", e.run_name())?;
        for c in ["ndcg_cut_10", "P_10", "map"] {
            write!(out, " {:>10.4}", e.mean(c).unwrap_or(f64::NAN))?;
        }
        writeln!(out)?;
    }
    let x = a.per_query("ndcg_cut_10").expect("column exists").to_vec();
    let y = b.per_query("ndcg_cut_10").expect("column exists").to_vec();
    let t = stats::paired_t_test(&x, &y)?;
    let cmp = stats::compare(&x, &y, &CompareOptions::default())?;
    writeln!(
        out,
        "ndcg_cut_10 difference {:+.4}, 95% bootstrap CI [{:+.4}, {:+.4}], paired t = {:.3}, p = {:.4} ({} queries: too few to be sure)",
        t.mean_diff, cmp.ci.low, cmp.ci.high, t.t, t.p_value, x.len()
    )?;
    writeln!(
        out,
        "\nNext: `rerank eval --help` and `rerank eval compare --help`."
    )?;
    Ok(())
}
