//! The `Reranker` facade with the real default model: every method gives a
//! permutation with its calls recorded, candidates below `top` keep their order, and
//! misconfigurations fail with messages that say what to do.

use rerank::core::{candidates_from_docs, Candidate, Document, Query};
use rerank::prompt::Template;
use rerank::{Fallback, Method, Reranker, SetwiseMode};

const MODEL: &str = "smollm2-135m";

fn candidates(n: usize) -> Vec<Candidate> {
    candidates_from_docs((0..n).map(|i| {
        Document::new(
            format!("d{i}"),
            format!("Passage {i} about the ionosphere and radio waves, number {i}."),
        )
    }))
}

fn is_permutation(got: &[&str], n: usize) -> bool {
    let mut ids: Vec<String> = got.iter().map(|s| s.to_string()).collect();
    ids.sort();
    let mut want: Vec<String> = (0..n).map(|i| format!("d{i}")).collect();
    want.sort();
    ids == want
}

#[test]
fn every_method_reranks_the_top_and_keeps_the_tail() {
    let query = Query::new("q", "radio waves in the ionosphere");
    for (method, calls) in [
        (Method::Rearank, 1..=1),
        (Method::RankGpt, 1..=1),
        (Method::RankR1, 1..=8),
        (Method::Setwise, 1..=8),
    ] {
        let mut r = Reranker::builder()
            .model(MODEL)
            .method(method)
            .top(6)
            .window(6)
            .step(3)
            .num_child(5)
            .k(2)
            .max_new_tokens(24)
            .build()
            .unwrap();
        let ranking = r.rerank(&query, &candidates(9)).unwrap();
        let ids = ranking.ids();
        assert!(is_permutation(&ids, 9), "{method}: {ids:?}");
        assert_eq!(&ids[6..], ["d6", "d7", "d8"], "{method}: the tail moved");
        assert!(
            calls.contains(&ranking.calls.len()),
            "{method}: {} calls",
            ranking.calls.len()
        );
        for c in &ranking.calls {
            assert!(
                c.positions.iter().all(|&p| p < 6),
                "{method}: a call saw the tail"
            );
            assert!(c.record.raw_output.is_some() && c.record.prompt_tokens.unwrap() > 50);
        }
    }
}

#[test]
fn unreadable_setwise_answers_keep_the_first_stage_order_with_its_fallback() {
    // One new token cannot hold Rank-R1's `<think>…</think><answer>[k]</answer>`, so
    // every comparison is unreadable; with the first-stage fallback nothing moves.
    let query = Query::new("q", "radio waves in the ionosphere");
    let mut r = Reranker::builder()
        .model(MODEL)
        .method(Method::RankR1)
        .top(6)
        .num_child(2)
        .k(3)
        .max_new_tokens(1)
        .fallback(Fallback::FirstStage)
        .build()
        .unwrap();
    assert_eq!(r.judge().setwise_mode, SetwiseMode::Reference);
    let ranking = r.rerank(&query, &candidates(9)).unwrap();
    let first_stage: Vec<String> = (0..9).map(|i| format!("d{i}")).collect();
    assert_eq!(ranking.ids(), first_stage);
    assert!(ranking.calls.len() >= 3);
    for c in &ranking.calls {
        assert!(!c.applied);
        assert!(
            c.error
                .as_deref()
                .unwrap()
                .ends_with("the first stage's best of the set wins"),
            "{:?}",
            c.error
        );
        assert_eq!(c.record.completion_tokens, Some(1));
    }
    let mut lenient = Reranker::builder()
        .model(MODEL)
        .method(Method::RankR1)
        .setwise_mode(SetwiseMode::Lenient)
        .build()
        .unwrap();
    assert_eq!(lenient.judge().setwise_mode, SetwiseMode::Lenient);
}

#[test]
fn batches_report_each_query_as_it_finishes() {
    let mut r = Reranker::builder()
        .model(MODEL)
        .top(5)
        .window(5)
        .step(5)
        .max_new_tokens(16)
        .batch_size(2)
        .build()
        .unwrap();
    let queries: Vec<_> = (0..3)
        .map(|i| (Query::new(format!("q{i}"), "radio"), candidates(7)))
        .collect();
    let mut seen = Vec::new();
    let out = r
        .rerank_batch(queries, |rk| {
            seen.push((rk.query_id.clone(), rk.candidates.len()))
        })
        .unwrap();
    seen.sort();
    assert_eq!(seen, [("q0".into(), 7), ("q1".into(), 7), ("q2".into(), 7)]);
    assert_eq!(
        out.iter().map(|r| r.query_id.as_str()).collect::<Vec<_>>(),
        ["q0", "q1", "q2"]
    );
}

#[test]
fn misconfigurations_say_what_to_do() {
    let e = Reranker::builder().build().err().unwrap().to_string();
    assert!(e.contains(".model("), "{e}");
    let e = Reranker::builder()
        .model("no-such-model")
        .build()
        .err()
        .unwrap()
        .to_string();
    assert!(
        e.contains("no-such-model") && e.contains("smollm2-135m"),
        "{e}"
    );
    let e = Reranker::builder()
        .model(MODEL)
        .method(Method::Rearank)
        .template(Template::builtin("rank-r1").unwrap())
        .build()
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("rank-r1") && e.contains("matching"), "{e}");
    let e = Reranker::builder()
        .model(MODEL)
        .window(0)
        .build()
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("window"), "{e}");
    let e = "listwise".parse::<Method>().unwrap_err().to_string();
    for name in ["rearank", "rankgpt", "first", "rank-r1", "setwise"] {
        assert!(e.contains(name), "{e}");
    }
}
