//! `rerank serve` as search stacks call it, with the real default model on the
//! loopback interface: the official Cohere SDK, a Jina-style client and TEI's request
//! shape get the order `rerank rerank` gives on the same query and candidates; a burst
//! beyond the queue gets 503s and the server keeps serving; bad input (malformed JSON,
//! missing fields, wrong types, no documents, too many or too long, a body over the
//! limit, a client that sends its body byte by byte, a wrong API key) gets its
//! documented status and a JSON error; SIGTERM finishes the request in flight.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

struct Served {
    child: Child,
    addr: String,
    log: PathBuf,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The model flags both `rerank serve` and `rerank rerank` get, so that they rerank
/// the same way.
const MODEL_FLAGS: &[&str] = &[
    "--model",
    "smollm2-135m",
    "--method",
    "rankgpt",
    "--top",
    "8",
    "--window",
    "8",
    "--step",
    "4",
    "--max-new-tokens",
    "24",
];

fn serve(extra: &[&str], envs: &[(&str, &str)], dir: &Path) -> Served {
    let addr = format!("127.0.0.1:{}", free_port());
    let log = dir.join(format!("serve-{}.log", addr.replace([':', '.'], "-")));
    let mut c = Command::new(env!("CARGO_BIN_EXE_rerank"));
    c.arg("serve")
        .args(MODEL_FLAGS)
        .args(["--listen", &addr])
        .args(extra)
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap());
    for (k, v) in envs {
        c.env(k, v);
    }
    let child = c.spawn().unwrap();
    let s = Served { child, addr, log };
    let start = Instant::now();
    loop {
        if let Ok((200, _, _)) = request(&s.addr, "GET", "/health", &[], b"") {
            return s;
        }
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "the server did not come up: {}",
            std::fs::read_to_string(&s.log).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// One HTTP/1.1 request on a fresh connection: (status, headers, body).
fn request(
    addr: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> std::io::Result<(u16, String, String)> {
    let mut s = TcpStream::connect(addr)?;
    s.set_read_timeout(Some(Duration::from_secs(300)))?;
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    s.write_all(head.as_bytes())?;
    s.write_all(body)?;
    read_response(s)
}

fn read_response(mut s: TcpStream) -> std::io::Result<(u16, String, String)> {
    let mut out = Vec::new();
    s.read_to_end(&mut out)?;
    let text = String::from_utf8_lossy(&out).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    Ok((status, head.to_ascii_lowercase(), body.to_owned()))
}

fn json_error(body: &str) -> serde_json::Value {
    let v: serde_json::Value =
        serde_json::from_str(body).unwrap_or_else(|_| panic!("not a JSON error: {body}"));
    v["error"].clone()
}

fn python() -> PathBuf {
    std::env::var_os("RERANK_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../.venv/bin/python"))
}

fn vaswani(file: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../data/vaswani")
        .join(file)
        .to_string_lossy()
        .into_owned()
}

#[test]
fn real_clients_get_the_order_rerank_rerank_gives() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // A Vaswani query and its BM25 top 8, as a tiny collection for `rerank rerank`.
    let run = d.join("bm25.run");
    let out = Command::new(env!("CARGO_BIN_EXE_rerank"))
        .args([
            "retrieve",
            "--corpus",
            &vaswani("doc-text.trec"),
            "--topics",
            &vaswani("query-text.trec"),
            "-k",
            "8",
            "-o",
            run.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(out.status.success());
    let corpus = rerank::core::data::Corpus::read(vaswani("doc-text.trec")).unwrap();
    let topics = rerank::core::data::read_topics(vaswani("query-text.trec")).unwrap();
    let query = topics.iter().find(|q| q.id == "30").unwrap();
    let ids: Vec<String> = std::fs::read_to_string(&run)
        .unwrap()
        .lines()
        .filter(|l| l.starts_with("30 "))
        .map(|l| l.split(' ').nth(2).unwrap().to_owned())
        .collect();
    assert_eq!(ids.len(), 8);
    let docs: Vec<String> = ids
        .iter()
        .map(|i| corpus.get(i).unwrap().text.clone())
        .collect();
    std::fs::write(d.join("topics.tsv"), format!("30\t{}\n", query.text)).unwrap();
    let tsv: String = ids
        .iter()
        .zip(&docs)
        .map(|(i, t)| format!("{i}\t{t}\n"))
        .collect();
    std::fs::write(d.join("corpus.tsv"), tsv).unwrap();
    let one_run: String = ids
        .iter()
        .enumerate()
        .map(|(r, i)| format!("30 Q0 {i} {} {} bm25\n", r + 1, 8 - r))
        .collect();
    std::fs::write(d.join("first.run"), one_run).unwrap();
    let mut args = vec![
        "rerank".to_string(),
        "--run".into(),
        d.join("first.run").to_string_lossy().into(),
        "--topics".into(),
        d.join("topics.tsv").to_string_lossy().into(),
        "--corpus".into(),
        d.join("corpus.tsv").to_string_lossy().into(),
        "-o".into(),
        d.join("reranked.run").to_string_lossy().into(),
    ];
    args.extend(MODEL_FLAGS.iter().map(|s| s.to_string()));
    let out = Command::new(env!("CARGO_BIN_EXE_rerank"))
        .args(&args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let want: Vec<usize> = std::fs::read_to_string(d.join("reranked.run"))
        .unwrap()
        .lines()
        .map(|l| {
            let id = l.split(' ').nth(2).unwrap();
            ids.iter().position(|x| x == id).unwrap()
        })
        .collect();

    // The server, with an API key, and the real clients.
    let served = serve(&[], &[("RERANK_API_KEY", "sekrit")], d);
    let case = d.join("case.json");
    std::fs::write(
        &case,
        serde_json::json!({"query": query.text, "documents": docs, "api_key": "sekrit"})
            .to_string(),
    )
    .unwrap();
    let out = Command::new(python())
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("../rerank-server/tests/clients.py"))
        .arg(format!("http://{}", served.addr))
        .arg(&case)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}\nserver log:\n{}",
        String::from_utf8_lossy(&out.stderr),
        std::fs::read_to_string(&served.log).unwrap_or_default()
    );
    let got: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let order = |v: &serde_json::Value| -> Vec<usize> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_u64().unwrap() as usize)
            .collect()
    };
    for client in ["cohere", "jina", "tei", "native"] {
        assert_eq!(order(&got[client]["order"]), want, "{client}: {got}");
    }
    assert_eq!(order(&got["cohere_top2"]), want[..2].to_vec());
    assert_eq!(got["cohere"]["api_version"], "2");
    assert!(
        got["jina"]["texts_match"].as_bool().unwrap()
            && got["tei"]["texts_match"].as_bool().unwrap()
    );
    assert!(got["jina"]["usage"]["total_tokens"].as_u64().unwrap() > 100);
    assert!(
        got["native"]["calls"].as_u64().unwrap() >= 1
            && got["native"]["has_raw_output"].as_bool().unwrap()
    );
    // Scores: in (0, 1], strictly decreasing with the rank, 1 first.
    for client in ["cohere", "jina", "tei"] {
        let s: Vec<f64> = got[client]["scores"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_f64().unwrap())
            .collect();
        assert_eq!(s[0], 1.0, "{client}");
        assert!(
            s.windows(2).all(|w| w[0] > w[1]) && s.iter().all(|&x| x > 0.0),
            "{client}: {s:?}"
        );
    }
    // Without the key, or with a wrong one: 401 with a JSON error.
    let body = br#"{"query": "q", "documents": ["a", "b"]}"#;
    for headers in [vec![], vec![("Authorization", "Bearer nope")]] {
        let (status, head, text) =
            request(&served.addr, "POST", "/v2/rerank", &headers, body).unwrap();
        assert_eq!(status, 401, "{text}");
        assert!(head.contains("www-authenticate: bearer"), "{head}");
        assert_eq!(json_error(&text)["type"], "unauthorized");
    }
    // /health and /metrics stay open.
    let (status, _, metrics) = request(&served.addr, "GET", "/metrics", &[], b"").unwrap();
    assert_eq!(status, 200);
    for m in [
        "rerank_requests_total",
        "rerank_queue_depth",
        "rerank_batch_size",
        "rerank_tokens_total",
        "rerank_parse_outcomes_total",
        "rerank_request_seconds",
    ] {
        assert!(metrics.contains(m), "{m} not in {metrics}");
    }
}

