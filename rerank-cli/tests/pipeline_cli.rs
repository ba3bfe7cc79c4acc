//! The pipeline as a user runs it, with the real default model on real Vaswani
//! queries: `retrieve` then `rerank`; a run killed midway and started again ends
//! exactly like an uninterrupted one; bad input gets messages that say what to do;
//! `demo` works.

use std::collections::{BTreeMap, BTreeSet};
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

fn rerank_cmd(args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_rerank"));
    c.args(args);
    c
}

fn ok(args: &[&str]) -> Output {
    let out = rerank_cmd(args).output().unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn fails(args: &[&str]) -> String {
    let out = rerank_cmd(args).output().unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(!out.status.success(), "{args:?} succeeded");
    assert!(!stderr.contains("panicked"), "{args:?} panicked: {stderr}");
    stderr
}

fn bm25_run(dir: &Path) -> String {
    let run = dir.join("bm25.run").to_string_lossy().into_owned();
    ok(&[
        "retrieve",
        "--corpus",
        &vaswani("doc-text.trec"),
        "--topics",
        &vaswani("query-text.trec"),
        "-k",
        "20",
        "-o",
        &run,
    ]);
    run
}

fn sorted_lines(p: &Path) -> Vec<String> {
    let mut l: Vec<String> = std::fs::read_to_string(p)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect();
    l.sort();
    l
}

/// Each call of the trace without its timing: (query, step) -> (documents, output).
fn trace_calls(p: &Path) -> BTreeMap<(String, u64), String> {
    std::fs::read_to_string(p)
        .unwrap()
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            (
                (
                    v["query_id"].as_str().unwrap().to_owned(),
                    v["step"].as_u64().unwrap(),
                ),
                format!("{} {}", v["doc_ids"], v["raw_output"]),
            )
        })
        .collect()
}

