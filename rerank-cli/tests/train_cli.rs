//! `rerank train` as a user runs it: REARANK data from Vaswani (`rerank rl build-data`,
//! windows of 3 passages so steps are short), SmolLM2, LoRA, a few GRPO steps.
//!
//! - A run killed with SIGKILL after its first checkpoint and started again with the
//!   same command resumes there and ends with the same adapter, byte for byte, and the
//!   same metrics as a run that was never interrupted.
//! - A bad configuration (unknown key, bad value, data of another method) is refused
//!   with the file, and the line or the key, named.
//!
//! Needs SmolLM2 (`rerank fetch-model smollm2-135m`).

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

fn vaswani(file: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../data/vaswani")
        .join(file)
        .to_string_lossy()
        .into_owned()
}

fn rerank(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rerank"))
        .args(args)
        .output()
        .unwrap()
}

fn ok(args: &[&str]) {
    let out = rerank(args);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Training data of both methods in `dir`.
fn data(dir: &Path) {
    let run = dir.join("bm25.run").to_string_lossy().into_owned();
    ok(&[
        "retrieve",
        "--corpus",
        &vaswani("doc-text.trec"),
        "--topics",
        &vaswani("query-text.trec"),
        "-k",
        "100",
        "-o",
        &run,
    ]);
    let (topics, corpus, qrels) = (
        vaswani("query-text.trec"),
        vaswani("doc-text.trec"),
        vaswani("qrels"),
    );
    for (method, extra) in [
        ("rearank", vec!["--window", "3", "--samples", "2"]),
        ("rank-r1", vec![]),
    ] {
        let out = dir.join(method).to_string_lossy().into_owned();
        let mut a = vec![
            "rl",
            "build-data",
            "--method",
            method,
            "--topics",
            &topics,
            "--corpus",
            &corpus,
            "--qrels",
            &qrels,
            "--run",
            &run,
            "--validation",
            "0.1",
            "--test",
            "0.45",
            "--seed",
            "1",
            "-o",
            &out,
        ];
        a.extend(extra);
        ok(&a);
    }
}

fn config(dir: &Path, name: &str, extra: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(
        &p,
        format!(
            "model = \"smollm2-135m\"\ntrain = \"rearank/train.jsonl\"\n\n\
             [lora]\nrank = 4\nalpha = 8.0\ntargets = [\"q\", \"v\"]\n\n\
             [rollout]\ngroup = 2\nmax_new_tokens = 6\n\n\
             [optim]\nlr = 0.001\n\n\
             [run]\nsteps = 3\nprompts_per_step = 1\ncheckpoint_every = 1\n{extra}"
        ),
    )
    .unwrap();
    p
}

fn train(cfg: &Path, out: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_rerank"));
    c.args(["train", cfg.to_str().unwrap(), "-o", out.to_str().unwrap()]);
    c
}

#[test]
fn a_killed_run_resumes_to_the_same_adapter() {
    let dir = tempfile::tempdir().unwrap();
    data(dir.path());
    let cfg = config(dir.path(), "train.toml", "");
    let whole = dir.path().join("whole");
    let out = train(&cfg, &whole).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // Killed (SIGKILL) once the first checkpoint is there, then run again.
    let parts = dir.path().join("parts");
    let mut child = train(&cfg, &parts)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let state = parts.join("checkpoint/state.json");
    let start = Instant::now();
    while !state.is_file() {
        assert!(start.elapsed() < Duration::from_secs(600), "no checkpoint");
        std::thread::sleep(Duration::from_millis(50));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(!parts.join("adapter").exists(), "killed before the end");
    let out = train(&cfg, &parts).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("resuming"), "{stderr}");

    let read = |d: &Path, f: &str| std::fs::read(d.join(f)).unwrap();
    assert_eq!(
        read(&whole, "adapter/adapter_model.safetensors"),
        read(&parts, "adapter/adapter_model.safetensors"),
        "the same adapter"
    );
    let metrics = |d: &Path| -> Vec<serde_json::Value> {
        String::from_utf8(read(d, "metrics.jsonl"))
            .unwrap()
            .lines()
            .map(|l| {
                let mut v: serde_json::Value = serde_json::from_str(l).unwrap();
                for k in ["seconds", "rollout_seconds", "rollout_tokens_per_s"] {
                    v.as_object_mut().unwrap().remove(k);
                }
                v
            })
            .collect()
    };
    let (a, b) = (metrics(&whole), metrics(&parts));
    assert_eq!(a.len(), 3);
    assert_eq!(a, b, "the same steps");
    // The adapter learned something: it is not the initial one (B = 0).
    let adapter = rerank_model::candle::peft::WEIGHTS_FILE;
    let t = candle_core::safetensors::load(
        whole.join("adapter").join(adapter),
        &candle_core::Device::Cpu,
    )
    .unwrap();
    let b0 = &t["base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight"];
    let norm: f32 = b0.sqr().unwrap().sum_all().unwrap().to_scalar().unwrap();
    assert!(norm > 0.0);

    // The chart, drawn with plotters.
    let png = read(&whole, "training.png");
    assert!(
        png.starts_with(b"\x89PNG\r\n\x1a\n") && png.len() > 10_000,
        "{} bytes",
        png.len()
    );

    // Another configuration in the same folder is refused.
    let other = config(dir.path(), "other.toml", "seed = 2\n");
    let out = train(&other, &whole).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("another configuration"));
}

