//! Inputs at the edges: bad files give clear errors naming file and line, odd but
//! valid inputs give defined values, and nothing panics.

use std::path::Path;

use rerank_eval::{EvalOptions, Evaluator, Qrels, Run};

fn write(dir: &Path, name: &str, content: &[u8]) -> std::path::PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, content).unwrap();
    p
}

fn all_trec() -> Evaluator {
    Evaluator::new(["all_trec"], EvalOptions::default()).unwrap()
}

#[test]
fn truncated_lines_name_file_and_line() {
    let d = tempfile::tempdir().unwrap();
    let q = write(d.path(), "qrels", b"1 0 a 1\n1 0 b 0\n1 0 c\n");
    let e = Qrels::from_path(&q).unwrap_err().to_string();
    assert!(
        e.contains("qrels:3:") && e.contains("expected 4 fields"),
        "{e}"
    );

    let qrels = Qrels::from_path(write(d.path(), "ok", b"1 0 a 1\n")).unwrap();
    let r = write(d.path(), "run", b"1 Q0 a 1 1.0 x\n1 Q0 b 2\n");
    let e = all_trec()
        .evaluate_file(&qrels, &r)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("run:2:") && e.contains("expected 6 fields"),
        "{e}"
    );
}

#[test]
fn non_numeric_values() {
    let d = tempfile::tempdir().unwrap();
    let e = Qrels::from_path(write(d.path(), "q", b"1 0 a yes\n"))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("q:1:") && e.contains("relevance 'yes' is not an integer"),
        "{e}"
    );
    let qrels = Qrels::from_path(write(d.path(), "ok", b"1 0 a 1\n")).unwrap();
    let r = write(d.path(), "r", b"# header\n1 Q0 a 1 high x\n");
    let e = all_trec()
        .evaluate_file(&qrels, &r)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("r:2:") && e.contains("score 'high' is not a number"),
        "{e}"
    );
}

