//! Topics and corpus readers: the real Vaswani files, every format, and bad input.

use std::path::Path;

use rerank_core::data::{parse_topics, read_topics, Corpus};
use rerank_core::Error;

fn vaswani(file: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../data/vaswani")
        .join(file)
}

#[test]
fn reads_the_vaswani_collection() {
    let topics = read_topics(vaswani("query-text.trec")).unwrap();
    assert_eq!(topics.len(), 93);
    assert_eq!(topics[0].id, "1");
    assert_eq!(
        topics[0].text,
        "MEASUREMENT OF DIELECTRIC CONSTANT OF LIQUIDS BY THE USE OF MICROWAVE TECHNIQUES"
    );
    assert_eq!(topics[92].id, "93");
    let corpus = Corpus::read(vaswani("doc-text.trec")).unwrap();
    assert_eq!(corpus.len(), 11429);
    let d = corpus.get("1").unwrap();
    assert_eq!(d.title, None);
    assert_eq!(
        d.text,
        "compact memories have flexible capacities a digital data storage system with \
         capacity up to bits and random and or sequential access is described"
    );
    assert!(corpus.get("11429").is_some());
    assert!(corpus.iter().all(|d| !d.text.contains('<')));
}

fn corpus(text: &str) -> Result<Corpus, Error> {
    Corpus::parse(text.as_bytes(), Path::new("c.txt"))
}

#[test]
fn corpus_formats() {
    let beir =
        "{\"_id\": \"a\", \"title\": \"T\", \"text\": \"x  y\"}\n\n{\"_id\": 7, \"text\": \"z\"}\n";
    let c = corpus(beir).unwrap();
    assert_eq!(c.get("a").unwrap().text, "x y");
    assert_eq!(c.get("7").unwrap().title, None);
    let tsv = "id\ttext\nd1\tfirst doc\nd2\tsecond\tdoc\n";
    let c = corpus(tsv).unwrap();
    assert_eq!(c.len(), 2);
    assert_eq!(c.get("d2").unwrap().text, "second doc");
    let trec = "<DOC>\n<DOCNO> FT1 </DOCNO>\n<HEADLINE>Big news</HEADLINE>\n<TEXT>\nSome <b>text</b>\n</TEXT>\n</DOC>\n<DOC><DOCNO>FT2</DOCNO>one line</DOC>\n";
    let c = corpus(trec).unwrap();
    let d = c.get("FT1").unwrap();
    assert_eq!(d.title.as_deref(), Some("Big news"));
    assert_eq!(d.text, "Some text");
    assert_eq!(c.get("FT2").unwrap().text, "one line");
}

fn message(e: Error) -> String {
    e.to_string()
}

#[test]
fn corpus_errors_name_file_and_line() {
    let e = message(
        corpus("{\"_id\": \"a\", \"text\": \"x\"}\n{\"_id\": \"b\", \"text\": \n").unwrap_err(),
    );
    assert!(e.starts_with("c.txt:2: not valid JSON"), "{e}");
    let e = message(corpus("{\"_id\": \"a\"}\n").unwrap_err());
    assert!(e.starts_with("c.txt:1:") && e.contains("text"), "{e}");
    let e = message(
        corpus("{\"_id\": \"a\", \"text\": \"x\"}\n{\"_id\": \"a\", \"text\": \"y\"}\n")
            .unwrap_err(),
    );
    assert!(
        e.contains("c.txt:2:") && e.contains("appears twice (first at line 1)"),
        "{e}"
    );
    let e = message(corpus("d1 no tab here\n").unwrap_err());
    assert!(e.contains("c.txt:1:") && e.contains("no tab"), "{e}");
    let e = message(corpus("<DOC>\n<DOCNO>1</DOCNO>\ntext\n<DOC>\n").unwrap_err());
    assert!(e.contains("c.txt:4:") && e.contains("not closed"), "{e}");
    let e = message(corpus("<DOC>\n<DOCNO>1</DOCNO>\ntext\n").unwrap_err());
    assert!(e.contains("c.txt:1:") && e.contains("never closed"), "{e}");
    let e = message(corpus("<DOC>\ntext\n</DOC>\n").unwrap_err());
    assert!(e.contains("without <DOCNO>"), "{e}");
    let e = message(corpus("").unwrap_err());
    assert!(e.contains("no documents"), "{e}");
    let e = message(Corpus::parse(&b"d1\tok\nd2\t\xff\xfe\n"[..], Path::new("c.txt")).unwrap_err());
    assert!(e.contains("c.txt:2:") && e.contains("UTF-8"), "{e}");
    let e = message(Corpus::read("/nonexistent/corpus.jsonl").unwrap_err());
    assert!(e.contains("/nonexistent/corpus.jsonl"), "{e}");
}

#[test]
fn topic_formats_and_errors() {
    let p = Path::new("t.txt");
    let q = parse_topics(
        "{\"_id\": \"q1\", \"text\": \"a b\"}\n{\"qid\": 2, \"query\": \"c\"}\n",
        p,
    )
    .unwrap();
    assert_eq!((q[1].id.as_str(), q[1].text.as_str()), ("2", "c"));
    let e = message(parse_topics("1\tfine\n2\t   \n", p).unwrap_err());
    assert!(e.starts_with("t.txt:2:") && e.contains("no text"), "{e}");
    let e = message(parse_topics("<top><num>1</num><title></title></top>", p).unwrap_err());
    assert!(e.contains("'1' has no text"), "{e}");
    let e = message(parse_topics("1\ta\n1\tb\n", p).unwrap_err());
    assert!(e.contains("t.txt:2:") && e.contains("appears twice"), "{e}");
    let e = message(parse_topics("<top>\n<num>1</num>\n", p).unwrap_err());
    assert!(e.contains("never closed"), "{e}");
    let e = message(parse_topics("{\"text\": \"x\"}", p).unwrap_err());
    assert!(e.contains("no `_id`"), "{e}");
    let e = message(parse_topics("{oops", p).unwrap_err());
    assert!(e.contains("t.txt:1: not valid JSON"), "{e}");
}
