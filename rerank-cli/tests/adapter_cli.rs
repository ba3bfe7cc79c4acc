//! `rerank rerank --adapter DIR`: a PEFT LoRA adapter changes what the model writes, is
//! recorded in the run's configuration (so a run never resumes with another
//! adapter), and a bad folder or a backend that cannot take one is a clear error.
//!
//! Needs SmolLM2 (`rerank fetch-model smollm2-135m`).

use std::path::Path;
use std::process::Command;

use candle_core::Device;
use rerank_model::candle::{Adapter, Decoder, LoraConfig};

fn rerank(args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_rerank"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn write_adapter(dir: &Path, seed: u64) {
    let path = rerank_model::registry::find("smollm2-135m")
        .unwrap()
        .installed()
        .expect("run `rerank fetch-model smollm2-135m`");
    let file = rerank_model::GgufFile::open(&path).unwrap();
    let decoder = Decoder::from_gguf(&file, &Device::Cpu).unwrap();
    let config = LoraConfig {
        rank: 4,
        alpha: 8.0,
        ..LoraConfig::default()
    };
    let adapter = Adapter::new(config, &decoder, seed).unwrap();
    adapter.randomize_b(seed + 1, 1.0).unwrap();
    adapter.save_peft(dir, "smollm2-135m", &decoder).unwrap();
}

fn outputs(trace: &Path) -> Vec<String> {
    std::fs::read_to_string(trace)
        .unwrap()
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            v["raw_output"].as_str().unwrap().to_owned()
        })
        .collect()
}

#[test]
fn an_adapter_changes_the_answers_and_is_part_of_the_configuration() {
    let dir = tempfile::tempdir().unwrap();
    let p = |n: &str| dir.path().join(n).to_string_lossy().into_owned();
    std::fs::write(
        p("corpus.jsonl"),
        "{\"_id\": \"d1\", \"text\": \"radio waves in the ionosphere\"}\n\
         {\"_id\": \"d2\", \"text\": \"ion masses from back scatter\"}\n\
         {\"_id\": \"d3\", \"text\": \"binary number representation\"}\n",
    )
    .unwrap();
    std::fs::write(p("topics.tsv"), "1\tion masses in the ionosphere\n").unwrap();
    std::fs::write(
        p("first.run"),
        "1 Q0 d1 1 9 x\n1 Q0 d2 2 8 x\n1 Q0 d3 3 7 x\n",
    )
    .unwrap();
    write_adapter(&dir.path().join("a"), 1);
    write_adapter(&dir.path().join("b"), 5);
    let base: Vec<String> = [
        "rerank",
        "--model",
        "smollm2-135m",
        "--method",
        "rankgpt",
        "--max-new-tokens",
        "12",
        "--run",
        &p("first.run"),
        "--topics",
        &p("topics.tsv"),
        "--corpus",
        &p("corpus.jsonl"),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let go = |extra: &[&str]| {
        let mut a: Vec<&str> = base.iter().map(String::as_str).collect();
        a.extend_from_slice(extra);
        rerank(&a)
    };
    let (code, err) = go(&["-o", &p("plain.run"), "--trace", &p("plain.jsonl")]);
    assert_eq!(code, 0, "{err}");
    let (code, err) = go(&[
        "-o",
        &p("a.run"),
        "--trace",
        &p("a.jsonl"),
        "--adapter",
        &p("a"),
    ]);
    assert_eq!(code, 0, "{err}");
    let (plain, adapted) = (
        outputs(Path::new(&p("plain.jsonl"))),
        outputs(Path::new(&p("a.jsonl"))),
    );
    assert_ne!(plain, adapted, "the adapter changes what the model writes");

    // The same adapter resumes (nothing left to do); another one is refused.
    let (code, err) = go(&["-o", &p("a.run"), "--adapter", &p("a")]);
    assert_eq!(code, 0, "{err}");
    let (code, err) = go(&["-o", &p("a.run"), "--adapter", &p("b")]);
    assert_eq!(code, 1);
    assert!(
        err.contains("different configuration") && err.contains("adapter"),
        "{err}"
    );

    // A folder that is not an adapter, and a backend that cannot take one.
    let (code, err) = go(&["-o", &p("x.run"), "--adapter", dir.path().to_str().unwrap()]);
    assert_eq!(code, 1);
    let first = err.lines().find(|l| l.starts_with("error")).unwrap();
    assert_eq!(
        first,
        format!(
            "error: {}: not a PEFT adapter folder: no adapter_config.json",
            dir.path().display()
        )
    );
    let (code, err) = go(&["-o", &p("x.run"), "--backend", "http", "--adapter", &p("a")]);
    assert_eq!(code, 1);
    assert!(
        err.contains("--adapter") && err.contains("--lora-modules"),
        "{err}"
    );
}