#[test]
fn empty_files() {
    let d = tempfile::tempdir().unwrap();
    let e = Qrels::from_path(write(d.path(), "q", b""))
        .unwrap_err()
        .to_string();
    assert!(e.contains("has no qrels lines"), "{e}");
    let qrels = Qrels::from_path(write(d.path(), "ok", b"1 0 a 1\n")).unwrap();
    let e = all_trec()
        .evaluate_file(&qrels, write(d.path(), "r", b"# nothing\n\n"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("has no run lines"), "{e}");
    let e = Qrels::from_path(d.path().join("missing"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("cannot read") && e.contains("missing"), "{e}");
}

#[test]
fn no_query_in_common() {
    let d = tempfile::tempdir().unwrap();
    let qrels = Qrels::from_path(write(d.path(), "q", b"1 0 a 1\n2 0 b 1\n")).unwrap();
    let e = all_trec()
        .evaluate_file(&qrels, write(d.path(), "r", b"3 Q0 a 1 1 x\n"))
        .unwrap_err();
    assert!(
        matches!(
            e,
            rerank_eval::Error::NoQueriesInCommon {
                qrels_queries: 2,
                run_queries: 1
            }
        ),
        "{e}"
    );
    // With -c every qrels query counts, with no results at all: zeros, like trec_eval.
    let ev = Evaluator::new(
        ["map", "num_q"],
        EvalOptions {
            average_complete: true,
            ..Default::default()
        },
    )
    .unwrap();
    let e = ev
        .evaluate_file(&qrels, write(d.path(), "r2", b"3 Q0 a 1 1 x\n"))
        .unwrap();
    assert_eq!(e.mean("num_q"), Some(2.0));
    assert_eq!(e.mean("map"), Some(0.0));
}

#[test]
fn binary_files() {
    let d = tempfile::tempdir().unwrap();
    let mut blob = b"1 0 a 1\n".to_vec();
    blob.extend_from_slice(&[0x7f, b'E', b'L', b'F', 0, 0, 1, 2, 0xff, 0xfe, b'\n']);
    let e = Qrels::from_path(write(d.path(), "q", &blob))
        .unwrap_err()
        .to_string();
    assert!(e.contains("q:2:") && e.contains("binary"), "{e}");
    let qrels = Qrels::from_path(write(d.path(), "ok", b"1 0 a 1\n")).unwrap();
    let e = all_trec()
        .evaluate_file(&qrels, write(d.path(), "r", &blob))
        .unwrap_err()
        .to_string();
    assert!(e.contains("binary"), "{e}");
    // Invalid UTF-8 without NUL bytes.
    let e = Qrels::from_path(write(d.path(), "latin1", b"1 0 caf\xe9 1\n"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("latin1:1:") && e.contains("UTF-8"), "{e}");
}

#[test]
fn duplicate_document_in_a_ranking_is_refused_like_trec_eval() {
    let d = tempfile::tempdir().unwrap();
    let qrels = Qrels::from_path(write(d.path(), "q", b"1 0 a 1\n")).unwrap();
    let r = write(
        d.path(),
        "r",
        b"1 Q0 a 1 2 x\n1 Q0 b 2 1 x\n1 Q0 a 3 0.5 x\n",
    );
    let e = all_trec()
        .evaluate_file(&qrels, &r)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("'a' appears twice for query '1'") && e.contains("line 3"),
        "{e}"
    );
    // trec_eval checks after -M: a duplicate beyond the cutoff is not seen.
    let ev = Evaluator::new(
        ["P.1"],
        EvalOptions {
            max_docs_per_topic: 2,
            ..Default::default()
        },
    )
    .unwrap();
    assert!(ev.evaluate_file(&qrels, &r).is_ok());
    // A query the qrels do not know is never evaluated, so not checked (as trec_eval).
    let r = write(
        d.path(),
        "r2",
        b"1 Q0 a 1 2 x\n9 Q0 z 1 1 x\n9 Q0 z 2 1 x\n",
    );
    assert!(all_trec().evaluate_file(&qrels, &r).is_ok());
}

/// Repeats are found whatever the list's length (short lists and long ones are
/// checked differently) and wherever the two lines are, and distinct documents are
/// never taken for repeats.
#[test]
fn duplicates_in_short_and_long_rankings() {
    let d = tempfile::tempdir().unwrap();
    let qrels = Qrels::from_path(write(d.path(), "q", b"1 0 d7 1\n")).unwrap();
    for n in [2usize, 1000, 4096, 4097, 20_000] {
        let mut text = String::new();
        for i in 0..n {
            text.push_str(&format!("1 Q0 d{i} {} {} x\n", i + 1, n - i));
        }
        let r = write(d.path(), "ok", text.as_bytes());
        assert!(all_trec().evaluate_file(&qrels, &r).is_ok(), "{n}");
        // The first document again, at the end (lowest score): named with its line.
        text.push_str("1 Q0 d0 9 0.5 x\n");
        let r = write(d.path(), "dup", text.as_bytes());
        let e = all_trec()
            .evaluate_file(&qrels, &r)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("'d0' appears twice for query '1'")
                && e.contains(&format!("line {}", n + 1)),
            "{n}: {e}"
        );
    }
}

#[test]
fn queries_judged_only_negative_have_defined_values() {
    // trec_eval's behaviour here is undefined (stale state); ours: nothing relevant.
    let qrels = Qrels::from_judgements([("1", "a", -1), ("1", "b", -2)]).unwrap();
    let mut run = Run::new("r");
    run.push_ranking("1", ["a", "c"]);
    let e = all_trec().evaluate(&qrels, &run).unwrap();
    for (c, col) in e.columns().iter().enumerate() {
        let v = e.summary()[c];
        assert!(v.is_nan() || v.is_finite(), "{} = {v}", col.name);
    }
    assert_eq!(e.mean("map"), Some(0.0));
    assert_eq!(e.mean("ndcg_cut_10"), Some(0.0));
    assert_eq!(e.texts().unwrap()[0], ".-"); // in the pool unjudged, not in the pool
}

#[test]
fn non_contiguous_queries_fall_back_to_reading_the_whole_file() {
    let d = tempfile::tempdir().unwrap();
    let qrels = Qrels::from_path(write(d.path(), "q", b"1 0 a 1\n2 0 b 1\n1 0 c 1\n")).unwrap();
    let r = write(d.path(), "r", b"1 Q0 a 1 3 x\n2 Q0 b 1 3 x\n1 Q0 c 2 2 x\n");
    let ev = Evaluator::new(["num_ret", "map"], EvalOptions::default()).unwrap();
    let e = ev.evaluate_file(&qrels, &r).unwrap();
    assert_eq!(e.value("1", "num_ret"), Some(2.0));
    assert_eq!(e.mean("map"), Some(1.0));
}

#[test]
fn bad_measures() {
    let o = EvalOptions::default;
    assert!(matches!(
        Evaluator::new(["mapp"], o()),
        Err(rerank_eval::Error::UnknownMeasure(_))
    ));
    for bad in [
        "P.",
        "P.0",
        "P.5,5",
        "P.x",
        "ndcg.1=",
        "ndcg.1=2,3",
        "utility.1,2",
        "map.3",
    ] {
        let e = Evaluator::new([bad], o());
        assert!(e.is_err(), "{bad} accepted");
    }
}

#[test]
fn lines_longer_than_the_read_chunk() {
    let d = tempfile::tempdir().unwrap();
    let long = "d".repeat(9 << 20);
    let qrels =
        Qrels::from_path(write(d.path(), "q", format!("1 0 {long} 1\n").as_bytes())).unwrap();
    let r = write(
        d.path(),
        "r",
        format!("1 Q0 x 1 2 t\n1 Q0 {long} 2 1 t").as_bytes(),
    );
    let e = Evaluator::new(["P.2"], EvalOptions::default())
        .unwrap()
        .evaluate_file(&qrels, &r)
        .unwrap();
    assert_eq!(e.mean("P_2"), Some(0.5));
    assert_eq!(e.run_name(), "t");
}

#[test]
fn errors_name_the_files_line_however_the_file_is_cut() {
    // Read in parts by separate threads, a bad line or a repeated document deep in
    // the file is still reported at its line in the file.
    let d = tempfile::tempdir().unwrap();
    let qrels = Qrels::from_path(write(d.path(), "q", b"1 0 a 1\n2 0 b 1\n3 0 c 1\n")).unwrap();
    let mut good = String::new();
    for q in 1..=3 {
        for i in 0..20 {
            good += &format!("{q} Q0 d{i} {i} {} run\n", 100 - i);
        }
    }
    let mut bad = good.clone();
    bad += "3 Q0 d99 21 oops run\n"; // line 61
    let mut repeated = good.clone();
    repeated.insert_str(
        repeated.find("3 Q0 d5 ").unwrap(),
        "3 Q0 d0 4 95.5 run\n", // line 46, a second d0 for query 3
    );
    let (bad, repeated) = (
        write(d.path(), "bad", bad.as_bytes()),
        write(d.path(), "rep", repeated.as_bytes()),
    );
    for parts in 1..=4 {
        let e = all_trec()
            .evaluate_file_in_parts(&qrels, &bad, parts)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("bad:61:") && e.contains("score 'oops'"),
            "{parts} parts: {e}"
        );
        let e = all_trec()
            .evaluate_file_in_parts(&qrels, &repeated, parts)
            .unwrap_err()
            .to_string();
        assert!(e.contains("(second time at line 46)"), "{parts} parts: {e}");
        let ok = all_trec()
            .evaluate_file_in_parts(&qrels, write(d.path(), "good", good.as_bytes()), parts)
            .unwrap();
        assert_eq!(ok.qids().len(), 3);
    }
}
