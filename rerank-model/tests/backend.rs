//! The candle backend and the LLM judge with the real default model (SmolLM2-135M):
//! batched generation equals one-at-a-time generation, shared-prefix reuse gives the
//! same text, stop strings and end-of-turn tokens end generation, prompts too long
//! fail alone, log-probabilities rank the obvious continuation first, and the judge
//! drives the real ranking algorithms to valid rankings with full traces.

use rerank_core::{
    candidates_from_docs, rerank_listwise, rerank_setwise, Document, DriverOptions, Query, Setwise,
    SlidingWindow,
};
use rerank_model::candle::CandleBackend;
use rerank_model::{
    registry, Backend, FinishReason, GenerationRequest, LlmJudge, LogprobRequest, Prompt,
    SamplingParams,
};
use rerank_prompt::{Message, Role, Template};

fn backend() -> CandleBackend {
    let path = registry::find("smollm2-135m")
        .unwrap()
        .installed()
        .expect("run `rerank fetch-model smollm2-135m`");
    CandleBackend::from_gguf(path, &candle_core::Device::Cpu).unwrap()
}

fn chat(user: &str) -> Prompt {
    let system = Template::builtin("rearank").unwrap().system;
    Prompt::Chat(vec![
        Message::new(Role::System, system),
        Message::new(Role::User, user),
    ])
}

fn greedy(prompt: Prompt, n: usize) -> GenerationRequest {
    GenerationRequest {
        prompt,
        params: SamplingParams {
            max_new_tokens: n,
            ..Default::default()
        },
    }
}

#[test]
fn batched_generation_equals_one_at_a_time_and_prefix_reuse_keeps_the_text() {
    let mut b = backend();
    let prompts = [
        chat("What is the solar wind?"),
        chat("Rank these passages about bees: [1] Bees make honey. [2] Wasps sting. [3] Honey is sweet and bees store it in combs for the winter."),
        chat("Say hello."),
    ];
    let reqs: Vec<GenerationRequest> = prompts.iter().map(|p| greedy(p.clone(), 24)).collect();
    b.share_prefix = false;
    let single: Vec<String> = reqs
        .iter()
        .map(|r| b.generate(std::slice::from_ref(r)).remove(0).unwrap().text)
        .collect();
    let batched: Vec<String> = b
        .generate(&reqs)
        .into_iter()
        .map(|g| g.unwrap().text)
        .collect();
    assert_eq!(batched, single, "packed batch must equal one at a time");
    assert!(single.iter().all(|t| !t.is_empty()));
    // Shared-prefix reuse: the prefix and each remainder are computed separately, so
    // attention sums run over other lengths and round differently (by ~1e-6); the
    // quantized decoding steps can amplify that at a near-tie. Bit-exact reuse needs an
    // attention kernel with a fixed per-row summation order (planned). Until then:
    // the same text, or a first difference at a choice closer than the noise bound.
    b.share_prefix = false;
    let plain: Vec<Vec<u32>> = b
        .generate(&reqs)
        .into_iter()
        .map(|g| g.unwrap().token_ids)
        .collect();
    b.share_prefix = true;
    let shared: Vec<Vec<u32>> = b
        .generate(&reqs)
        .into_iter()
        .map(|g| g.unwrap().token_ids)
        .collect();
    let mut identical = 0;
    for (i, (p, s)) in plain.iter().zip(&shared).enumerate() {
        match p.iter().zip(s).position(|(a, b)| a != b) {
            None => identical += 1,
            Some(d) => {
                let mut ids = b
                    .tokenizer()
                    .encode(b.render(&reqs[i].prompt).unwrap(), false)
                    .unwrap()
                    .get_ids()
                    .to_vec();
                ids.extend_from_slice(&p[..d]);
                let dec = b.decoder();
                let mut cache = dec.new_cache();
                let logits: Vec<f32> = dec
                    .prefill(&[&ids], std::slice::from_mut(&mut cache), false)
                    .unwrap()
                    .remove(0)
                    .to_vec1()
                    .unwrap();
                let mut sorted = logits.clone();
                sorted.sort_by(|x, y| y.total_cmp(x));
                let margin = sorted[0] - sorted[1];
                eprintln!("prompt {i}: shared-prefix text parts at token {d}, a choice with margin {margin:.3}");
                assert!(
                    margin < 0.5,
                    "prompt {i}: prefix reuse changed a clear choice (margin {margin})"
                );
            }
        }
    }
    eprintln!(
        "shared-prefix reuse: {identical} of {} texts identical",
        plain.len()
    );
}

