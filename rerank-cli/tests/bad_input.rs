//! Bad input, case by case, as a user would type it: each case names the exit code and
//! the exact first line of the message. A usage error (a flag's value) exits 2 with
//! clap's message naming the flag; an input error exits 1 with `error: …`; nothing
//! exits 101 (a panic), prints a backtrace, or names a cause twice.
//!
//! Cases that need the model to run (repeated documents, a query left without
//! candidates) run SmolLM2 with a one-token budget.

use std::path::{Path, PathBuf};
use std::process::Command;

struct Ran {
    code: i32,
    stderr: String,
    stdout: String,
}

fn run(args: &[&str], envs: &[(&str, &str)]) -> Ran {
    let mut c = Command::new(env!("CARGO_BIN_EXE_rerank"));
    c.args(args);
    for (k, v) in envs {
        c.env(k, v);
    }
    let out = c.output().unwrap();
    Ran {
        code: out.status.code().unwrap_or(-1),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
    }
}

/// The first line that is not a warning or a progress note.
fn error_line(stderr: &str) -> &str {
    stderr
        .lines()
        .find(|l| l.starts_with("error"))
        .unwrap_or_else(|| panic!("no error line in: {stderr}"))
}

fn vaswani(file: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../data/vaswani")
        .join(file)
        .to_string_lossy()
        .into_owned()
}

struct Files {
    dir: tempfile::TempDir,
}

impl Files {
    fn new() -> Files {
        Files {
            dir: tempfile::tempdir().unwrap(),
        }
    }
    fn path(&self, name: &str) -> String {
        self.dir.path().join(name).to_string_lossy().into_owned()
    }
    fn write(&self, name: &str, text: &str) -> String {
        let p = self.path(name);
        std::fs::write(&p, text).unwrap();
        p
    }
}

