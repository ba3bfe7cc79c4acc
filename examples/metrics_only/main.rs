//! rerank-eval on its own: no model, no other crate of the workspace.
//!
//! Builds judgements and two runs from Rust values, evaluates them with trec_eval's
//! measures, reads the per-query matrix, tests whether the difference is significant,
//! and writes a run file.
//!
//! cargo run --release -p rerank-examples --example metrics_only

use anyhow::Result;
use rerank_eval::stats::{self, CompareOptions, Test};
use rerank_eval::{EvalOptions, Evaluator, Qrels, Run};

fn main() -> Result<()> {
    // Judgements: query -> document -> graded relevance (0 = not relevant).
    let mut qrels = Qrels::builder();
    for q in 0..20 {
        for d in 0..30 {
            let rel = match (q + d) % 10 {
                0 => 2,
                1 | 2 => 1,
                _ => 0,
            };
            qrels.push(&format!("q{q}"), &format!("doc{d}"), rel);
        }
    }
    let qrels = qrels.build()?;

    // Two systems: a "first stage" that ranks documents in id order, and a "reranker"
    // that moves the relevant ones up (imperfectly: it misses every third query).
    let mut first_stage = Run::new("first-stage");
    let mut reranked = Run::new("reranked");
    for q in 0..20 {
        let qid = format!("q{q}");
        let docs: Vec<String> = (0..30).map(|d| format!("doc{d}")).collect();
        first_stage.push_ranking(&qid, docs.iter().map(String::as_str));
        let judged = qrels.get(&qid).expect("judged");
        let mut order: Vec<&str> = docs.iter().map(String::as_str).collect();
        if q % 3 != 0 {
            order.sort_by_key(|d| std::cmp::Reverse(judged.relevance(d).unwrap_or(0)));
        }
        reranked.push_ranking(&qid, order);
    }

    // Evaluate: trec_eval's measure syntax, trec_eval's numbers.
    let evaluator = Evaluator::new(
        ["ndcg_cut.10", "P.5", "map", "recip_rank"],
        EvalOptions::default(),
    )?;
    let a = evaluator.evaluate(&qrels, &first_stage)?;
    let b = evaluator.evaluate(&qrels, &reranked)?;
    println!("trec_eval output for the reranked run:");
    print!("{}", b.to_trec_eval_string(false));

    // The per-query matrix (queries x measures) is an ndarray for further analysis.
    let m = b.matrix();
    println!(
        "\nmatrix: {} queries x {} measures ({})",
        m.nrows(),
        m.ncols(),
        b.column_names().collect::<Vec<_>>().join(", ")
    );

    // Is the reranker significantly better on nDCG@10?
    let x = a.per_query("ndcg_cut_10").expect("column").to_vec();
    let y = b.per_query("ndcg_cut_10").expect("column").to_vec();
    let t = stats::paired_t_test(&x, &y)?;
    let rand = stats::randomization_test(&x, &y, 100_000, 42)?;
    let cmp = stats::compare(
        &x,
        &y,
        &CompareOptions {
            test: Test::Randomization,
            ..Default::default()
        },
    )?;
    println!(
        "\nnDCG@10 {:.4} -> {:.4}: t = {:.2}, p(t) = {:.2e}, p(randomization) = {:.2e}, effect size d = {:.2}, 95% CI [{:+.4}, {:+.4}]",
        cmp.mean_a, cmp.mean_b, t.t, t.p_value, rand.p_value, cmp.effect_size, cmp.ci.low, cmp.ci.high
    );

    // Write the run in TREC format.
    let path = std::env::temp_dir().join("reranked.run");
    reranked.write_path(&path)?;
    println!("wrote {}", path.display());
    Ok(())
}
