//! Single-pass ranking (`Scoring::Likelihood`): FIRST's listwise order and setwise
//! likelihood, with the real models.
//!
//! - The backend's log-probabilities of continuations (each prompt computed once,
//!   continuations packed behind it) equal a plain forward pass over prompt and
//!   continuation, summed log-softmax by log-softmax.
//! - A window's order is its identifiers' log-probabilities, highest first, ties in
//!   first-stage order; the scores are those of `k]` after the template's answer
//!   prefix, and as probabilities of disjoint answers they sum to at most 1 (windows
//!   of more than 9, where `1]` and `12]` share a first token, included).
//! - The setwise pick is the likeliest label.
//! - A window's scores are the same alone and packed with others, in one pass or
//!   several.
//! - Where Qwen2.5-Coder's greedy answer to a RankGPT window is a full, clean
//!   permutation, its first identifier is the single pass's first.
//!
//! Windows are real Vaswani abstracts chosen by a fixed rule (see `windows`).

use std::collections::BTreeMap;
use std::path::PathBuf;

use rerank_core::data::{read_topics, Corpus};
use rerank_core::{
    Candidate, Document, JudgeRequest, ListwiseJudge, ParseOutcome, Query, SetwiseJudge,
};
use rerank_model::candle::CandleBackend;
use rerank_model::{order_by_scores, registry, Backend, LlmJudge, LogprobRequest, Prompt, Scoring};
use rerank_prompt::Template;

fn model(name: &str) -> CandleBackend {
    let path = registry::find(name)
        .unwrap()
        .installed()
        .unwrap_or_else(|| panic!("run `rerank fetch-model {name}`"));
    CandleBackend::from_gguf(path, &candle_core::Device::Cpu).unwrap()
}

/// SmolLM2 with the built-in template `template`, scoring by likelihood (single pass).
fn smollm2_likelihood_judge(template: &str) -> LlmJudge<CandleBackend> {
    let mut judge =
        LlmJudge::new(model("smollm2-135m"), Template::builtin(template).unwrap()).unwrap();
    judge.scoring = Scoring::Likelihood;
    judge
}

fn vaswani() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../data/vaswani")
}

/// For each of the first `n` Vaswani queries with at least two relevant abstracts:
/// `size` abstracts, its first two relevant ones (in qrels order) at positions 2 and
/// 4, the others the abstracts that follow the first relevant one in the collection.
/// First-stage ranks are the positions (1 first).
fn windows(n: usize, size: usize) -> Vec<(Query, Vec<Candidate>)> {
    let dir = vaswani();
    let topics = read_topics(dir.join("query-text.trec")).unwrap();
    let corpus = Corpus::read(dir.join("doc-text.trec")).unwrap();
    let mut relevant: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for line in std::fs::read_to_string(dir.join("qrels")).unwrap().lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() == 4 && f[3] != "0" {
            relevant.entry(f[0].into()).or_default().push(f[2].into());
        }
    }
    let ids: Vec<&str> = corpus.iter().map(|d| d.id.as_str()).collect();
    let mut out = Vec::new();
    for q in topics {
        let Some(rel) = relevant.get(&q.id).filter(|r| r.len() >= 2) else {
            continue;
        };
        let at = ids.iter().position(|d| *d == rel[0]).unwrap();
        let mut others = ids[at + 1..]
            .iter()
            .filter(|d| !rel.iter().any(|r| r == *d))
            .take(size - 2);
        let mut docs: Vec<Document> = Vec::new();
        for pos in 0..size {
            let id = match pos {
                1 => rel[0].as_str(),
                3 => rel[1].as_str(),
                _ => others.next().unwrap(),
            };
            docs.push(corpus.get(id).unwrap().clone());
        }
        let cands = docs
            .into_iter()
            .enumerate()
            .map(|(i, d)| Candidate::new(d, (size - i) as f64, i + 1))
            .collect();
        out.push((q, cands));
        if out.len() == n {
            break;
        }
    }
    out
}

fn requests(w: &[(Query, Vec<Candidate>)]) -> Vec<JudgeRequest<'_>> {
    w.iter()
        .map(|(q, c)| JudgeRequest {
            query: q,
            candidates: c.iter().collect(),
        })
        .collect()
}

