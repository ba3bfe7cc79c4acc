//! A policy measured on examples: greedy answers to a split's prompts, their
//! rewards, how many are in the method's format, and (REARANK) the nDCG@10 of the
//! orders they give. The trainer's validation passes use it, and so does `rerank rl
//! evaluate`, for the before-and-after on the test split.
//!
//! ```no_run
//! use candle_core::Device;
//! use rerank_model::candle::CandleBackend;
//! use rerank_model::ModelSource;
//! use rerank_rl::data::io::read_examples;
//! use rerank_rl::evaluate::{evaluate, EvalOptions, Rewards};
//!
//! let test = read_examples("rl-data/test.jsonl".as_ref())?;
//! let mut model = CandleBackend::load(&ModelSource::resolve("smollm2-135m")?, &Device::Cpu)?;
//! let options = EvalOptions::default();
//! let (summary, _answers) = evaluate(&mut model, &test, &options, &Rewards::default(), |_| {})?;
//! println!("mean reward {:.3}, parsed {:.0}%", summary.reward, 100.0 * summary.parsed);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use rerank_model::{Backend, GenerationRequest, Prompt, SamplingParams};
use serde::{Deserialize, Serialize};

use crate::data::{Example, Truth};
use crate::error::{Error, Result};
use crate::reward::{RankR1Reward, RearankReward, Reward, Scored};

/// The two methods' rewards, chosen by each example's kind of truth.
#[derive(Clone, Debug, Default)]
pub struct Rewards {
    /// REARANK's (listwise examples).
    pub rearank: RearankReward,
    /// Rank-R1's (setwise examples).
    pub rank_r1: RankR1Reward,
}

impl Rewards {
    /// The reward of `text` as an answer to `e`.
    pub fn score(&self, e: &Example, text: &str) -> Scored {
        match (e.listwise_truth(), e.setwise_truth()) {
            (Some(t), _) => self.rearank.score(text, &t),
            (_, Some(t)) => self.rank_r1.score(text, &t),
            _ => unreachable!("an example has one kind of truth"),
        }
    }

    /// True when the answer is in the method's format: REARANK's closed `[a] > [b] >
    /// …` answer, Rank-R1's think-then-answer form (whether or not the pick is right).
    /// `s` is [`Rewards::score`]'s result for the same text.
    pub fn in_format(&self, e: &Example, text: &str, s: &Scored) -> bool {
        match e.truth {
            Truth::Listwise { .. } => s.part("answer_format").unwrap_or(0.0) > 0.0,
            Truth::Setwise { .. } => self.rank_r1.in_format(text),
        }
    }
}

/// How the answers are produced.
#[derive(Clone, Debug, PartialEq)]
pub struct EvalOptions {
    /// Most tokens per answer.
    pub max_new_tokens: usize,
    /// Prompts sent to the backend at once.
    pub batch: usize,
    /// Stop strings (kept in the answer), as inference stops at `</answer>`.
    pub stop: Vec<String>,
}

impl Default for EvalOptions {
    fn default() -> Self {
        EvalOptions {
            max_new_tokens: 256,
            batch: 8,
            stop: Vec::new(),
        }
    }
}

/// One example's greedy answer and what it earned (a line of `rerank rl evaluate`'s
/// answers file).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Answer {
    /// The example.
    pub id: String,
    /// Its query.
    pub qid: String,
    /// The model's text.
    pub completion: String,
    /// Tokens generated.
    pub completion_tokens: usize,
    /// The reward.
    pub reward: f64,
    /// In the method's format ([`Rewards::in_format`]).
    pub parsed: bool,
    /// REARANK: nDCG@10 of the order reranking applies (the answer's when it is in
    /// format, else the order shown, as the driver's fallback keeps it).
    pub ndcg: Option<f64>,
    /// REARANK: nDCG@10 of the order shown.
    pub ndcg_initial: Option<f64>,
}

/// Means over the examples.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EvalSummary {
    /// Examples answered.
    pub examples: usize,
    /// Mean reward.
    pub reward: f64,
    /// Share of answers in the method's format.
    pub parsed: f64,
    /// Mean completion length in tokens.
    pub completion_tokens: f64,
    /// REARANK: mean nDCG@10 of the applied orders.
    pub ndcg: Option<f64>,
    /// REARANK: mean nDCG@10 of the orders shown.
    pub ndcg_initial: Option<f64>,
}

/// Answers every example greedily (in batches of `options.batch`, calling `progress`
/// with the number done after each) and scores the answers with `rewards`.
pub fn evaluate<B>(
    backend: &mut B,
    examples: &[Example],
    options: &EvalOptions,
    rewards: &Rewards,
    mut progress: impl FnMut(usize),
) -> Result<(EvalSummary, Vec<Answer>)>
where
    B: Backend,
    Error: From<B::Error>,
{
    let mut answers = Vec::with_capacity(examples.len());
    for chunk in examples.chunks(options.batch.max(1)) {
        let requests: Vec<GenerationRequest> = chunk
            .iter()
            .map(|e| GenerationRequest {
                prompt: Prompt::Chat(e.prompt.clone()),
                params: SamplingParams {
                    max_new_tokens: options.max_new_tokens,
                    temperature: 0.0,
                    stop: options.stop.clone(),
                    ..Default::default()
                },
            })
            .collect();
        for (e, r) in chunk.iter().zip(backend.generate(&requests)) {
            let gen = r?;
            let s = rewards.score(e, &gen.text);
            let parsed = rewards.in_format(e, &gen.text, &s);
            let (ndcg, ndcg_initial) = match &e.truth {
                Truth::Listwise { labels } => {
                    let shown = rerank_eval::measures::ndcg_cut_of_labels(labels, labels, 10);
                    let applied = if parsed {
                        s.part("ndcg").unwrap_or(shown)
                    } else {
                        shown
                    };
                    (Some(applied), Some(shown))
                }
                Truth::Setwise { .. } => (None, None),
            };
            answers.push(Answer {
                id: e.id.clone(),
                qid: e.qid.clone(),
                completion_tokens: gen.token_ids.len(),
                completion: gen.text,
                reward: s.total,
                parsed,
                ndcg,
                ndcg_initial,
            });
        }
        progress(answers.len());
    }
    Ok((summarize(&answers), answers))
}

/// The means of scored answers.
pub fn summarize(answers: &[Answer]) -> EvalSummary {
    let n = answers.len().max(1) as f64;
    let mean_of = |f: &dyn Fn(&Answer) -> Option<f64>| {
        let v: Vec<f64> = answers.iter().filter_map(f).collect();
        (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
    };
    EvalSummary {
        examples: answers.len(),
        reward: answers.iter().map(|a| a.reward).sum::<f64>() / n,
        parsed: answers.iter().filter(|a| a.parsed).count() as f64 / n,
        completion_tokens: answers
            .iter()
            .map(|a| a.completion_tokens as f64)
            .sum::<f64>()
            / n,
        ndcg: mean_of(&|a| a.ndcg),
        ndcg_initial: mean_of(&|a| a.ndcg_initial),
    }
}
