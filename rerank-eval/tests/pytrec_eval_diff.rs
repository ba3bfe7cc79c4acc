//! Differential test against pytrec_eval (trec_eval's C code) on many random inputs.
//!
//! Each case is a random qrels file (graded labels, negative "unjudged" labels,
//! queries without relevant documents) and a random run (tied scores, unjudged
//! documents, document ids that sort differently as strings and as numbers), with
//! queries missing on either side, a random relevance level and sometimes `-J`.
//! Every value pytrec_eval reports must agree with ours to 1e-9.
//!
//! Not generated: a query whose judgements are all negative. trec_eval reads stale
//! state from the previous query there (its `num_rel_levels` is not reset) and
//! pytrec_eval loops forever; our behaviour for it is tested in `edge_cases.rs`.
//!
//! pytrec_eval embeds trec_eval 9, which turns recall fractions into ranks with
//! `(long)(f*R + 0.9)` where 10.0 rounds; we evaluate with `legacy_recall_cutoffs`
//! to compare like with like (10.0's rule is checked by `trec_eval_reference.rs`).

mod common;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;

use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rerank_eval::{EvalOptions, Evaluator, MeasureKind, Qrels};

const CASES: usize = 400;

/// pytrec_eval measure sets: every default, and parameters it parses correctly.
const DEFAULTS: &[&str] = &[
    "map",
    "gm_map",
    "Rprec",
    "bpref",
    "recip_rank",
    "iprec_at_recall",
    "P",
    "recall",
    "infAP",
    "gm_bpref",
    "Rprec_mult",
    "utility",
    "11pt_avg",
    "binG",
    "G",
    "ndcg",
    "ndcg_rel",
    "Rndcg",
    "ndcg_cut",
    "map_cut",
    "relative_P",
    "success",
    "set_P",
    "set_relative_P",
    "set_recall",
    "set_map",
    "set_F",
    "num_nonrel_judged_ret",
    "num_ret",
    "num_rel",
    "num_rel_ret",
    "num_q",
];
const CUSTOM: &[&str] = &[
    "P.1,2,3,7",
    "recall.2,4,50",
    "map_cut.3,8",
    "success.2,3",
    "relative_P.3,5",
    "ndcg_cut.3,7,12",
    "iprec_at_recall.0.25,0.33,0.66",
    "Rprec_mult.0.5,1.5,3",
    "set_F.0.5",
    "11pt_avg.0.2,0.5,0.9",
];

fn write_case(dir: &Path, rng: &mut ChaCha8Rng, custom: bool) -> (i32, bool) {
    let nq = rng.gen_range(1..=8);
    let mut qrels = String::new();
    let mut run = String::new();
    let tags = ["sys", "run-a", "x"];
    for q in 0..nq {
        let qid = format!(
            "{}{}",
            ["q", "Q", "topic-"][q % 3],
            rng.gen_range(0..30) * 10 + q
        );
        let pool: usize = rng.gen_range(1..=60);
        // Document ids of varied length so string order differs from numeric order.
        let docs: Vec<String> = (0..pool)
            .map(|k| format!("d{}", k * rng.gen_range(1..=3)))
            .collect();
        let mut docs: Vec<String> = {
            let mut d = docs;
            d.sort();
            d.dedup();
            d
        };
        docs.shuffle(rng);
        let in_qrels = rng.gen_bool(0.9);
        let in_run = rng.gen_bool(0.9) || !in_qrels;
        let no_relevant = rng.gen_bool(0.1);
        if in_qrels {
            let judged = rng.gen_range(1..=docs.len());
            for (k, d) in docs[..judged].iter().enumerate() {
                // trec_eval's C code has undefined behaviour (and pytrec_eval hangs) on a
                // query whose judgements are all negative, so the first one is >= 0.
                let rel = if k == 0 {
                    *[0, 1, 2].choose(rng).unwrap()
                } else if no_relevant {
                    *[0, 0, -1].choose(rng).unwrap()
                } else {
                    *[-1, 0, 0, 0, 1, 1, 2, 3].choose(rng).unwrap()
                };
                writeln!(qrels, "{qid} 0 {d} {rel}").unwrap();
            }
        }
        if in_run {
            let n = rng.gen_range(1..=docs.len());
            let mut retrieved: Vec<&String> = docs.iter().collect();
            retrieved.shuffle(rng);
            // Some documents never judged at all.
            let extra: Vec<String> = (0..rng.gen_range(0..5))
                .map(|k| format!("unseen{k}"))
                .collect();
            let tie_grain = *[1.0, 10.0, 1000.0].choose(rng).unwrap();
            for (rank, d) in retrieved[..n]
                .iter()
                .map(|s| s.as_str())
                .chain(extra.iter().map(|s| s.as_str()))
                .enumerate()
            {
                let score: f64 = (rng.gen_range(-2.0..5.0f64) * tie_grain).round() / tie_grain;
                writeln!(run, "{qid} Q0 {d} {} {score:?} {}", rank + 1, tags[q % 3]).unwrap();
            }
        }
    }
    if run.is_empty() {
        run.push_str("nobody Q0 d1 1 1.0 sys\n");
    }
    if qrels.is_empty() {
        qrels.push_str("nobody-judged 0 d1 1\n");
    }
    let level = *[1, 1, 1, 2, 3].choose(rng).unwrap();
    let judged_only = rng.gen_bool(0.15);
    let measures: Vec<&str> = if custom {
        CUSTOM.to_vec()
    } else {
        DEFAULTS.to_vec()
    };
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join("qrels"), qrels).unwrap();
    std::fs::write(dir.join("run"), run).unwrap();
    let config = format!(
        "{{\"relevance_level\": {level}, \"judged_only\": {judged_only}, \"measures\": {:?}}}",
        measures
    );
    std::fs::write(dir.join("config.json"), config).unwrap();
    (level, judged_only)
}