#[test]
fn continuation_logprobs_equal_a_plain_forward_pass() {
    let mut b = model("smollm2-135m");
    let reqs = vec![
        LogprobRequest {
            prompt: Prompt::Text("The magnetic field of the sun is measured by".into()),
            continuations: vec![
                " the Zeeman effect".into(),
                " a".into(),
                String::new(),
                " 12]".into(),
            ],
        },
        LogprobRequest {
            prompt: Prompt::Text("Rank the passages: [1] > [".into()),
            continuations: vec!["2]".into(), "3]".into(), "12]".into()],
        },
    ];
    let got = b.logprobs(&reqs);
    let tokenizer = b.tokenizer().clone();
    let encode = |t: &str| -> Vec<u32> { tokenizer.encode(t, false).unwrap().get_ids().to_vec() };
    for (r, got) in reqs.iter().zip(got) {
        let got = got.unwrap();
        let Prompt::Text(p) = &r.prompt else {
            unreachable!()
        };
        let prompt = encode(p);
        for (c, g) in r.continuations.iter().zip(got) {
            let cont = encode(c);
            let ids = [prompt.clone(), cont.clone()].concat();
            let mut cache = b.decoder().new_cache();
            // `prefill`: every product the exact dense one, as a prompt is computed.
            let logits = b
                .decoder()
                .prefill(&[&ids], std::slice::from_mut(&mut cache), true)
                .unwrap()
                .remove(0);
            let rows: Vec<Vec<f32>> = logits.to_vec2().unwrap();
            let mut want = 0f64;
            for (j, &t) in cont.iter().enumerate() {
                let row = &rows[prompt.len() - 1 + j];
                let m = row.iter().copied().fold(f32::NEG_INFINITY, f32::max) as f64;
                let lse = m + row.iter().map(|&x| (x as f64 - m).exp()).sum::<f64>().ln();
                want += row[t as usize] as f64 - lse;
            }
            assert!(
                (g as f64 - want).abs() < 2e-3 * (1.0 + want.abs()),
                "{p:?} + {c:?}: packed {g}, plain {want}"
            );
        }
    }
}

#[test]
fn scores_do_not_depend_on_how_requests_are_packed() {
    // Three RankGPT windows of 20 (about 1,500 prompt tokens each): together they
    // exceed a pass's budget and go through in several passes; each alone is one.
    // Rows are independent in every product, so the scores are the same bit for bit.
    let w = windows(3, 20);
    let mut judge = smollm2_likelihood_judge("rankgpt");
    let together = judge.rank_windows(&requests(&w));
    let mut prompt_tokens = 0;
    for (i, t) in together.into_iter().enumerate() {
        let alone = judge
            .rank_windows(&requests(&w[i..i + 1]))
            .remove(0)
            .unwrap();
        let t = t.unwrap();
        prompt_tokens += t.record.prompt_tokens.unwrap() as usize;
        assert!(t.record.identifier_logprobs.is_some());
        assert_eq!(
            t.record.identifier_logprobs, alone.record.identifier_logprobs,
            "window {i}"
        );
        assert_eq!(t.order, alone.order, "window {i}");
    }
    assert!(prompt_tokens > rerank_model::candle::LOGPROB_PASS_TOKENS);
}

