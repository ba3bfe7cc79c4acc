//! `rerank eval` as a user runs it: same bytes as trec_eval on its own test suite,
//! clear messages and a failing exit status on bad input, never a panic.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../rerank-eval/tests/data/trec_eval")
        .join(name)
}

fn rerank(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rerank"))
        .args(args)
        .output()
        .unwrap()
}

fn eval_ok(args: &[&str]) -> String {
    let out = rerank(args);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn eval_err(args: &[&str]) -> String {
    let out = rerank(args);
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(!out.status.success(), "{args:?} succeeded");
    assert!(!stderr.contains("panicked"), "{args:?} panicked: {stderr}");
    stderr
}

#[test]
fn prints_what_trec_eval_prints() {
    let (q, r, t) = (
        data("qrels.test"),
        data("results.test"),
        data("results.trunc"),
    );
    let (q, r, t) = (
        q.to_str().unwrap(),
        r.to_str().unwrap(),
        t.to_str().unwrap(),
    );
    let expect = |file: &str| std::fs::read_to_string(data(file)).unwrap();
    assert_eq!(eval_ok(&["eval", q, r]), expect("out.test"));
    assert_eq!(
        eval_ok(&["eval", "-m", "all_trec", "-q", q, r]),
        expect("out.test.aq")
    );
    assert_eq!(
        eval_ok(&["eval", "-m", "all_trec", "-q", "-c", "-M100", q, t]),
        expect("out.test.aqcM")
    );
    let rl = data("qrels.rel_level");
    assert_eq!(
        eval_ok(&[
            "eval",
            "-m",
            "all_trec",
            "-mrelstring.20",
            "-q",
            "-l2",
            rl.to_str().unwrap(),
            r
        ]),
        expect("out.test.aql")
    );
    // trec_eval's long options and -n
    let long = eval_ok(&[
        "eval",
        "--measure",
        "map",
        "--query_eval_wanted",
        "--nosummary",
        q,
        r,
    ]);
    assert_eq!(long.lines().count(), 3);
    assert!(long.starts_with("map                   \t301\t"));
}

#[test]
fn reads_the_run_from_stdin() {
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_rerank"))
        .args(["eval", data("qrels.test").to_str().unwrap(), "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(&std::fs::read(data("results.test")).unwrap())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        std::fs::read_to_string(data("out.test")).unwrap()
    );
}

#[test]
fn bad_input_gives_clear_errors() {
    let d = tempfile::tempdir().unwrap();
    let w = |name: &str, content: &[u8]| {
        let p = d.path().join(name);
        std::fs::write(&p, content).unwrap();
        p.to_str().unwrap().to_owned()
    };
    let qrels = w("qrels", b"1 0 a 1\n1 0 b 0\n");
    let e = eval_err(&["eval", &qrels, &w("trunc", b"1 Q0 a 1 2.0 run\n1 Q0 b 2\n")]);
    assert!(
        e.contains("trunc:2: expected 6 fields `qid Q0 docno rank score tag`, found 4"),
        "{e}"
    );
    let e = eval_err(&["eval", &qrels, &w("score", b"1 Q0 a 1 2,5 run\n")]);
    assert!(e.contains("score:1: score '2,5' is not a number"), "{e}");
    let e = eval_err(&["eval", &w("rel", b"1 0 a high\n"), &qrels]);
    assert!(
        e.contains("rel:1: relevance 'high' is not an integer"),
        "{e}"
    );
    let e = eval_err(&["eval", &w("empty", b""), &qrels]);
    assert!(e.contains("empty has no qrels lines"), "{e}");
    let e = eval_err(&["eval", &qrels, &w("other", b"7 Q0 a 1 1 run\n")]);
    assert!(
        e.contains("no query has both relevance judgements and results"),
        "{e}"
    );
    let e = eval_err(&[
        "eval",
        &qrels,
        &w("bin", b"\x7fELF\x02\x01\x01\x00\x00\x00"),
    ]);
    assert!(e.contains("bin:1: this looks like a binary file"), "{e}");
    let e = eval_err(&["eval", &qrels, &d.path().join("nope").to_string_lossy()]);
    assert!(e.contains("cannot read") && e.contains("nope"), "{e}");
    let e = eval_err(&["eval", "-m", "ndcg_cutt.10", &qrels, &qrels]);
    assert!(e.contains("unknown measure 'ndcg_cutt.10'"), "{e}");
    let e = eval_err(&["eval", "-m", "P.0", &qrels, &qrels]);
    assert!(e.contains("cutoffs must be positive"), "{e}");
    let e = eval_err(&["eval", &qrels, &w("dup", b"1 Q0 a 1 2 r\n1 Q0 a 2 1 r\n")]);
    assert!(
        e.contains("document 'a' appears twice for query '1' (second time at line 2)"),
        "{e}"
    );
}

#[test]
fn compare_marks_significance_against_the_baseline() {
    let d = tempfile::tempdir().unwrap();
    let mut qrels = String::new();
    let (mut base, mut better) = (String::new(), String::new());
    for q in 0..30 {
        for k in 0..20 {
            qrels.push_str(&format!("{q} 0 d{k} {}\n", (k % 4 == 0) as i32));
            // baseline puts relevant documents low, the better run high
            base.push_str(&format!("{q} Q0 d{k} {k} {} base\n", k));
            better.push_str(&format!(
                "{q} Q0 d{k} {k} {} better\n",
                if k % 4 == 0 { 100 + k } else { k }
            ));
        }
    }
    let w = |name: &str, content: &str| {
        let p = d.path().join(name);
        std::fs::write(&p, content).unwrap();
        p.to_str().unwrap().to_owned()
    };
    let (q, a, b) = (w("qrels", &qrels), w("a", &base), w("b", &better));
    for test in ["t-test", "randomization", "bootstrap"] {
        let out = eval_ok(&[
            "eval", "compare", "--test", test, "-m", "map", "-m", "P.5", &q, &a, &b,
        ]);
        let row = out.lines().find(|l| l.starts_with("better")).unwrap();
        assert_eq!(row.matches('▲').count(), 2, "{test}:\n{out}");
        assert!(out.contains("baseline: base"), "{out}");
    }
    // Comparing a run with itself: nothing significant.
    let out = eval_ok(&["eval", "compare", "-m", "map", &q, &a, &a]);
    assert!(
        !out.contains('▲')
            || out
                .lines()
                .filter(|l| l.contains('▲'))
                .all(|l| l.starts_with("▲/▼")),
        "{out}"
    );
}
