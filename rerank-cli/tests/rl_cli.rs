//! `rerank rl` as a user runs it on Vaswani with its BM25 run: the training data of
//! both methods, with counts before and after each filter, byte-identical for the
//! same seed in two runs; the verl parquet read back by pyarrow with verl's schema;
//! completions scored; and bad input refused with file and line.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

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

fn ok(args: &[&str]) -> Output {
    let out = rerank(args);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn error_line(args: &[&str]) -> String {
    let out = rerank(args);
    assert_eq!(out.status.code(), Some(1), "{args:?}");
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(!stderr.contains("panicked"), "{stderr}");
    stderr
        .lines()
        .find(|l| l.starts_with("error"))
        .unwrap_or_else(|| panic!("no error in {stderr}"))
        .to_owned()
}

fn python() -> PathBuf {
    std::env::var_os("RERANK_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../.venv/bin/python"))
}

fn bm25(dir: &Path) -> String {
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
    run
}

fn build(method: &str, run: &str, out: &Path, extra: &[&str]) -> String {
    let (topics, corpus, qrels) = (
        vaswani("query-text.trec"),
        vaswani("doc-text.trec"),
        vaswani("qrels"),
    );
    let mut args = vec![
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
        run,
        "--seed",
        "1",
        "-o",
        out.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    let o = ok(&args);
    String::from_utf8(o.stderr).unwrap()
}

fn report(dir: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("report.json")).unwrap()).unwrap()
}

