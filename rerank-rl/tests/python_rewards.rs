//! The exported Python reward module (`python/rerank_reward.py`, what verl and TRL
//! call) computes exactly the Rust rewards: thousands of generated completions,
//! covering every parse outcome of both parsers, every rank variant and both Rank-R1
//! rules, scored by both, compared to 1e-12. Standard-library Python only
//! (`$RERANK_PYTHON`, else `python3`).

use std::collections::HashSet;
use std::io::Write;
use std::process::{Command, Stdio};

use rand::{Rng, SeedableRng};
use rerank_core::ParseOutcome;
use rerank_prompt::parse::{parse_listwise, parse_setwise, reference_regex, SetwiseMode};
use rerank_rl::reward::{
    ListwiseTruth, RankGain, RankR1Reward, RankR1Rule, RearankReward, RearankWeights, Reward,
    SetwiseTruth,
};
use serde_json::{json, Value};

/// A completion from pieces models really write, in any mix.
fn completion(rng: &mut impl Rng, n: usize) -> String {
    let id = |rng: &mut dyn rand::RngCore| -> String {
        let k = rng.gen_range(0..=n + 2);
        match rng.gen_range(0..10) {
            0 => k.to_string(),
            1 => format!("［{}］", k),
            2 => format!("[{:02}]", k),
            3 => "③".into(),
            4 => format!("[ {k} ]"),
            5 => "[١٢]".into(),
            _ => format!("[{k}]"),
        }
    };
    let sep = [
        " > ",
        ">",
        " >\n",
        ", ",
        " ",
        "\u{3000}>\u{3000}",
        " > \u{1c}",
    ];
    let mut answer = String::new();
    let len = rng.gen_range(0..=n + 2);
    for i in 0..len {
        if i > 0 {
            answer.push_str(sep[rng.gen_range(0..sep.len())]);
        }
        answer.push_str(&id(rng));
    }
    let think = [
        "<think>compare them</think>",
        "<THINK>upper case</THINK>",
        "<think>the form is <answer>[1] > [2]</answer></think>",
        "<think>cut off before the end",
        "",
        "reasoning without an opening tag</think>",
        "<think>\n</think>\n\u{1c}",
        "<think>[5] looks good</think>\n\n",
    ];
    let wraps: &[(&str, &str)] = &[
        ("<answer>", "</answer>"),
        ("<answer> ", " </answer>\n"),
        ("<answer>", ""),
        ("", ""),
        ("<ANSWER>", "</ANSWER>"),
        ("Final: <answer>", "</answer> done"),
        ("<answer>\u{3000}", "\u{1f}</answer>"),
    ];
    let (open, close) = wraps[rng.gen_range(0..wraps.len())];
    let t = think[rng.gen_range(0..think.len())];
    match rng.gen_range(0..12) {
        0 => String::new(),
        1 => t.to_string(),
        2 => format!("{t}{open}{answer}{close}<answer>{}</answer>", id(rng)),
        3 => format!("Passage {} is the most relevant.", id(rng)),
        _ => format!("{t}{open}{answer}{close}"),
    }
}

fn python() -> String {
    std::env::var("RERANK_PYTHON").unwrap_or_else(|_| "python3".into())
}