#[test]
fn bad_configurations_name_the_file_and_the_key() {
    let dir = tempfile::tempdir().unwrap();
    data(dir.path());
    let first_error = |cfg: &Path| -> String {
        let out = train(cfg, &dir.path().join("out")).output().unwrap();
        assert_eq!(out.status.code(), Some(1), "{cfg:?}");
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(!stderr.contains("panicked"), "{stderr}");
        stderr
            .lines()
            .find(|l| l.starts_with("error"))
            .unwrap()
            .to_owned()
    };
    let cfg = config(dir.path(), "unknown.toml", "stepz = 4\n");
    let e = first_error(&cfg);
    assert!(
        e.contains(&format!("{}:20:", cfg.display())) && e.contains("unknown field `stepz`"),
        "{e}"
    );
    let cfg = config(dir.path(), "group.toml", "")
        .to_string_lossy()
        .replace(".toml", "");
    let text = std::fs::read_to_string(format!("{cfg}.toml"))
        .unwrap()
        .replace("group = 2", "group = 1");
    std::fs::write(format!("{cfg}.toml"), text).unwrap();
    let e = first_error(Path::new(&format!("{cfg}.toml")));
    assert!(
        e.contains("rollout.group is 1") && e.contains("group.toml"),
        "{e}"
    );
    let cfg = config(dir.path(), "agg.toml", "");
    std::fs::write(
        &cfg,
        std::fs::read_to_string(&cfg).unwrap() + "\n[grpo]\naggregation = \"mean\"\n",
    )
    .unwrap();
    let e = first_error(&cfg);
    assert!(e.contains("grpo.aggregation is 'mean'"), "{e}");
    let cfg = config(dir.path(), "gain.toml", "");
    std::fs::write(
        &cfg,
        std::fs::read_to_string(&cfg).unwrap() + "\n[reward]\ngain = \"normalised\"\n",
    )
    .unwrap();
    let e = first_error(&cfg);
    assert!(
        e.contains("gain.toml") && e.contains("reward.gain is 'normalised'"),
        "{e}"
    );
    // Validation data of the other method.
    let cfg = config(dir.path(), "mixed.toml", "");
    let text = std::fs::read_to_string(&cfg).unwrap().replace(
        "train = \"rearank/train.jsonl\"",
        "train = \"rearank/train.jsonl\"\nvalidation = \"rank-r1/validation.jsonl\"",
    );
    std::fs::write(&cfg, text).unwrap();
    let e = first_error(&cfg);
    assert!(
        e.contains("rank-r1/validation.jsonl") && e.contains("one run trains one method"),
        "{e}"
    );
    // A target the model does not have.
    let cfg = config(dir.path(), "target.toml", "");
    let text = std::fs::read_to_string(&cfg)
        .unwrap()
        .replace("[\"q\", \"v\"]", "[\"q\", \"lm_head\"]");
    std::fs::write(&cfg, text).unwrap();
    let e = first_error(&cfg);
    assert!(e.contains("target.toml") && e.contains("lm_head"), "{e}");
}