fn progress_qids(run: &Path) -> Vec<String> {
    let mut p = run.as_os_str().to_owned();
    p.push(".progress");
    std::fs::read_to_string(PathBuf::from(p))
        .unwrap_or_default()
        .lines()
        .skip(1)
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .map(|v| v["qid"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn a_killed_run_resumes_to_the_same_result() {
    let dir = tempfile::tempdir().unwrap();
    let bm25 = bm25_run(dir.path());
    let (topics, corpus) = (vaswani("query-text.trec"), vaswani("doc-text.trec"));
    // One query per batch, so that queries finish one by one (and no prompt shares a
    // batch, so that the results cannot depend on which queries ran together).
    let args = |out: &str| -> Vec<String> {
        [
            "rerank",
            "--run",
            &bm25,
            "--topics",
            &topics,
            "--corpus",
            &corpus,
            "--top",
            "10",
            "--window",
            "10",
            "--step",
            "5",
            "--max-new-tokens",
            "24",
            "--batch",
            "1",
            "--limit",
            "6",
            "-o",
            out,
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    };
    let a = dir.path().join("a.run");
    let b = dir.path().join("b.run");
    let a_args = args(a.to_str().unwrap());
    ok(&a_args.iter().map(String::as_str).collect::<Vec<_>>());

    let b_args = args(b.to_str().unwrap());
    let mut child = rerank_cmd(&b_args.iter().map(String::as_str).collect::<Vec<_>>())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while progress_qids(&b).len() < 2 {
        assert!(start.elapsed() < Duration::from_secs(300), "no progress");
        assert!(
            child.try_wait().unwrap().is_none(),
            "finished before it could be killed"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap(); // SIGKILL: no chance to clean up
    child.wait().unwrap();
    let done_before = progress_qids(&b).len();
    assert!(done_before < 6, "the run was not interrupted");

    let out = ok(&b_args.iter().map(String::as_str).collect::<Vec<_>>());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("{done_before} queries already done")),
        "{stderr}"
    );
    let qids = progress_qids(&b);
    assert_eq!(qids.len(), 6, "{qids:?}");
    assert_eq!(
        qids.iter().collect::<BTreeSet<_>>().len(),
        6,
        "duplicated: {qids:?}"
    );
    assert_eq!(sorted_lines(&a), sorted_lines(&b));
    assert_eq!(sorted_lines(&b).len(), 6 * 20);
    let (ta, tb) = (
        trace_calls(&dir.path().join("a.run.trace.jsonl")),
        trace_calls(&dir.path().join("b.run.trace.jsonl")),
    );
    assert_eq!(ta.len(), 6);
    assert_eq!(ta, tb);

    // Running it once more does nothing.
    let out = ok(&b_args.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(String::from_utf8_lossy(&out.stderr).contains("6 queries already done, 0 to go"));
    assert_eq!(sorted_lines(&a), sorted_lines(&b));
}

#[test]
fn bad_input_says_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let p = |name: &str, text: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path.to_string_lossy().into_owned()
    };
    let corpus = p(
        "corpus.jsonl",
        "{\"_id\": \"d1\", \"text\": \"radio waves in the ionosphere\"}\n\
         {\"_id\": \"d2\", \"title\": \"Plasma\", \"text\": \"ion masses from back scatter\"}\n\
         {\"_id\": \"d3\", \"text\": \"binary number representation\"}\n",
    );
    let topics = p("topics.tsv", "1\tion masses in the ionosphere\n");
    let run = p(
        "first.run",
        "1 Q0 d1 1 9 x\n1 Q0 gone1 2 8 x\n1 Q0 d2 3 7 x\n1 Q0 gone2 4 6 x\n1 Q0 d3 5 5 x\n",
    );
    let out = dir.path().join("out.run").to_string_lossy().into_owned();
    let base = |topics: &str, corpus: &str, model: &str| -> Vec<String> {
        [
            "rerank",
            "--run",
            &run,
            "--topics",
            topics,
            "--corpus",
            corpus,
            "--model",
            model,
            "--top",
            "5",
            "--window",
            "5",
            "--step",
            "5",
            "--max-new-tokens",
            "8",
            "-o",
            &out,
            "--overwrite",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    };

    // Documents missing from the corpus are reported and skipped, not fatal.
    let args = base(&topics, &corpus, "smollm2-135m");
    let o = ok(&args.iter().map(String::as_str).collect::<Vec<_>>());
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(
        stderr.contains("2 documents") && stderr.contains("1/gone1") && stderr.contains("skipped"),
        "{stderr}"
    );
    let lines = sorted_lines(Path::new(&out));
    assert_eq!(lines.len(), 3);
    assert!(lines.iter().all(|l| !l.contains("gone")));

    // An empty topic.
    let empty = p("empty.tsv", "1\tion masses\n2\t  \n");
    let e = fails(
        &base(&empty, &corpus, "smollm2-135m")
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
    );
    assert!(
        e.contains("empty.tsv:2:") && e.contains("topic '2' has no text"),
        "{e}"
    );

    // A corpus line that is not JSON.
    let broken = p(
        "broken.jsonl",
        "{\"_id\": \"d1\", \"text\": \"ok\"}\n{\"_id\": \"d2\", text}\n",
    );
    let e = fails(
        &base(&topics, &broken, "smollm2-135m")
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
    );
    assert!(e.contains("broken.jsonl:2: not valid JSON"), "{e}");

    // A model that does not exist.
    let e = fails(
        &base(&topics, &corpus, "gpt-17")
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
    );
    assert!(e.contains("gpt-17") && e.contains("smollm2-135m"), "{e}");

    // A run with no query of the topics.
    let other = p("other.tsv", "77\tsomething else\n");
    let e = fails(
        &base(&other, &corpus, "smollm2-135m")
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
    );
    assert!(
        e.contains("no topic") && e.contains("belong together"),
        "{e}"
    );

    // Unknown method, demo query.
    let e = fails(&[
        "rerank", "--run", &run, "--topics", &topics, "--corpus", &corpus, "--method", "pairwise",
        "-o", &out,
    ]);
    assert!(
        e.contains("rearank, rankgpt, first, rank-r1, setwise"),
        "{e}"
    );
    let e = fails(&["demo", "--queries", "999"]);
    assert!(e.contains("1 to 93"), "{e}");
}

#[test]
fn the_demo_reranks_real_queries_with_reasoning() {
    let out = ok(&[
        "demo",
        "--model",
        "smollm2-135m",
        "--queries",
        "30",
        "--max-new-tokens",
        "48",
    ]);
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        stdout.contains("== query 30: THE DETERMINATION OF ION MASSES"),
        "{stdout}"
    );
    assert!(
        stdout.contains("nDCG@10: BM25 0.3728 -> reranked"),
        "{stdout}"
    );
    assert!(stdout.contains("answer:"), "{stdout}");
}
