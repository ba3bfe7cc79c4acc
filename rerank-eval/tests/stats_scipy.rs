//! The significance tests against scipy, on the committed output of
//! `tests/reference/stats_reference.py` (`tests/data/stats_reference.json`).

use rerank_eval::stats;
use serde_json::Value;

fn cases() -> Vec<Value> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/stats_reference.json"
    );
    let v: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    v["cases"].as_array().unwrap().clone()
}

fn vec(v: &Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

#[test]
fn paired_t_test_matches_scipy_ttest_rel() {
    let mut worst_p = 0.0f64;
    for (i, c) in cases().iter().enumerate() {
        let (a, b) = (vec(&c["a"]), vec(&c["b"]));
        let t = stats::paired_t_test(&a, &b).unwrap();
        let (want_t, want_p) = (c["t"].as_f64().unwrap(), c["p"].as_f64().unwrap());
        assert!(
            (t.t - want_t).abs() <= 1e-12 * want_t.abs().max(1.0),
            "case {i}: t {} vs scipy {want_t}",
            t.t
        );
        assert!(
            (t.p_value - want_p).abs() <= 1e-12,
            "case {i}: p {} vs scipy {want_p}",
            t.p_value
        );
        worst_p = worst_p.max((t.p_value - want_p).abs());
    }
    eprintln!("largest p-value difference to scipy: {worst_p:.2e}");
}

#[test]
fn exact_randomization_test_matches_scipy_permutation_test() {
    let mut n = 0;
    for (i, c) in cases().iter().enumerate() {
        let Some(want) = c.get("randomization_exact_p").and_then(Value::as_f64) else {
            continue;
        };
        let (a, b) = (vec(&c["a"]), vec(&c["b"]));
        let r = stats::randomization_test(&a, &b, 10_000, 0).unwrap();
        assert!(r.exact);
        assert!(
            (r.p_value - want).abs() < 1e-12,
            "case {i}: {} vs scipy {want}",
            r.p_value
        );
        n += 1;
    }
    assert!(n >= 10);
}

#[test]
fn effect_size_matches_numpy() {
    for (i, c) in cases().iter().enumerate() {
        let d = stats::effect_size(&vec(&c["a"]), &vec(&c["b"])).unwrap();
        let want = c["effect_size"].as_f64().unwrap();
        assert!((d - want).abs() < 1e-12, "case {i}: {d} vs {want}");
    }
}

#[test]
fn bootstrap_interval_agrees_with_scipy_within_monte_carlo_error() {
    for (i, c) in cases().iter().enumerate() {
        let (a, b) = (vec(&c["a"]), vec(&c["b"]));
        let ci = stats::bootstrap_ci(&a, &b, 20_000, 0.95, i as u64).unwrap();
        let (lo, hi) = (
            c["bootstrap_low"].as_f64().unwrap(),
            c["bootstrap_high"].as_f64().unwrap(),
        );
        // Both are Monte Carlo estimates with different generators: allow 5% of the width
        // (about ten standard errors of a 2.5% quantile from 20,000 resamples).
        let tol = 0.05 * (hi - lo);
        assert!(
            (ci.low - lo).abs() < tol && (ci.high - hi).abs() < tol,
            "case {i}: [{}, {}] vs scipy [{lo}, {hi}]",
            ci.low,
            ci.high
        );
    }
}