#[test]
fn first_orders_a_window_by_its_identifiers_and_setwise_picks_the_likeliest() {
    // Windows of 12: identifiers 10, 11 and 12 are two tokens for SmolLM2.
    let w = windows(3, 12);
    let mut judge = smollm2_likelihood_judge("rankgpt");
    assert_eq!(judge.answer_prefix, "[");
    let answers = judge.rank_windows(&requests(&w));
    for ((q, cands), a) in w.iter().zip(answers) {
        let a = a.unwrap();
        let scores = a.record.identifier_logprobs.clone().unwrap();
        assert_eq!(scores.len(), 12);
        let ranks: Vec<usize> = cands.iter().map(|c| c.rank).collect();
        assert_eq!(a.order, order_by_scores(&scores, &ranks), "query {}", q.id);
        for pair in a.order.windows(2) {
            assert!(scores[pair[0]] >= scores[pair[1]]);
        }
        // Disjoint answers: "1]" and "12]" both start with "1".
        let total: f64 = scores.iter().map(|&s| (s as f64).exp()).sum();
        assert!(total <= 1.0 + 1e-4, "query {}: {total}", q.id);
        assert_eq!(a.record.completion_tokens, Some(0));
        assert!(a.record.raw_output.is_none());
    }
    // The scores are those of `k]` after the rendered prompt and the answer prefix
    // (RankGPT cuts passages by words, so no token counter is needed to render it).
    let (q, cands) = &w[0];
    let docs: Vec<&Document> = cands.iter().map(|c| &c.doc).collect();
    let messages = judge.template.render(&q.text, &docs, None, true).unwrap();
    let text = judge
        .backend
        .chat_template()
        .unwrap()
        .render(&messages, true)
        .unwrap()
        + "[";
    let direct = judge.backend.logprobs(&[LogprobRequest {
        prompt: Prompt::Text(text),
        continuations: (1..=12).map(|k| format!("{k}]")).collect(),
    }]);
    let again = judge.rank_windows(&requests(&w[..1])).remove(0).unwrap();
    assert_eq!(
        again.record.identifier_logprobs.unwrap(),
        direct[0].as_ref().unwrap().clone()
    );

    // Setwise, Rank-R1's prompt: the pick is the likeliest label.
    let mut judge = smollm2_likelihood_judge("rank-r1");
    assert_eq!(judge.answer_prefix, "<think>\n\n</think>\n\n<answer>[");
    let sets = windows(2, 4);
    for ((_, cands), a) in sets.iter().zip(judge.pick_best(&requests(&sets))) {
        let a = a.unwrap();
        let scores = a.record.identifier_logprobs.clone().unwrap();
        let best = (0..scores.len())
            .max_by(|&i, &j| scores[i].total_cmp(&scores[j]).then(j.cmp(&i)))
            .unwrap();
        assert_eq!(a.best, Some(best), "{scores:?}");
        assert_eq!(scores.len(), cands.len());
    }
}

#[test]
fn ties_keep_the_first_stage_order() {
    // Candidates shown in the order of first-stage ranks 4, 3, 2, 1.
    let ranks = [4, 3, 2, 1];
    assert_eq!(
        order_by_scores(&[-1.0, -2.0, -1.0, -2.0], &ranks),
        vec![2, 0, 3, 1]
    );
    assert_eq!(
        order_by_scores(&[-0.5, -0.5, -0.5, -0.5], &ranks),
        vec![3, 2, 1, 0]
    );
    // Without ranks (or equal ones), the window's order.
    assert_eq!(order_by_scores(&[-1.0, -1.0, 0.0], &[]), vec![2, 0, 1]);
}

#[test]
fn the_single_pass_first_is_the_greedy_answers_first() {
    // RankGPT's prompt asks for the answer straight away ("[2] > [1] > …"), so its
    // greedy answer begins where the single pass reads: after "[".
    let w = windows(16, 5);
    let template = Template::builtin("rankgpt").unwrap();
    let mut judge = LlmJudge::new(model("qwen2.5-0.5b"), template).unwrap();
    judge.params.max_new_tokens = 40;
    let greedy = judge.rank_windows(&requests(&w));
    judge.scoring = Scoring::Likelihood;
    let single = judge.rank_windows(&requests(&w));
    let mut compared = 0;
    for (((q, _), g), s) in w.iter().zip(greedy).zip(single) {
        let (g, s) = (g.unwrap(), s.unwrap());
        let text = g.record.raw_output.clone().unwrap();
        let clean = g.record.parse.as_ref().unwrap().outcome == ParseOutcome::Ok;
        if !(clean && text.trim_start().starts_with('[')) {
            continue;
        }
        compared += 1;
        assert_eq!(
            s.order[0], g.order[0],
            "query {}: greedy {text:?}, single-pass scores {:?}",
            q.id, s.record.identifier_logprobs
        );
    }
    assert!(
        compared >= 4,
        "only {compared} of {} greedy answers were clean permutations",
        w.len()
    );
}