/// The before-and-after of a run, as `bench/train_vaswani.sh` does it: `rerank rl
/// evaluate` answers a split's windows (each answer's reward is what `rerank rl
/// reward` gives the same text, the summary their means), and `rerank rerank
/// --queries` reranks the split's queries (the list `build-data` wrote) and no others.
#[test]
fn a_split_is_evaluated_and_its_queries_reranked() {
    let dir = tempfile::tempdir().unwrap();
    data(dir.path());
    let d = |f: &str| dir.path().join(f).to_string_lossy().into_owned();
    let prefix = d("before");
    ok(&[
        "rl",
        "evaluate",
        "--data",
        &d("rearank/test.jsonl"),
        "--model",
        "smollm2-135m",
        "--max-new-tokens",
        "12",
        "-o",
        &prefix,
    ]);
    let answers: Vec<serde_json::Value> =
        std::fs::read_to_string(format!("{prefix}.answers.jsonl"))
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
    let tests = std::fs::read_to_string(d("rearank/test.jsonl")).unwrap();
    assert_eq!(answers.len(), tests.lines().count());
    // The same completions through `rerank rl reward`.
    let completions: String = answers
        .iter()
        .map(|a| {
            serde_json::json!({"id": a["id"], "completion": a["completion"]}).to_string() + "\n"
        })
        .collect();
    std::fs::write(d("completions.jsonl"), completions).unwrap();
    let out = rerank(&[
        "rl",
        "reward",
        "--data",
        &d("rearank/test.jsonl"),
        "--completions",
        &d("completions.jsonl"),
    ]);
    assert!(out.status.success());
    let rewards: Vec<f64> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["reward"]
                .as_f64()
                .unwrap()
        })
        .collect();
    for (a, r) in answers.iter().zip(&rewards) {
        assert_eq!(a["reward"].as_f64().unwrap(), *r, "{}", a["id"]);
        assert!(
            a["ndcg"].as_f64().unwrap() <= 1.0 && a["completion_tokens"].as_u64().unwrap() <= 12
        );
    }
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(format!("{prefix}.json")).unwrap()).unwrap();
    let mean = rewards.iter().sum::<f64>() / rewards.len() as f64;
    assert!((summary["summary"]["reward"].as_f64().unwrap() - mean).abs() < 1e-12);
    assert_eq!(
        summary["summary"]["examples"].as_u64().unwrap() as usize,
        answers.len()
    );

    // The test queries, three of them, reranked; nothing else in the run.
    let listed: Vec<String> = std::fs::read_to_string(d("rearank/test-queries.txt"))
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect();
    assert_eq!(listed.len(), 42, "45% of 93");
    let rerank_args = |list: &str, out: &str| -> Vec<String> {
        [
            "rerank",
            "--run",
            &d("bm25.run"),
            "--topics",
            &vaswani("query-text.trec"),
            "--corpus",
            &vaswani("doc-text.trec"),
            "--queries",
            list,
            "--limit",
            "3",
            "--model",
            "smollm2-135m",
            "--top",
            "4",
            "--window",
            "3",
            "--step",
            "2",
            "--max-new-tokens",
            "4",
            "-o",
            out,
        ]
        .map(str::to_owned)
        .to_vec()
    };
    let args = rerank_args(&d("rearank/test-queries.txt"), &d("test.run"));
    ok(&args.iter().map(String::as_str).collect::<Vec<_>>());
    let mut qids: Vec<String> = std::fs::read_to_string(d("test.run"))
        .unwrap()
        .lines()
        .map(|l| l.split_whitespace().next().unwrap().to_owned())
        .collect();
    qids.dedup();
    assert_eq!(qids.len(), 3);
    assert!(qids.iter().all(|q| listed.contains(q)), "{qids:?}");
    // A list naming a query the topics do not have.
    std::fs::write(d("bad-queries.txt"), "1\n# a comment\n9999\n").unwrap();
    let args = rerank_args(&d("bad-queries.txt"), &d("bad.run"));
    let out = rerank(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!(
            "{}:3: query '9999' is not in",
            d("bad-queries.txt")
        )),
        "{stderr}"
    );
}
