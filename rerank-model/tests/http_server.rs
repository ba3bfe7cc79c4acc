//! The HTTP backend against a real OpenAI-compatible server (llama.cpp's, through
//! llama-cpp-python, serving SmolLM2 on 127.0.0.1), directly and through a proxy that
//! injects faults: slow answers past the timeout, 500s, 429 with `Retry-After`,
//! dropped connections, truncated and non-JSON bodies, and hostile answers (absurd
//! `Retry-After` values, lying `Content-Length`, gigabyte bodies, bytes that are not
//! UTF-8, JSON of the wrong shape).

mod support;

use std::time::{Duration, Instant};

use rerank_core::{
    candidates_from_docs, rerank_listwise, Document, DriverOptions, Query, SlidingWindow,
};
use rerank_model::candle::CandleBackend;
use rerank_model::http::{HttpBackend, HttpConfig, RetryPolicy};
use rerank_model::{
    registry, Backend, Error, FinishReason, GenerationRequest, LlmJudge, Prompt, SamplingParams,
};
use rerank_prompt::{Message, Role, Template};
use support::proxy::{self, Fault};
use support::server::LlamaServer;

fn config(base_url: &str) -> HttpConfig {
    let mut c = HttpConfig::new(base_url, "smollm2");
    c.extra_body
        .insert("repeat_penalty".into(), serde_json::json!(1.0));
    c
}

fn fast_retries(max_retries: u32) -> RetryPolicy {
    RetryPolicy {
        max_retries,
        base_delay: Duration::from_millis(20),
        max_delay: Duration::from_millis(100),
        ..RetryPolicy::default()
    }
}

fn chat(text: &str) -> Prompt {
    Prompt::Chat(vec![
        Message::new(Role::System, "Answer inside <answer> </answer> tags."),
        Message::new(Role::User, text),
    ])
}

fn req(prompt: Prompt, n: usize) -> GenerationRequest {
    GenerationRequest {
        prompt,
        params: SamplingParams {
            max_new_tokens: n,
            stop: vec!["</answer>".into()],
            ..Default::default()
        },
    }
}