/// `rerank rerank` over a tiny collection; `extra` flags replace the base ones of the
/// same name (`--run`, `--topics`, `--corpus`) or are appended.
fn rerank_args(f: &Files, extra: &[&str]) -> Vec<String> {
    let mut base: Vec<(String, String)> = [
        ("--run", f.path("first.run")),
        ("--topics", f.path("topics.tsv")),
        ("--corpus", f.path("corpus.jsonl")),
        ("-o", f.path("out.run")),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    let mut rest = Vec::new();
    let mut it = extra.iter();
    while let Some(&flag) = it.next() {
        match base.iter_mut().find(|(k, _)| k == flag) {
            Some((_, v)) => *v = it.next().expect("a value").to_string(),
            None => rest.push(flag.to_string()),
        }
    }
    let mut a = vec!["rerank".to_string(), "--overwrite".to_string()];
    for (k, v) in base {
        a.push(k);
        a.push(v);
    }
    a.extend(rest);
    a
}

fn collection() -> Files {
    let f = Files::new();
    f.write(
        "corpus.jsonl",
        "{\"_id\": \"d1\", \"text\": \"radio waves in the ionosphere\"}\n\
         {\"_id\": \"d2\", \"title\": \"Plasma\", \"text\": \"ion masses from back scatter\"}\n\
         {\"_id\": \"d3\", \"text\": \"binary number representation\"}\n",
    );
    f.write(
        "topics.tsv",
        "1\tion masses in the ionosphere\n2\tbinary numbers\n",
    );
    f.write(
        "first.run",
        "1 Q0 d1 1 9 x\n1 Q0 d2 2 8 x\n1 Q0 d3 3 7 x\n2 Q0 d3 1 9 x\n2 Q0 d1 2 8 x\n",
    );
    f
}

fn check(args: &[String], envs: &[(&str, &str)], code: i32, first_line: &str) -> Ran {
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    let r = run(&argv, envs);
    assert_ne!(r.code, 101, "{argv:?} panicked: {}", r.stderr);
    assert!(!r.stderr.contains("panicked"), "{argv:?}: {}", r.stderr);
    assert!(
        !r.stderr.contains("stack backtrace") && !r.stderr.contains("   0: "),
        "{argv:?} printed a backtrace: {}",
        r.stderr
    );
    assert_eq!(r.code, code, "{argv:?}: {}", r.stderr);
    if code != 0 {
        assert_eq!(error_line(&r.stderr), first_line, "{argv:?}");
    }
    r
}

fn s(v: &[&str]) -> Vec<String> {
    v.iter().map(|x| x.to_string()).collect()
}

#[test]
fn flag_values_are_checked_and_named() {
    let f = collection();
    let cases: &[(&[&str], &str)] = &[
        (
            &["--backend", "http", "--timeout", "inf"],
            "error: invalid value 'inf' for '--timeout <TIMEOUT>': must be a number of seconds greater than 0",
        ),
        (
            &["--backend", "http", "--timeout", "1e30"],
            "error: invalid value '1e30' for '--timeout <TIMEOUT>': must be at most 31536000 seconds (a year)",
        ),
        (
            &["--backend", "http", "--timeout", "nan"],
            "error: invalid value 'nan' for '--timeout <TIMEOUT>': must be a number of seconds greater than 0",
        ),
        (
            &["--backend", "http", "--timeout", "0"],
            "error: invalid value '0' for '--timeout <TIMEOUT>': must be a number of seconds greater than 0",
        ),
        (
            &["--passes", "0"],
            "error: invalid value '0' for '--passes <PASSES>': must be at least 1",
        ),
        (
            &["--top", "0"],
            "error: invalid value '0' for '--top <TOP>': must be at least 1",
        ),
        (
            &["--window", "0"],
            "error: invalid value '0' for '--window <WINDOW>': must be at least 1",
        ),
        (
            &["--step", "two"],
            "error: invalid value 'two' for '--step <STEP>': must be a whole number of at least 1",
        ),
        (
            &["--method", "rank-r1", "-k", "0"],
            "error: invalid value '0' for '--k <K>': must be at least 1",
        ),
        (
            &["--method", "rank-r1", "--num-child", "0"],
            "error: invalid value '0' for '--num-child <NUM_CHILD>': must be at least 1",
        ),
        (
            &["--batch", "0"],
            "error: invalid value '0' for '--batch <BATCH>': must be at least 1",
        ),
        (
            &["--backend", "http", "--concurrency", "0"],
            "error: invalid value '0' for '--concurrency <CONCURRENCY>': must be at least 1",
        ),
        (
            &["--max-new-tokens", "0"],
            "error: invalid value '0' for '--max-new-tokens <MAX_NEW_TOKENS>': must be at least 1",
        ),
        (
            &["--limit", "0"],
            "error: invalid value '0' for '--limit <LIMIT>': must be at least 1",
        ),
        (
            &["--temperature=-0.5"],
            "error: invalid value '-0.5' for '--temperature <TEMPERATURE>': must be a number of at least 0 (0: greedy)",
        ),
        (
            &["--top-p", "0"],
            "error: invalid value '0' for '--top-p <TOP_P>': must be a number greater than 0 and at most 1",
        ),
    ];
    for (extra, line) in cases {
        check(&rerank_args(&f, extra), &[], 2, line);
    }
    check(
        &s(&[
            "retrieve",
            "--corpus",
            &f.path("corpus.jsonl"),
            "--topics",
            &f.path("topics.tsv"),
            "-k",
            "0",
        ]),
        &[],
        2,
        "error: invalid value '0' for '--k <K>': must be at least 1",
    );
    check(
        &s(&[
            "eval",
            "compare",
            "--test",
            "t-test",
            "--samples",
            "0",
            "q",
            "a",
            "b",
        ]),
        &[],
        2,
        "error: invalid value '0' for '--samples <SAMPLES>': must be at least 1",
    );
}

#[test]
fn input_errors_name_the_file_and_say_what_to_do() {
    let f = collection();
    // A missing file: the system's reason, once.
    let missing = f.path("nosuch.run");
    check(
        &rerank_args(&f, &["--run", &missing]),
        &[],
        1,
        &format!("error: cannot read {missing}: No such file or directory (os error 2)"),
    );
    let qrels = f.path("nosuch.qrels");
    check(
        &s(&["eval", &qrels, &f.path("first.run")]),
        &[],
        1,
        &format!("error: cannot read {qrels}: No such file or directory (os error 2)"),
    );
    let topics = f.path("nosuch.tsv");
    check(
        &s(&[
            "retrieve",
            "--corpus",
            &f.path("corpus.jsonl"),
            "--topics",
            &topics,
        ]),
        &[],
        1,
        &format!("error: {topics}: No such file or directory (os error 2)"),
    );
    // A folder given as a file.
    let folder = f.path("");
    let folder = folder.trim_end_matches('/');
    check(
        &rerank_args(&f, &["--corpus", folder]),
        &[],
        1,
        &format!("error: {folder}: is a folder; give the corpus file"),
    );
    check(
        &s(&[
            "retrieve",
            "--corpus",
            &f.path("corpus.jsonl"),
            "--topics",
            folder,
        ]),
        &[],
        1,
        &format!("error: {folder}: is a folder; give the topics file"),
    );
    // Topics in no known format.
    let odd = f.write("odd.txt", "what is a plasma?\nion masses\n");
    check(
        &rerank_args(&f, &["--topics", &odd]),
        &[],
        1,
        &format!(
            "error: {odd}:1: cannot tell the format of this topics file: the first line is not a \
             TREC record (`<`), a JSON object (`{{`) or `query id<TAB>query text` (no tab found)"
        ),
    );
    let odd_corpus = f.write("odd-corpus.txt", "just some text\n");
    check(
        &rerank_args(&f, &["--corpus", &odd_corpus]),
        &[],
        1,
        &format!(
            "error: {odd_corpus}:1: cannot tell the format of this corpus file: the first line is \
             not a TREC record (`<`), a JSON object (`{{`) or `doc id<TAB>text` (no tab found)"
        ),
    );
    // A tokenizer that does not exist.
    check(
        &rerank_args(&f, &["--backend", "http", "--tokenizer", "nosuchtok"]),
        &[],
        1,
        "error: --tokenizer 'nosuchtok' is not a known model name, a GGUF file or a safetensors \
         folder: unknown model 'nosuchtok': not a file, not a folder, not a known name \
         (smollm2-135m, qwen2.5-0.5b, qwen2.5-1.5b, gemma3-270m), not in the Hugging Face cache",
    );
    // A file that is not GGUF, with backtraces asked for: still one clean line.
    let fake = f.write("model.gguf", "this is not a model\n");
    let r = check(
        &rerank_args(&f, &["--model", &fake]),
        &[("RUST_BACKTRACE", "1")],
        1,
        &format!(
            "error: {fake}: not a usable GGUF file: it does not start with the bytes 'GGUF' (20 bytes, first \"this\"); give a GGUF model file, or a safetensors folder"
        ),
    );
    assert_eq!(
        r.stderr.lines().filter(|l| l.starts_with("error")).count(),
        1,
        "{}",
        r.stderr
    );
    // A prompt file for the other kind of method, and one without the passages.
    let setwise = f.write(
        "setwise.toml",
        "kind = \"setwise\"\nprompt_system = \"S\"\nprompt_user = \"{query}\\n{docs}\"\n",
    );
    check(
        &rerank_args(&f, &["--prompt", &setwise]),
        &[],
        1,
        &format!(
            "error: prompt template {setwise}: kind = \"setwise\", but the method needs a listwise template"
        ),
    );
    let nodocs = f.write(
        "nodocs.toml",
        "prompt_system = \"S\"\nprompt_user = \"{query}\"\n",
    );
    check(
        &rerank_args(&f, &["--prompt", &nodocs]),
        &[],
        1,
        &format!(
            "error: prompt template {nodocs}: the passages have nowhere to go: prompt_user needs \
             {{docs}} (or turns.passage_user {{passage}})"
        ),
    );
    // Server settings.
    check(
        &rerank_args(&f, &["--backend", "http", "--extra-body", "{oops"]),
        &[],
        1,
        "error: --extra-body is not valid JSON: {oops: key must be a string at line 1 column 2",
    );
    check(
        &rerank_args(&f, &["--backend", "http", "--base-url", "localhost:8000/v1"]),
        &[],
        1,
        "error: base URL 'localhost:8000/v1' must start with http:// or https:// (for example http://127.0.0.1:8000/v1)",
    );
    check(
        &rerank_args(&f, &["--device", "tpu"]),
        &[],
        1,
        "error: unknown device 'tpu'; use cpu, cuda, cuda:N or metal",
    );
    // A run that shares no query with the topics.
    let other = f.write("other.tsv", "77\tsomething else\n");
    check(
        &rerank_args(&f, &["--topics", &other]),
        &[],
        1,
        &format!(
            "error: nothing to rerank: no topic of {other} has a ranking in {} with documents \
             in {}; check that they belong together",
            f.path("first.run"),
            f.path("corpus.jsonl")
        ),
    );
}

#[test]
fn an_index_is_never_reused_for_another_corpus() {
    let f = collection();
    let other = f.write(
        "other.jsonl",
        "{\"_id\": \"x1\", \"text\": \"ion masses\"}\n",
    );
    let index = f.path("index");
    let retrieve = |corpus: Option<&str>, extra: &[&str]| -> Vec<String> {
        let mut a = s(&[
            "retrieve",
            "--topics",
            &f.path("topics.tsv"),
            "--index",
            &index,
            "-o",
        ]);
        a.push(f.path("bm25.run"));
        if let Some(c) = corpus {
            a.push("--corpus".into());
            a.push(c.into());
        }
        a.extend(s(extra));
        a
    };
    let ok = |args: &[String]| {
        let argv: Vec<&str> = args.iter().map(String::as_str).collect();
        let r = run(&argv, &[]);
        assert_eq!(r.code, 0, "{argv:?}: {}", r.stderr);
        std::fs::read_to_string(f.path("bm25.run")).unwrap()
    };
    let corpus = f.path("corpus.jsonl");
    let first = ok(&retrieve(Some(&corpus), &[]));
    assert!(first.contains(" d2 "), "{first}");
    // Reused with the same corpus, or with none: the same results.
    assert_eq!(ok(&retrieve(Some(&corpus), &[])), first);
    assert_eq!(ok(&retrieve(None, &[])), first);
    // Another corpus: refused, naming both.
    check(
        &retrieve(Some(&other), &[]),
        &[],
        1,
        &format!(
            "error: --index {index} was built from {corpus} (3 documents), whose contents differ \
             from --corpus {other}; give another --index folder, or add --reindex to rebuild it"
        ),
    );
    // --reindex rebuilds it from the new corpus.
    let rebuilt = ok(&retrieve(Some(&other), &["--reindex"]));
    assert!(
        rebuilt.contains(" x1 ") && !rebuilt.contains(" d2 "),
        "{rebuilt}"
    );
    // A file where the index folder should be; a folder of other files.
    let file = f.write("index-file", "not a folder");
    check(
        &s(&[
            "retrieve",
            "--corpus",
            &corpus,
            "--topics",
            &f.path("topics.tsv"),
            "--index",
            &file,
        ]),
        &[],
        1,
        &format!("error: --index {file} is a file; give a folder (it is created if missing)"),
    );
    let busy = f.path("busy");
    std::fs::create_dir_all(&busy).unwrap();
    std::fs::write(PathBuf::from(&busy).join("notes.txt"), "mine").unwrap();
    check(
        &s(&["retrieve", "--corpus", &corpus, "--topics", &f.path("topics.tsv"), "--index", &busy]),
        &[],
        1,
        &format!("error: --index {busy} is a folder that holds files but no index; give an empty or new folder"),
    );
    assert!(PathBuf::from(&busy).join("notes.txt").is_file());
}

#[test]
fn repeated_documents_and_empty_queries_are_reported_and_the_output_evaluates() {
    let f = collection();
    // d1 twice for query 1; query 2 names only documents missing from the corpus.
    f.write(
        "first.run",
        "1 Q0 d1 1 9 x\n1 Q0 d2 2 8 x\n1 Q0 d1 3 7 x\n1 Q0 d3 4 6 x\n2 Q0 gone 1 9 x\n",
    );
    let r = check(
        &rerank_args(
            &f,
            &[
                "--model",
                "smollm2-135m",
                "--max-new-tokens",
                "1",
                "--window",
                "3",
                "--step",
                "3",
            ],
        ),
        &[],
        0,
        "",
    )
    .stderr;
    let warning = |start: &str| {
        r.lines()
            .find(|l| l.starts_with(start))
            .unwrap_or_else(|| panic!("no '{start}' in {r}"))
            .to_owned()
    };
    assert_eq!(
        warning("warning: 1 documents are listed"),
        format!(
            "warning: 1 documents are listed more than once for the same query in {}; each keeps \
             its best rank and the repeats were dropped (1/d1)",
            f.path("first.run")
        )
    );
    assert_eq!(
        warning("warning: 1 topics have a ranking"),
        format!(
            "warning: 1 topics have a ranking in {} but none of its documents is in {}, so they \
             are left out of the output: 2",
            f.path("first.run"),
            f.path("corpus.jsonl")
        )
    );
    let out = std::fs::read_to_string(f.path("out.run")).unwrap();
    let docs: Vec<&str> = out.lines().map(|l| l.split(' ').nth(2).unwrap()).collect();
    assert_eq!(docs.len(), 3, "{out}");
    let qrels = f.write("qrels", "1 0 d2 1\n");
    let e = run(
        &["eval", "-m", "ndcg_cut.10", &qrels, &f.path("out.run")],
        &[],
    );
    assert_eq!(e.code, 0, "{}", e.stderr);
    assert!(e.stdout.starts_with("ndcg_cut_10"), "{}", e.stdout);
}

#[test]
fn the_demo_and_eval_refuse_bad_values() {
    check(
        &s(&["demo", "--queries", "999"]),
        &[],
        1,
        "error: no Vaswani query '999' (ids are 1 to 93)",
    );
    let v = vaswani("qrels");
    check(
        &s(&["eval", "compare", "--alpha", "2", &v, &v, &v]),
        &[],
        1,
        "error: --alpha must be between 0 and 1, got 2",
    );
}