fn stage(r: &serde_json::Value, name: &str) -> u64 {
    r["stages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == name)
        .unwrap_or_else(|| panic!("no stage {name}"))["count"]
        .as_u64()
        .unwrap()
}

#[test]
fn vaswani_training_data_for_both_methods() {
    let tmp = tempfile::tempdir().unwrap();
    let run = bm25(tmp.path());
    let split = ["--validation", "0.1", "--test", "0.45"];
    for method in ["rearank", "rank-r1"] {
        let extra: Vec<&str> = if method == "rank-r1" {
            [&split[..], &["--sets-per-query", "4"]].concat()
        } else {
            split.to_vec()
        };
        let (a, b) = (
            tmp.path().join(format!("{method}-a")),
            tmp.path().join(format!("{method}-b")),
        );
        let printed = build(method, &run, &a, &extra);
        build(method, &run, &b, &extra);
        // The same seed, the same bytes.
        for f in [
            "train.jsonl",
            "validation.jsonl",
            "test.jsonl",
            "report.json",
            "verl/train.parquet",
            "verl/test.parquet",
            "rerank_reward.py",
        ] {
            assert_eq!(
                std::fs::read(a.join(f)).unwrap(),
                std::fs::read(b.join(f)).unwrap(),
                "{method}: {f} differs between two runs"
            );
        }
        let r = report(&a);
        assert_eq!(r["topics"], 93);
        assert_eq!(r["labelled"], 93);
        assert_eq!(r["in_split"], 93);
        let (test, val) = (&r["queries"]["test"], &r["queries"]["validation"]);
        let kept = stage(&r, "kept");
        let written: u64 = ["train", "validation", "test"]
            .iter()
            .map(|s| r["examples"][s].as_u64().unwrap_or(0))
            .sum();
        assert_eq!(kept, written, "{method}");
        if method == "rearank" {
            // 93 queries × 50 draws; each filter's drops accounted for.
            assert_eq!(stage(&r, "drawn"), 93 * 50);
            assert_eq!(
                stage(&r, "drawn"),
                stage(&r, "dropped: no relevant passage")
                    + stage(&r, "dropped: nDCG@10 below the minimum")
                    + kept
            );
            assert!(stage(&r, "dropped: no relevant passage") > 0);
            assert!(stage(&r, "dropped: nDCG@10 below the minimum") > 0);
            assert!(
                printed.contains("dropped: nDCG@10 below the minimum"),
                "{printed}"
            );
        } else {
            assert_eq!(stage(&r, "drawn"), 93 * 4);
            assert_eq!(kept, 93 * 4);
        }
        assert!(
            test.as_u64().unwrap() >= 40 && val.as_u64().unwrap() > 0,
            "{r}"
        );

        // No query is in two splits.
        let qids = |split: &str| -> std::collections::HashSet<String> {
            std::fs::read_to_string(a.join(format!("{split}.jsonl")))
                .unwrap()
                .lines()
                .map(|l| {
                    let v: serde_json::Value = serde_json::from_str(l).unwrap();
                    v["qid"].as_str().unwrap().to_owned()
                })
                .collect()
        };
        let (tr, va, te) = (qids("train"), qids("validation"), qids("test"));
        assert!(tr.is_disjoint(&te) && tr.is_disjoint(&va) && va.is_disjoint(&te));

        // verl's schema, read back by pyarrow; the rows are the JSON lines' examples.
        let script = r#"
import json, sys
import pyarrow.parquet as pq
t = pq.read_table(sys.argv[1])
print(json.dumps({"schema": [[f.name, str(f.type)] for f in t.schema], "rows": t.num_rows,
                  "first": t.slice(0, 1).to_pylist()[0]}))
"#;
        let o = Command::new(python())
            .args(["-c", script, a.join("verl/train.parquet").to_str().unwrap()])
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        let schema: Vec<(String, String)> = v["schema"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| (f[0].as_str().unwrap().into(), f[1].as_str().unwrap().into()))
            .collect();
        let want = [
            ("data_source", "string"),
            ("prompt", "list<item: struct<role: string not null, content: string not null>>"),
            ("ability", "string"),
            ("reward_model", "struct<style: string not null, ground_truth: string not null>"),
            ("extra_info", "struct<split: string not null, index: int64 not null, id: string not null, qid: string not null, n: int64 not null, doc_ids: list<item: string> not null>"),
        ];
        assert_eq!(
            schema,
            want.iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect::<Vec<_>>()
        );
        assert_eq!(v["rows"], r["examples"]["train"]);
        let first: serde_json::Value = serde_json::from_str(
            std::fs::read_to_string(a.join("train.jsonl"))
                .unwrap()
                .lines()
                .next()
                .unwrap(),
        )
        .unwrap();
        let row = &v["first"];
        assert_eq!(row["data_source"], format!("rerank/{method}"));
        assert_eq!(row["prompt"], first["prompt"]);
        assert_eq!(row["reward_model"]["style"], "rule");
        assert_eq!(row["reward_model"]["ground_truth"], first["ground_truth"]);
        assert_eq!(row["extra_info"]["id"], first["id"]);
        assert_eq!(row["extra_info"]["doc_ids"], first["doc_ids"]);

        // Scoring completions: the ideal answer of the first example earns the most.
        let completion = match method {
            "rearank" => {
                let labels: Vec<i64> = first["labels"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|l| l.as_i64().unwrap())
                    .collect();
                let mut order: Vec<usize> = (0..labels.len()).collect();
                order.sort_by_key(|&i| std::cmp::Reverse(labels[i]));
                let ids: Vec<String> = order.iter().map(|i| format!("[{}]", i + 1)).collect();
                format!(
                    "<think>by relevance</think><answer>{}</answer>",
                    ids.join(" > ")
                )
            }
            _ => format!(
                "<think>one is on topic</think><answer>{}</answer>",
                first["ground_truth"].as_str().unwrap()
            ),
        };
        let comps = tmp.path().join(format!("{method}-completions.jsonl"));
        std::fs::write(
            &comps,
            serde_json::json!({"id": first["id"], "completion": completion}).to_string()
                + "\n"
                + &serde_json::json!({"id": first["id"], "completion": "I cannot say."})
                    .to_string()
                + "\n",
        )
        .unwrap();
        let o = ok(&[
            "rl",
            "reward",
            "--data",
            a.join("train.jsonl").to_str().unwrap(),
            "--completions",
            comps.to_str().unwrap(),
        ]);
        let lines: Vec<serde_json::Value> = String::from_utf8(o.stdout)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 2);
        let best = lines[0]["reward"].as_f64().unwrap();
        assert!((best - 1.0).abs() < 1e-12, "{method}: {}", lines[0]);
        assert!(lines[1]["reward"].as_f64().unwrap() < best);
    }
}