#[test]
fn agrees_with_pytrec_eval_on_random_inputs() {
    let Some(python) = common::reference_python("pytrec_eval") else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(20261123);
    let mut settings = Vec::new();
    for i in 0..CASES {
        let custom = i % 4 == 3;
        settings.push((
            custom,
            write_case(&tmp.path().join(format!("case{i:04}")), &mut rng, custom),
        ));
    }
    let script =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/reference/pytrec_eval_reference.py");
    let out = Command::new(&python)
        .arg(&script)
        .arg(tmp.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "pytrec_eval failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );

    let mut compared = 0usize;
    let mut per_measure: BTreeMap<String, usize> = BTreeMap::new();
    let mut evaluated_queries = 0usize;
    for (i, (custom, (level, judged_only))) in settings.into_iter().enumerate() {
        let dir = tmp.path().join(format!("case{i:04}"));
        let theirs: BTreeMap<String, BTreeMap<String, serde_json::Value>> =
            serde_json::from_str(&std::fs::read_to_string(dir.join("result.json")).unwrap())
                .unwrap();
        let opts = EvalOptions {
            relevance_level: level,
            judged_docs_only: judged_only,
            legacy_recall_cutoffs: true,
            ..Default::default()
        };
        let measures = if custom { CUSTOM } else { DEFAULTS };
        let ev = Evaluator::new(measures, opts).unwrap();
        let qrels = Qrels::from_path(dir.join("qrels")).unwrap();
        let ours = match ev.evaluate_file(&qrels, dir.join("run")) {
            Ok(e) => e,
            Err(rerank_eval::Error::NoQueriesInCommon { .. }) => {
                assert!(
                    theirs.is_empty(),
                    "case {i}: pytrec_eval evaluated queries we did not"
                );
                continue;
            }
            Err(e) => panic!("case {i}: {e}"),
        };
        assert_eq!(
            ours.qids().to_vec(),
            theirs.keys().cloned().collect::<Vec<_>>(),
            "case {i}: different evaluated queries"
        );
        evaluated_queries += ours.qids().len();
        for (qid, values) in &theirs {
            for (name, v) in values {
                // Single-valued parameterised measures carry the parameters in our name
                // (trec_eval's), not in pytrec_eval's.
                let col = ours
                    .columns()
                    .iter()
                    .position(|c| &c.name == name)
                    .or_else(|| {
                        ours.columns()
                            .iter()
                            .position(|c| c.name.starts_with(&format!("{name}_")))
                    })
                    .unwrap_or_else(|| {
                        panic!("case {i}: we have no column for pytrec_eval's '{name}'")
                    });
                let column = &ours.columns()[col];
                let mut mine = ours.value(qid, &column.name).unwrap();
                if matches!(column.kind, MeasureKind::GmMap | MeasureKind::GmBpref) {
                    mine = mine.ln(); // pytrec_eval reports the log, the summand of the geometric mean
                }
                let theirs_v = match v {
                    serde_json::Value::String(s) if s == "nan" => f64::NAN,
                    other => other.as_f64().unwrap(),
                };
                let same = (mine.is_nan() && theirs_v.is_nan()) || (mine - theirs_v).abs() <= 1e-9;
                assert!(
                    same,
                    "case {i} (level {level}, -J {judged_only}), query {qid}, {name}: ours {mine:?}, pytrec_eval {theirs_v:?}\n  files: {}",
                    dir.display()
                );
                compared += 1;
                *per_measure.entry(name.clone()).or_default() += 1;
            }
        }
    }
    eprintln!(
        "compared {compared} values ({} measures) over {evaluated_queries} queries in {CASES} cases",
        per_measure.len()
    );
    assert!(
        compared > 50_000,
        "too few values compared ({compared}): the generator is broken"
    );
    assert!(
        per_measure.len() >= 60,
        "too few distinct measures compared: {per_measure:?}"
    );
}