#[test]
fn bad_input_gets_its_status_and_overload_gets_503() {
    let dir = tempfile::tempdir().unwrap();
    let served = serve(
        &[
            "--max-queue",
            "2",
            "--max-documents",
            "5",
            "--max-document-chars",
            "50",
            "--max-body-bytes",
            "2000",
            "--body-timeout",
            "2",
            "--batch",
            "1",
        ],
        &[],
        dir.path(),
    );
    let a = served.addr.clone();
    let cases: &[(&str, &[u8], u16, &str, &str)] = &[
        ("/v2/rerank", b"{\"query\": \"q\", \"documents\": [\"a\"", 400, "invalid_request", "not valid JSON"),
        ("/v2/rerank", b"{\"query\": \"q\"}", 422, "invalid_request", "missing field `documents`"),
        ("/v2/rerank", b"{\"query\": 3, \"documents\": [\"a\"]}", 422, "invalid_request", "invalid type"),
        ("/v1/rerank", b"{\"query\": \"q\", \"documents\": [{\"txt\": 1}]}", 422, "invalid_request", "fields this endpoint takes"),
        ("/rerank", b"{\"query\": \"q\", \"texts\": []}", 422, "invalid_request", "documents must not be empty"),
        ("/v2/rerank", b"{\"query\": \"  \", \"documents\": [\"a\"]}", 422, "invalid_request", "query must not be empty"),
        ("/v2/rerank", b"{\"query\": \"q\", \"documents\": [\"a\",\"b\",\"c\",\"d\",\"e\",\"f\"]}", 422, "limit_exceeded", "limit of 5 per request"),
        (
            "/v2/rerank",
            b"{\"query\": \"q\", \"documents\": [\"a\", \"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"]}",
            422,
            "limit_exceeded",
            "document 1 has 60 characters, more than the limit of 50",
        ),
    ];
    for &(path, body, status, kind, says) in cases {
        let (got, _, text) = request(&a, "POST", path, &[], body).unwrap();
        assert_eq!(
            got,
            status,
            "{path} {}: {text}",
            String::from_utf8_lossy(body)
        );
        let e = json_error(&text);
        assert_eq!(e["type"], kind, "{text}");
        assert!(e["message"].as_str().unwrap().contains(says), "{text}");
        assert_eq!(e["code"], status);
    }
    // A body over the limit.
    let big = format!(
        "{{\"query\": \"q\", \"documents\": [\"{}\"]}}",
        "x".repeat(5000)
    );
    let (got, _, text) = request(&a, "POST", "/v2/rerank", &[], big.as_bytes()).unwrap();
    assert_eq!(got, 413, "{text}");
    assert!(json_error(&text)["message"]
        .as_str()
        .unwrap()
        .contains("limit of 2000 bytes"));
    // A client that sends its body a byte a second: 408 once the body timeout passes.
    let body = b"{\"query\": \"q\", \"documents\": [\"a\", \"b\"]}";
    let mut s = TcpStream::connect(&a).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    write!(
        s,
        "POST /v2/rerank HTTP/1.1\r\nHost: {a}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .unwrap();
    let start = Instant::now();
    for b in body.iter().take(5) {
        if s.write_all(&[*b]).is_err() {
            break;
        }
        std::thread::sleep(Duration::from_millis(900));
    }
    let (got, _, text) = read_response(s).unwrap();
    assert_eq!(got, 408, "{text}");
    assert!(start.elapsed() < Duration::from_secs(15));
    assert!(json_error(&text)["message"]
        .as_str()
        .unwrap()
        .contains("did not arrive within 2 s"));

    // A burst beyond the queue (2): some get 503 with Retry-After, none is lost, and
    // the server keeps serving.
    let body = br#"{"query": "dielectric constant of liquids", "documents": ["radio bridges for aerials", "dielectric constant of liquids", "noise in transistors"]}"#;
    let burst: Vec<_> = (0..8)
        .map(|_| {
            let a = a.clone();
            std::thread::spawn(move || request(&a, "POST", "/v2/rerank", &[], body).unwrap())
        })
        .collect();
    let answers: Vec<(u16, String, String)> =
        burst.into_iter().map(|t| t.join().unwrap()).collect();
    let ok = answers.iter().filter(|r| r.0 == 200).count();
    let refused: Vec<_> = answers.iter().filter(|r| r.0 == 503).collect();
    assert_eq!(ok + refused.len(), 8, "{answers:?}");
    assert!(
        ok >= 1 && !refused.is_empty(),
        "{ok} answered, {} refused",
        refused.len()
    );
    for (_, head, text) in &refused {
        assert!(head.contains("retry-after: "), "{head}");
        assert_eq!(json_error(text)["type"], "overloaded");
    }
    let (got, _, text) = request(&a, "POST", "/v2/rerank", &[], body).unwrap();
    assert_eq!(got, 200, "after the burst: {text}");
    let log = std::fs::read_to_string(&served.log).unwrap();
    assert!(!log.contains("panicked"), "{log}");
}

#[test]
fn sigterm_finishes_the_request_in_flight() {
    let dir = tempfile::tempdir().unwrap();
    let mut served = serve(&[], &[], dir.path());
    let a = served.addr.clone();
    let body = br#"{"query": "bee communication", "documents": ["Bees dance to show where flowers are.", "Honey is sweet.", "The sun is a star."]}"#;
    let inflight =
        std::thread::spawn(move || request(&a, "POST", "/v2/rerank", &[], body).unwrap());
    // Let the request reach the model, then ask the server to stop.
    let start = Instant::now();
    loop {
        let (_, _, h) = request(&served.addr, "GET", "/health", &[], b"").unwrap();
        if h.contains("\"queue_depth\":1") {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "the request never arrived: {h}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let pid = served.child.id().to_string();
    assert!(Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap()
        .success());
    let (status, _, text) = inflight.join().unwrap();
    assert_eq!(status, 200, "{text}");
    let code = served.child.wait().unwrap();
    assert!(code.success(), "{code:?}");
    let log = std::fs::read_to_string(&served.log).unwrap();
    assert!(log.trim_end().ends_with("stopped"), "{log}");
}