#[test]
fn stops_errors_and_logprobs() {
    let mut b = backend();
    // A stop string ends generation and stays in the text. The prompt is a pattern
    // that greedy decoding continues, so the stop string is reached for sure (and the
    // budget is far larger than what the rest of the pattern needs).
    let r = GenerationRequest {
        prompt: Prompt::Text("<answer>[2] > [1]</answer>\n".repeat(6) + "<answer>[2] > [1"),
        params: SamplingParams {
            max_new_tokens: 64,
            stop: vec!["</answer>".into()],
            ..Default::default()
        },
    };
    let long = GenerationRequest {
        prompt: Prompt::Text("word ".repeat(9000)),
        params: SamplingParams {
            max_new_tokens: 8,
            ..Default::default()
        },
    };
    let out = b.generate(&[r, long, greedy(chat("Hi"), 3)]);
    let g = out[0].as_ref().unwrap();
    assert_eq!(
        g.finish,
        FinishReason::Stop("</answer>".into()),
        "{}",
        g.text
    );
    assert_eq!(g.text, "]</answer>");
    assert_eq!(g.text.matches("</answer>").count(), 1);
    // The prompt over the context fails alone, with a message that says what to do.
    let e = out[1].as_ref().unwrap_err().to_string();
    assert!(e.contains("tokens") && e.contains("shorten"), "{e}");
    let g = out[2].as_ref().unwrap();
    assert!(g.completion_tokens <= 3 && g.prompt_tokens > 10);
    assert!(matches!(
        g.finish,
        FinishReason::Length | FinishReason::EndOfText
    ));
    // Log-probabilities: the obvious continuation is the likelier one.
    let lp = b.logprobs(&[LogprobRequest {
        prompt: Prompt::Text("The capital of France is".into()),
        continuations: vec![" Paris".into(), " banana".into()],
    }]);
    let lp = lp[0].as_ref().unwrap();
    assert!(lp[0] > lp[1] && lp[0] < 0.0, "{lp:?}");
    assert_eq!(b.count_tokens("Hello, world!").unwrap(), 4);
    assert_eq!(
        b.truncate_tokens("one two three four", 2).unwrap(),
        "one two"
    );
}

fn vaswani_like() -> Vec<(Query, Vec<rerank_core::Candidate>)> {
    let docs = |texts: &[&str]| {
        candidates_from_docs(
            texts
                .iter()
                .enumerate()
                .map(|(i, t)| Document::new(format!("d{i}"), *t)),
        )
    };
    vec![
        (
            Query::new("q1", "measurement of dielectric constant of liquids"),
            docs(&[
                "the use of radio frequency bridges for measuring impedances of aerials",
                "a method for measuring the dielectric constant of liquids at microwave frequencies",
                "electron tube amplifiers with negative feedback",
                "dielectric properties of water and alcohols between 1 and 10 gc/s",
                "the theory of the slotted line",
                "noise in transistors at low frequencies",
            ]),
        ),
        (
            Query::new("q2", "transistor noise"),
            docs(&[
                "noise figure of junction transistors measured at audio frequencies",
                "the ionosphere at night",
                "low frequency noise in germanium transistors",
                "a survey of magnetic amplifiers",
            ]),
        ),
    ]
}

#[test]
fn the_llm_judge_drives_the_ranking_algorithms() {
    // Listwise, REARANK's prompt: two queries, windows batched across them.
    let mut judge = LlmJudge::new(backend(), Template::builtin("rearank").unwrap()).unwrap();
    judge.params.max_new_tokens = 40;
    let sw = SlidingWindow {
        rank_end: 6,
        window: 4,
        step: 2,
        ..Default::default()
    };
    let out = rerank_listwise(
        &mut judge,
        &sw,
        vaswani_like(),
        &DriverOptions::default(),
        |_| {},
    )
    .unwrap();
    for (r, (q, c)) in out.iter().zip(vaswani_like()) {
        let mut ids = r.ids();
        ids.sort();
        let mut want: Vec<&str> = c.iter().map(|c| c.id()).collect();
        want.sort();
        assert_eq!(ids, want, "{}: a permutation", q.id);
        assert!(!r.calls.is_empty());
        for call in &r.calls {
            assert!(
                call.record.raw_output.is_some() && call.record.parse.is_some(),
                "{call:?}"
            );
            assert!(
                call.record.prompt_tokens.unwrap() > 50
                    && call.record.completion_tokens.unwrap() <= 40
            );
        }
    }
    // Setwise, Rank-R1's prompt, heapsort for the top 2.
    let mut judge = LlmJudge::new(backend(), Template::builtin("rank-r1").unwrap()).unwrap();
    judge.params.max_new_tokens = 40;
    let cfg = Setwise {
        num_child: 3,
        k: 2,
        ..Default::default()
    };
    let out = rerank_setwise(
        &mut judge,
        &cfg,
        vaswani_like(),
        &DriverOptions::default(),
        |_| {},
    )
    .unwrap();
    assert_eq!(out.len(), 2);
    assert!(out
        .iter()
        .all(|r| !r.calls.is_empty() && r.calls.iter().all(|c| c.record.raw_output.is_some())));
    // A listwise template cannot judge sets: every request fails, the run still ends.
    let mut wrong = LlmJudge::new(backend(), Template::builtin("rankgpt").unwrap()).unwrap();
    let out = rerank_setwise(
        &mut wrong,
        &cfg,
        vaswani_like(),
        &DriverOptions::default(),
        |_| {},
    )
    .unwrap();
    assert!(out.iter().all(|r| r.calls.iter().all(|c| !c.applied)));
}

/// `min_new_tokens`: an answer that ends after a few tokens greedily ("Say hello.")
/// goes on to the minimum when the end of generation is suppressed, then may stop.
#[test]
fn min_new_tokens_suppresses_the_end_of_generation() {
    let mut b = backend();
    let free = b
        .generate(&[greedy(chat("Say hello."), 64)])
        .remove(0)
        .unwrap();
    assert_eq!(free.finish, FinishReason::EndOfText, "{}", free.text);
    let n = free.token_ids.len() + 5;
    let mut req = greedy(chat("Say hello."), n);
    req.params.min_new_tokens = n;
    let forced = b.generate(&[req]).remove(0).unwrap();
    assert_eq!(forced.token_ids.len(), n);
    assert_eq!(forced.finish, FinishReason::Length);
    assert_eq!(forced.token_ids[..free.token_ids.len()], free.token_ids[..]);
}
