//! Byte-identical output to trec_eval 10.0 on NIST's own test suite.
//!
//! `data/trec_eval/` holds trec_eval's `test/` folder unchanged (see its README and
//! LICENSE.md). Each case is one trec_eval command line and the output it printed.

use std::path::{Path, PathBuf};

use rerank_eval::{EvalOptions, Evaluator, Qrels};

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/trec_eval")
        .join(name)
}

/// Runs one trec_eval command line (`-q`, `-c`, `-l`, `-M`, `-m` as trec_eval parses
/// them) through the library and returns what it prints.
fn trec_eval(args: &[&str]) -> String {
    let mut measures = Vec::new();
    let mut opts = EvalOptions::default();
    let mut per_query = false;
    let mut files = Vec::new();
    let mut zscores = None;
    let mut it = args.iter();
    while let Some(&a) = it.next() {
        match a {
            "-q" => per_query = true,
            "-c" => opts.average_complete = true,
            "-J" => opts.judged_docs_only = true,
            "-Z" => zscores = Some(data(it.next().unwrap())),
            "-m" => measures.push(it.next().unwrap().to_string()),
            _ if a.starts_with("-m") => measures.push(a[2..].to_string()),
            _ if a.starts_with("-l") => opts.relevance_level = a[2..].parse().unwrap(),
            _ if a.starts_with("-M") => opts.max_docs_per_topic = a[2..].parse().unwrap(),
            _ => files.push(data(a)),
        }
    }
    if measures.is_empty() {
        measures.push("official".into());
    }
    let ev = Evaluator::new(&measures, opts).unwrap();
    let qrels = Qrels::from_path(&files[0]).unwrap();
    // Both the streaming file reader and the in-memory run must print the same.
    let z = zscores.map(|p| rerank_eval::ZScores::from_path(p).unwrap());
    let print = |e: rerank_eval::Evaluation| match &z {
        Some(z) => e.to_zscores(z).to_trec_eval_string(per_query),
        None => e.to_trec_eval_string(per_query),
    };
    let streamed = print(ev.evaluate_file(&qrels, &files[1]).unwrap());
    let run = rerank_eval::Run::from_path(&files[1]).unwrap();
    let in_memory = print(ev.evaluate(&qrels, &run).unwrap());
    assert_eq!(
        streamed, in_memory,
        "streaming and in-memory evaluation differ"
    );
    streamed
}

fn expect(expected: &str, args: &[&str]) {
    let want = std::fs::read_to_string(data(expected)).unwrap();
    let got = trec_eval(args);
    if got != want {
        for (i, (g, w)) in got.lines().zip(want.lines()).enumerate() {
            assert_eq!(g, w, "{expected}: first difference at line {}", i + 1);
        }
        assert_eq!(
            got.lines().count(),
            want.lines().count(),
            "{expected}: line count"
        );
        panic!("{expected}: outputs differ in line endings");
    }
}

#[test]
fn out_test() {
    expect("out.test", &["qrels.test", "results.test"]);
}

#[test]
fn out_test_qrels_with_comments() {
    expect("out.test", &["qrels.test.with-comments", "results.test"]);
}

#[test]
fn out_comment_test() {
    expect(
        "out.comment.test",
        &["qrels.comment.test", "results.comment.test"],
    );
}

#[test]
fn out_test_a() {
    expect(
        "out.test.a",
        &["-m", "all_trec", "qrels.test", "results.test"],
    );
}

#[test]
fn out_test_aq() {
    expect(
        "out.test.aq",
        &["-m", "all_trec", "-q", "qrels.test", "results.test"],
    );
}

#[test]
fn out_test_aqc() {
    expect(
        "out.test.aqc",
        &["-m", "all_trec", "-q", "-c", "qrels.test", "results.trunc"],
    );
}

#[test]
fn out_test_aqcm() {
    expect(
        "out.test.aqcM",
        &[
            "-m",
            "all_trec",
            "-q",
            "-c",
            "-M100",
            "qrels.test",
            "results.trunc",
        ],
    );
}

#[test]
fn out_test_aql() {
    expect(
        "out.test.aql",
        &[
            "-m",
            "all_trec",
            "-mrelstring.20",
            "-q",
            "-l2",
            "qrels.rel_level",
            "results.test",
        ],
    );
}

#[test]
fn out_test_meas_params() {
    expect(
        "out.test.meas_params",
        &[
            "-q",
            "-miprec_at_recall..10,.20,.25,.75,.50",
            "-m",
            "P.5,7,3",
            "-m",
            "recall.20,2000",
            "-m",
            "Rprec_mult.5.0,0.2,0.35",
            "-mutility.2,-1,0,0",
            "-m",
            "11pt_avg..25,.5,.75",
            "-mndcg.1=3,2=9,4=4.5",
            "-mndcg_cut.10,20,23.4",
            "-msuccess.2,5,20",
            "qrels.test",
            "results.test",
        ],
    );
}

#[test]
fn out_test_aqz() {
    expect(
        "out.test.aqZ",
        &[
            "-q",
            "-m",
            "all_trec",
            "-Z",
            "zscores_file",
            "qrels.test",
            "results.test",
        ],
    );
}