#[test]
fn talks_to_a_real_server() {
    let Some(server) = LlamaServer::start() else {
        return;
    };
    let mut http = HttpBackend::new(config(&server.base_url)).unwrap();
    let candle = CandleBackend::from_gguf(
        registry::find("smollm2-135m").unwrap().installed().unwrap(),
        &candle_core::Device::Cpu,
    )
    .unwrap();

    // Chat and completions; the server's token counts; the server renders the same
    // chat template and tokenizes the same way as the candle backend does.
    let prompts: Vec<Prompt> = [
        "What is 2+2?",
        "Name a colour.",
        "Say hello.",
        "Count to three.",
    ]
    .iter()
    .map(|q| chat(q))
    .collect();
    let out = http.generate(
        &prompts
            .iter()
            .map(|p| req(p.clone(), 24))
            .collect::<Vec<_>>(),
    );
    for (p, g) in prompts.iter().zip(&out) {
        let g = g.as_ref().unwrap();
        assert!(g.completion_tokens > 0 && g.completion_tokens <= 24);
        let rendered = candle.render(p).unwrap();
        let ids = candle
            .tokenizer()
            .encode(rendered.as_str(), false)
            .unwrap()
            .len();
        assert_eq!(g.prompt_tokens, ids, "prompt tokens differ for {p:?}");
        assert!(matches!(
            g.finish,
            FinishReason::Length | FinishReason::EndOfText | FinishReason::Stop(_)
        ));
    }
    let text = http.generate(&[req(Prompt::Text("The capital of France is".into()), 4)]);
    let g = text[0].as_ref().unwrap();
    assert_eq!(g.completion_tokens, 4);
    assert_eq!(g.finish, FinishReason::Length);

    // Concurrency: the same batch at 1 and at 4 requests in flight gives the same
    // answers in the same order.
    let mut c1 = config(&server.base_url);
    c1.concurrency = 1;
    let mut one = HttpBackend::new(c1).unwrap();
    let seq = one.generate(
        &prompts
            .iter()
            .map(|p| req(p.clone(), 16))
            .collect::<Vec<_>>(),
    );
    let mut c4 = config(&server.base_url);
    c4.concurrency = 4;
    let mut four = HttpBackend::new(c4).unwrap();
    let par = four.generate(
        &prompts
            .iter()
            .map(|p| req(p.clone(), 16))
            .collect::<Vec<_>>(),
    );
    let texts = |v: &[rerank_model::Result<rerank_model::Generation>]| {
        v.iter()
            .map(|g| g.as_ref().unwrap().text.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(texts(&seq), texts(&par));

    // A prompt longer than the server's context fails alone, without retries.
    let long = "word ".repeat(6000);
    let mixed = http.generate(&[req(chat(&long), 4), req(chat("Hi"), 4)]);
    match &mixed[0] {
        Err(Error::Http {
            attempts, message, ..
        }) => {
            assert_eq!(*attempts, 1, "{message}");
            assert!(message.starts_with("HTTP 4"), "{message}");
        }
        other => panic!("expected an HTTP 4xx error, got {other:?}"),
    }
    assert!(mixed[1].is_ok());

    // The judge over HTTP drives a real sliding window to full rankings with usage
    // token counts in the trace.
    let mut judge = LlmJudge::new(
        HttpBackend::new(config(&server.base_url))
            .unwrap()
            .with_tokenizer(candle.tokenizer().clone()),
        Template::builtin("rearank").unwrap(),
    )
    .unwrap();
    judge.params.max_new_tokens = 32;
    let docs =
        (0..8).map(|i| Document::new(format!("d{i}"), format!("A passage about topic {i}.")));
    let queries = vec![(Query::new("q", "topic 3"), candidates_from_docs(docs))];
    let window = SlidingWindow {
        rank_end: 8,
        window: 5,
        step: 3,
        ..SlidingWindow::default()
    };
    let out = rerank_listwise(
        &mut judge,
        &window,
        queries,
        &DriverOptions::default(),
        |_| {},
    )
    .unwrap();
    assert_eq!(out[0].candidates.len(), 8);
    assert_eq!(out[0].calls.len(), 2);
    for c in &out[0].calls {
        assert!(c.record.prompt_tokens.unwrap() > 100);
        assert!(c.record.raw_output.is_some());
    }
}

/// Runs one request through a proxy with `plan`; returns the result, the requests
/// the proxy saw and the time it took.
fn through(
    upstream: &str,
    plan: Vec<Fault>,
    then: Fault,
    retry: RetryPolicy,
    timeout: Duration,
) -> (
    rerank_model::Result<rerank_model::Generation>,
    usize,
    Duration,
) {
    let p = proxy::start(upstream, plan, then);
    let mut c = config(&p.base_url);
    c.retry = retry;
    c.timeout = timeout;
    c.concurrency = 1;
    let mut b = HttpBackend::new(c).unwrap();
    let start = Instant::now();
    let out = b.generate(&[req(chat("What is 2+2?"), 8)]).pop().unwrap();
    (out, p.requests(), start.elapsed())
}

#[test]
fn survives_injected_faults() {
    let Some(server) = LlamaServer::start() else {
        return;
    };
    let up = server.addr.as_str();
    let t = Duration::from_secs(60);

    // Each transient fault is retried and the request ends well.
    for (name, fault) in [
        ("500", Fault::Status(500, None)),
        ("503", Fault::Status(503, None)),
        ("dropped connection", Fault::Drop),
        ("truncated body", Fault::Truncate),
        ("non-JSON body", Fault::NotJson),
    ] {
        let (out, seen, _) = through(
            up,
            vec![fault.clone(), fault],
            Fault::Pass,
            fast_retries(4),
            t,
        );
        assert!(out.is_ok(), "{name}: {out:?}");
        assert_eq!(seen, 3, "{name}: two failures, then the answer");
    }

    // 429 with Retry-After: 1 is waited out.
    let (out, seen, took) = through(
        up,
        vec![Fault::Status(429, Some(1))],
        Fault::Pass,
        fast_retries(4),
        t,
    );
    assert!(out.is_ok(), "{out:?}");
    assert_eq!(seen, 2);
    assert!(
        took >= Duration::from_secs(1),
        "Retry-After ignored: {took:?}"
    );

    // An answer slower than the timeout is abandoned and retried (the timeout leaves
    // room for a loaded machine, where this file's tests run their servers side by
    // side on two cores, to answer the retry; the delay is far longer).
    let (out, seen, took) = through(
        up,
        vec![Fault::Delay(Duration::from_secs(90))],
        Fault::Pass,
        fast_retries(2),
        Duration::from_secs(20),
    );
    assert!(out.is_ok(), "{out:?}");
    assert_eq!(seen, 2);
    assert!(
        took < Duration::from_secs(90),
        "waited for the slow answer: {took:?}"
    );

    // A fault that does not go away: max_retries + 1 attempts, then a clear error.
    let (out, seen, _) = through(up, vec![], Fault::Status(502, None), fast_retries(2), t);
    assert_eq!(seen, 3);
    match out {
        Err(Error::Http {
            attempts: 3,
            message,
            ..
        }) => assert!(message.contains("HTTP 502"), "{message}"),
        other => panic!("{other:?}"),
    }
    // A client error is not retried.
    let (out, seen, _) = through(up, vec![], Fault::Status(400, None), fast_retries(4), t);
    assert_eq!(seen, 1);
    assert!(
        matches!(out, Err(Error::Http { attempts: 1, .. })),
        "{out:?}"
    );
}

#[test]
fn a_window_whose_requests_keep_failing_falls_back_and_the_run_completes() {
    let Some(server) = LlamaServer::start() else {
        return;
    };
    // The first window's request fails three times (all its attempts); the rest pass.
    let p = proxy::start(
        &server.addr,
        vec![Fault::Status(500, None), Fault::Drop, Fault::NotJson],
        Fault::Pass,
    );
    let mut c = config(&p.base_url);
    c.retry = fast_retries(2);
    c.concurrency = 1;
    let r = &run_windows(HttpBackend::new(c).unwrap(), 24);
    assert_eq!(r.calls.len(), 3);
    let first = &r.calls[0];
    assert!(!first.applied);
    let e = first.error.as_deref().unwrap();
    assert!(
        e.contains("after 3 attempts") && e.contains("window kept"),
        "{e}"
    );
    assert!(r.calls[1..]
        .iter()
        .all(|c| c.error.is_none() || c.record.raw_output.is_some()));
    assert_eq!(p.requests(), 3 + 2);
}

/// A query of 12 passages reranked by RankGPT windows of 6 (step 3) through the
/// judge, over `backend`; the ranking must be a permutation.
fn run_windows(backend: HttpBackend, max_new_tokens: usize) -> rerank_core::Ranking {
    let mut judge = LlmJudge::new(backend, Template::builtin("rankgpt").unwrap()).unwrap();
    judge.params.max_new_tokens = max_new_tokens;
    let docs = (0..12).map(|i| Document::new(format!("d{i}"), format!("Passage number {i}.")));
    let window = SlidingWindow {
        rank_end: 12,
        window: 6,
        step: 3,
        ..SlidingWindow::default()
    };
    let mut out = rerank_listwise(
        &mut judge,
        &window,
        vec![(Query::new("q", "number 7"), candidates_from_docs(docs))],
        &DriverOptions::default(),
        |_| {},
    )
    .unwrap();
    let r = out.remove(0);
    let mut ids = r.ids();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 12, "not a permutation");
    r
}

/// A raw response: status line, headers (each ending in CRLF) and body.
fn raw(status: &str, headers: &[&str], body: &[u8]) -> Fault {
    let mut out = format!("HTTP/1.1 {status}\r\n").into_bytes();
    for h in headers {
        out.extend_from_slice(h.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"Connection: close\r\n\r\n");
    out.extend_from_slice(body);
    Fault::Raw(out)
}

#[test]
fn hostile_headers_and_bodies_never_take_the_client_down() {
    let Some(server) = LlamaServer::start() else {
        return;
    };
    let up = server.addr.as_str();
    // Retry-After is honoured up to 1 s here, so a hostile one costs a second at most.
    let policy = || RetryPolicy {
        max_retry_after: Duration::from_secs(1),
        ..fast_retries(3)
    };
    let answer = br#"{"choices": [{"message": {"content": "<answer>[1]</answer>"}, "finish_reason": "stop"}]}"#;
    let bad_utf8_answer: Vec<u8> = [
        &br#"{"choices": [{"message": {"content": "caf"#[..],
        &[0xC3, 0x28, 0xFF][..],
        &br#" <answer>[1]</answer>"}}]}"#[..],
    ]
    .concat();
    let cases: Vec<(&str, Fault)> = vec![
        ("Retry-After: 1e30", raw("503 Busy", &["Retry-After: 1e30", "Content-Length: 0"], b"")),
        ("Retry-After: 2^64", raw("429 Slow down", &["Retry-After: 18446744073709551616", "Content-Length: 0"], b"")),
        ("Retry-After: -5", raw("503 Busy", &["Retry-After: -5", "Content-Length: 0"], b"")),
        ("Retry-After: soon", raw("503 Busy", &["Retry-After: soon", "Content-Length: 0"], b"")),
        ("Retry-After: not UTF-8",
            Fault::Raw(
                b"HTTP/1.1 503 Busy\r\nRetry-After: \xff\xfe\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                    .to_vec(),
            ),
        ),
        ("Content-Length longer than the body", raw("200 OK", &["Content-Type: application/json", "Content-Length: 100000"], &answer[..40])),
        ("Content-Length shorter than the body", raw("200 OK", &["Content-Type: application/json", "Content-Length: 12"], answer)),
        ("Content-Length not a number", raw("200 OK", &["Content-Length: lots"], answer)),
        ("a body of gigabytes announced", Fault::Flood(
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 4000000000\r\nConnection: close\r\n\r\n".into(),
            12 << 20,
        )),
        ("invalid UTF-8 around no JSON", raw("200 OK", &[], &[0xFF, 0xFE, 0x00, 0x80, 0xC0, 0xAF])),
        ("JSON of the wrong shape", raw("200 OK", &[], br#"{"choices": "all of them"}"#)),
        ("tokens counted negative", raw("200 OK", &[], br#"{"choices": [{"text": "x"}], "usage": {"prompt_tokens": -3}}"#)),
        ("no choices", raw("200 OK", &[], br#"{"choices": []}"#)),
        ("a status line that is not HTTP", Fault::Raw(b"SMTP 220 hello\r\n\r\n".to_vec())),
    ];
    for (name, fault) in cases {
        let start = Instant::now();
        let (out, seen, took) = through(
            up,
            vec![fault.clone(), fault],
            Fault::Pass,
            policy(),
            Duration::from_secs(60),
        );
        assert!(out.is_ok(), "{name}: {out:?}");
        assert_eq!(seen, 3, "{name}: two hostile answers, then the real one");
        assert!(took < Duration::from_secs(30), "{name}: {took:?}");
        eprintln!(
            "{name}: recovered in {:.2} s",
            start.elapsed().as_secs_f64()
        );
    }
    // Bytes that are not UTF-8 inside an otherwise good answer: read, replaced.
    let (out, seen, _) = through(
        up,
        vec![raw("200 OK", &[], &bad_utf8_answer)],
        Fault::Status(599, None),
        RetryPolicy::none(),
        Duration::from_secs(60),
    );
    let g = out.unwrap();
    assert_eq!(seen, 1);
    assert!(
        g.text.starts_with("caf\u{FFFD}") && g.text.ends_with("<answer>[1]</answer>"),
        "{}",
        g.text
    );

    // A whole run where one window meets nothing but hostile answers: it falls back,
    // says why in its trace, and the query still ends with a full ranking.
    let hostile = vec![
        raw("503 Busy", &["Retry-After: 1e30", "Content-Length: 0"], b""),
        Fault::Flood(
            "HTTP/1.1 200 OK\r\nContent-Length: 4000000000\r\nConnection: close\r\n\r\n".into(),
            12 << 20,
        ),
        raw("200 OK", &["Content-Length: 100000"], &answer[..40]),
        raw("200 OK", &[], &[0xFF, 0xFE]),
    ];
    let p = proxy::start(&server.addr, hostile, Fault::Pass);
    let mut c = config(&p.base_url);
    c.retry = policy();
    c.concurrency = 1;
    let r = &run_windows(HttpBackend::new(c).unwrap(), 16);
    assert_eq!(r.calls.len(), 3);
    assert!(!r.calls[0].applied);
    let e = r.calls[0].error.as_deref().unwrap();
    assert!(
        e.contains("after 4 attempts") && e.contains("window kept"),
        "{e}"
    );
    assert!(r.calls[1..].iter().all(|c| c.record.raw_output.is_some()));
    assert_eq!(p.requests(), 4 + 2);
}

/// The API's `n` (`Backend::generate_n`, GRPO groups from a server): one request asks
/// for the whole group; a server that answers with fewer choices (llama.cpp's Python
/// server ignores `n`; here a proxy answers two of three) is asked for the rest one
/// by one; every sample of a sampled group is answered.
#[test]
fn a_group_of_samples_is_one_request_with_n() {
    let Some(server) = LlamaServer::start() else {
        return;
    };
    let mut sampled = req(chat("Name a colour."), 8);
    sampled.params.temperature = 1.0;
    sampled.params.seed = 7;
    // A server that honours n: the proxy answers the first request with three choices.
    let three = br#"{"choices": [{"message": {"content": "red"}, "finish_reason": "stop"}, {"message": {"content": "green"}, "finish_reason": "stop"}, {"message": {"content": "blue"}, "finish_reason": "length"}], "usage": {"prompt_tokens": 20, "completion_tokens": 6}}"#;
    let p = proxy::start(&server.addr, vec![raw("200 OK", &[], three)], Fault::Pass);
    let mut b = HttpBackend::new(config(&p.base_url)).unwrap();
    let out: Vec<_> = b
        .generate_n(&sampled, 3)
        .into_iter()
        .map(|r| r.unwrap())
        .collect();
    let texts: Vec<&str> = out.iter().map(|g| g.text.as_str()).collect();
    assert_eq!(texts, ["red", "green", "blue"]);
    assert_eq!(out[2].finish, rerank_model::FinishReason::Length);
    assert_eq!((out[0].prompt_tokens, out[0].completion_tokens), (20, 2));
    assert_eq!(p.requests(), 1, "one request for the group");
    // Two choices of three: the third is asked for on its own, from the real server.
    let two =
        br#"{"choices": [{"message": {"content": "red"}}, {"message": {"content": "green"}}]}"#;
    let p = proxy::start(&server.addr, vec![raw("200 OK", &[], two)], Fault::Pass);
    let mut b = HttpBackend::new(config(&p.base_url)).unwrap();
    let out = b.generate_n(&sampled, 3);
    assert_eq!(out.len(), 3);
    assert!(out.iter().all(|r| r.is_ok()), "{out:?}");
    assert_eq!(p.requests(), 2);
    // The real server, directly: three samples whatever it does with n.
    let mut b = HttpBackend::new(config(&server.base_url)).unwrap();
    let out = b.generate_n(&sampled, 3);
    assert_eq!(out.len(), 3);
    assert!(
        out.iter()
            .all(|r| r.as_ref().is_ok_and(|g| !g.text.is_empty())),
        "{out:?}"
    );
}