#[test]
fn bad_input_is_refused_with_file_and_line() {
    let tmp = tempfile::tempdir().unwrap();
    let write = |name: &str, text: &str| {
        let p = tmp.path().join(name);
        std::fs::write(&p, text).unwrap();
        p.to_string_lossy().into_owned()
    };
    let run = write(
        "first.run",
        "1 Q0 1239 1 9 x\n1 Q0 nosuchdoc 2 8 x\n2 Q0 1239 1 9 x\n",
    );
    let qrels = vaswani("qrels");
    let base = |extra: &[&str]| -> Vec<String> {
        let mut a: Vec<String> = [
            "rl",
            "build-data",
            "--method",
            "rearank",
            "--topics",
            &vaswani("query-text.trec"),
            "--corpus",
            &vaswani("doc-text.trec"),
            "--qrels",
            &qrels,
            "--run",
            &run,
            "-o",
            tmp.path().join("out").to_str().unwrap(),
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        a.extend(extra.iter().map(|s| s.to_string()));
        a
    };
    fn args(v: &[String]) -> Vec<&str> {
        v.iter().map(String::as_str).collect()
    }
    // A split list naming a query the qrels do not judge.
    let train = write("train.txt", "1\n# a comment\n9999\n");
    assert_eq!(
        error_line(&args(&base(&["--train-queries", &train]))),
        format!(
            "error: {train}:3: query '9999' of the train split has no relevance judgements (or no \
             topic); remove it or add its judgements to the qrels"
        )
    );
    // A query in two splits.
    let test = write("test.txt", "1\n");
    let only1 = write("only1.txt", "1\n");
    assert_eq!(
        error_line(&args(&base(&["--train-queries", &only1, "--test-queries", &test]))),
        format!("error: {test}:1: query '1' is in the train split already; a query can be in one split only")
    );
    // A seeded split that leaves a split empty.
    let small_topics = write(
        "topics.tsv",
        "1\tmeasurement of dielectric constant\n2\tmathematical analysis\n",
    );
    let mut a = base(&["--validation", "0.2"]);
    a[5] = small_topics.clone();
    assert_eq!(
        error_line(&args(&a)),
        "error: a validation fraction of 0.2 of 2 labelled queries is no query; raise it or set it to 0"
    );
    // Run documents missing from the corpus are reported; when nothing is left: refused.
    let mut a = base(&[]);
    a[5] = small_topics.clone();
    let out = rerank(&args(&a));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("1 run documents are not in the corpus (skipped)"),
        "{stderr}"
    );
    // Completions with a malformed line, and one answering no example.
    let data = tmp.path().join("out/train.jsonl");
    if !data.exists() {
        // The tiny run may give no example; build real data for the completion checks.
        let bm = bm25(tmp.path());
        build("rearank", &bm, &tmp.path().join("out"), &["--samples", "2"]);
    }
    let data = data.to_string_lossy().into_owned();
    let bad = write(
        "completions.jsonl",
        "{\"id\": \"rearank/1/0\", \"completion\": \"[1]\"}\n\n{\"id\": \"rearank/1/0\", completion}\n",
    );
    assert_eq!(
        error_line(&["rl", "reward", "--data", &data, "--completions", &bad]),
        format!(
            "error: {bad}:3: not a completion (a JSON object like {{\"id\": \"rearank/12/0\", \
             \"completion\": \"<think>…\"}}) (key must be a string at line 1 column 23)"
        )
    );
    let unknown = write(
        "unknown.jsonl",
        "{\"id\": \"rearank/nope/0\", \"completion\": \"x\"}\n",
    );
    assert_eq!(
        error_line(&["rl", "reward", "--data", &data, "--completions", &unknown]),
        format!("error: {unknown}: completion 1 answers example 'rearank/nope/0', which {data} does not have")
    );
    // An examples file of the other method's shape is still read by its own method
    // field; a file that is not examples at all names the line.
    let not_examples = write("not-examples.jsonl", "{\"id\": 1}\n");
    let e = error_line(&[
        "rl",
        "reward",
        "--data",
        &not_examples,
        "--completions",
        &unknown,
    ]);
    assert!(
        e.starts_with(&format!("error: {not_examples}:1: not an example")),
        "{e}"
    );
}