#[test]
fn python_module_gives_the_rust_rewards() {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(20261201);
    let module = concat!(env!("CARGO_MANIFEST_DIR"), "/python/rerank_reward.py");
    let pattern = reference_regex(r"<think>.*?</think>\s*<answer>(.*?)</answer>").unwrap();
    let mut cases = Vec::new();
    let mut rust = Vec::new();
    let (mut listwise_seen, mut setwise_seen) = (HashSet::new(), HashSet::new());
    let gains = [
        ("normalized", RankGain::Normalized),
        ("raw", RankGain::Raw),
        ("difference", RankGain::Difference),
    ];
    for i in 0..2400 {
        let n = rng.gen_range(1..=20);
        let labels: Vec<i32> = if i % 7 == 0 {
            // An initial order that is already ideal, or all labels equal.
            let mut l: Vec<i32> = (0..n).map(|_| rng.gen_range(0..3)).collect();
            l.sort_unstable_by(|a, b| b.cmp(a));
            l
        } else {
            (0..n).map(|_| rng.gen_range(-1..4)).collect()
        };
        let out = completion(&mut rng, n);
        listwise_seen.insert(parse_listwise(&out, n, true).report.outcome);
        setwise_seen.insert(
            parse_setwise(&out, n, &pattern, SetwiseMode::Lenient)
                .report
                .outcome,
        );
        let (name, gain) = gains[i % 3];
        let weights = RearankWeights {
            rank: [0.8, 1.0, 0.5][i % 3],
            think_answer: 0.1,
            answer_format: [0.1, 0.0, 0.25][i % 3],
        };
        let r = RearankReward::new(gain, weights).score(
            &out,
            &ListwiseTruth {
                labels: labels.clone(),
            },
        );
        cases.push(json!({
            "method": "rearank", "completion": out, "labels": labels,
            "settings": {"gain": name, "w_rank": weights.rank, "w_think_answer": weights.think_answer,
                         "w_answer_format": weights.answer_format},
        }));
        rust.push(
            r.parts
                .iter()
                .map(|p| (p.name, p.value))
                .chain([("total", r.total)])
                .collect::<Vec<_>>(),
        );
        let positive = rng.gen_range(0..n);
        let (rule_name, rule) = if i % 2 == 0 {
            ("exact", RankR1Rule::Exact)
        } else {
            ("lenient", RankR1Rule::Lenient)
        };
        let s = RankR1Reward::new(rule).score(&out, &SetwiseTruth { positive, n });
        cases.push(json!({
            "method": "rank-r1", "completion": out, "positive": positive, "n": n,
            "settings": {"rule": rule_name},
        }));
        rust.push(
            s.parts
                .iter()
                .map(|p| (p.name, p.value))
                .chain([("total", s.total)])
                .collect(),
        );
    }
    // Every outcome of both parsers occurs among the completions.
    use ParseOutcome::*;
    for o in [Ok, WrongFormat, MissingIds, Repetition, OutOfRange, Empty] {
        assert!(
            listwise_seen.contains(&o),
            "no listwise {o:?} among the completions"
        );
    }
    for o in [Ok, WrongFormat, OutOfRange, Empty] {
        assert!(
            setwise_seen.contains(&o),
            "no setwise {o:?} among the completions"
        );
    }
    let mut child = Command::new(python())
        .arg(module)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {} ({e}); set RERANK_PYTHON", python()));
    let input: String = cases.iter().map(|c| c.to_string() + "\n").collect();
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()).unwrap());
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    assert!(out.status.success(), "the Python module failed");
    let lines: Vec<&str> = std::str::from_utf8(&out.stdout).unwrap().lines().collect();
    assert_eq!(lines.len(), cases.len());
    let mut worst = 0f64;
    let mut positive_totals = 0;
    for ((line, case), want) in lines.iter().zip(&cases).zip(&rust) {
        let got: Value = serde_json::from_str(line).unwrap();
        for (name, value) in want {
            let py: f64 = got[*name].as_str().unwrap().parse().unwrap();
            let diff = (py - value).abs();
            worst = worst.max(diff);
            assert!(
                diff <= 1e-12,
                "{name}: Rust {value}, Python {py} for {case}"
            );
        }
        if want.iter().any(|(n, v)| *n == "total" && *v > 0.0) {
            positive_totals += 1;
        }
    }
    eprintln!(
        "{} completions scored by both; largest difference {worst:e}; {positive_totals} with a positive reward",
        cases.len()
    );
    assert!(
        positive_totals > cases.len() / 10,
        "too few completions earn anything"
    );
}

#[test]
fn verl_and_trl_entry_points() {
    // compute_score (verl) and reward_func (TRL) on one example each.
    let module_dir = concat!(env!("CARGO_MANIFEST_DIR"), "/python");
    let script = r#"
import sys
sys.path.insert(0, sys.argv[1])
from rerank_reward import compute_score, reward_func
a = compute_score("rerank/rearank", "<think>x</think><answer>[2] > [1]</answer>", "[0, 1]")
b = compute_score("rerank/rank-r1", "<think>x</think><answer>[2]</answer>", "[2]")
c = compute_score("rerank/rank-r1", "<answer>[2]</answer>", "[2]", {"n": 3}, rule="lenient")
d = reward_func([[{"role": "assistant", "content": "<think>x</think><answer>[1]</answer>"}], "nothing"],
                ground_truth=["[1]", "[1]"], method=["rank-r1", "rank-r1"], doc_ids=[["a", "b"], ["a", "b"]])
print(repr(a), repr(b), repr(c), repr(d))
"#;
    let out = Command::new(python())
        .args(["-c", script, module_dir])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8(out.stdout).unwrap().trim(),
        "1.0 1.0 1.0 [1.0, 0.0]"
    );
}
