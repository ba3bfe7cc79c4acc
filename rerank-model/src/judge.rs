//! [`LlmJudge`]: a language model backend plus a prompt template is a judge.

use std::time::Instant;

use regex::Regex;
use rerank_core::{
    CallRecord, JudgeError, JudgeRequest, ListwiseAnswer, ListwiseJudge, SetwiseAnswer,
    SetwiseJudge,
};
use rerank_prompt::parse::{parse_listwise, parse_setwise, reference_regex, SetwiseMode};
use rerank_prompt::{Template, TemplateKind, TokenCounter};

use crate::backend::{Backend, GenerationRequest, LogprobRequest, Prompt, SamplingParams};
use crate::error::{Error, Result};

/// Counts tokens with a backend's tokenizer (falling back to characters / 4 if the
/// backend cannot say).
struct Counter<'a, B: Backend>(&'a B);

impl<B: Backend> TokenCounter for Counter<'_, B> {
    fn count_tokens(&self, text: &str) -> usize {
        self.0.count_tokens(text).unwrap_or(text.len() / 4)
    }
    fn truncate_tokens(&self, text: &str, max: usize) -> String {
        self.0
            .truncate_tokens(text, max)
            .unwrap_or_else(|_| rerank_prompt::truncate::first_chars(text, max * 4).to_owned())
    }
}

/// How a judge gets its answer from the model.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Scoring {
    /// The model writes an answer (with its reasoning, when the prompt asks for it),
    /// which is parsed: REARANK, RankGPT, Rank-R1.
    #[default]
    Generate,
    /// One forward pass, no text: after the prompt and the template's
    /// [`answer prefix`](rerank_prompt::Template::answer_prefix) (up to the answer's
    /// first `[`), each identifier `k` of the window or set is scored by the
    /// log-probability of `k]`, all its tokens (an identifier that is several tokens,
    /// `12` as `1`, `2`, counts them all; the closing bracket tells `1` from `12`).
    /// Listwise, the window is ordered by these scores (FIRST, Reddy et al. 2024, as
    /// rank_llm's `_evaluate_logits` reads the first identifier's logits); setwise,
    /// the best score is the pick (llm-rankers' likelihood scoring). Ties keep the
    /// first stage's order. Needs a backend that renders its own prompts and scores
    /// continuations (candle).
    Likelihood,
}

/// A judge that asks a language model: builds each window's or set's prompt from the
/// template (passages truncated as the template prescribes and neutralised), sends the
/// whole batch to the backend at once, and parses every answer into a permutation or a
/// pick, recording the raw output, the reasoning and the parse outcome.
///
/// ```no_run
/// use rerank_model::{candle::CandleBackend, LlmJudge};
/// let backend = CandleBackend::from_gguf("model.gguf", &candle_core::Device::Cpu)?;
/// let judge = LlmJudge::new(backend, rerank_prompt::Template::builtin("rearank")?)?;
/// # Ok::<(), rerank_model::Error>(())
/// ```
pub struct LlmJudge<B: Backend> {
    /// The model.
    pub backend: B,
    /// The prompt.
    pub template: Template,
    /// Decoding settings (greedy, 2,048 new tokens, and `</answer>` as a stop string
    /// when the template asks for answer tags, by default).
    pub params: SamplingParams,
    /// Neutralise `[N]` and reasoning tags in passages (default true).
    pub neutralise: bool,
    /// How setwise answers are read (default: Rank-R1's reference rule).
    pub setwise_mode: SetwiseMode,
    /// Generated answers (default) or single-pass scores.
    pub scoring: Scoring,
    /// What [`Scoring::Likelihood`] puts after the prompt (default: the template's
    /// [`answer_prefix`](rerank_prompt::Template::answer_prefix)); must end where an
    /// identifier begins.
    pub answer_prefix: String,
    pattern: Option<Regex>,
}

impl<B: Backend> LlmJudge<B> {
    /// A judge with the paper-style defaults.
    pub fn new(backend: B, template: Template) -> Result<Self> {
        let pattern = template
            .pattern
            .as_deref()
            .map(reference_regex)
            .transpose()
            .map_err(|e| Error::Unsupported(format!("template pattern: {e}")))?;
        let stop = if template.answer_tags {
            vec!["</answer>".to_string()]
        } else {
            Vec::new()
        };
        Ok(LlmJudge {
            backend,
            params: SamplingParams {
                stop,
                ..SamplingParams::default()
            },
            neutralise: true,
            setwise_mode: SetwiseMode::Reference,
            scoring: Scoring::Generate,
            answer_prefix: template.answer_prefix(),
            pattern,
            template,
        })
    }

    fn prompt(&self, req: &JudgeRequest<'_>) -> std::result::Result<Prompt, JudgeError> {
        let counter = Counter(&self.backend);
        let docs: Vec<&rerank_core::Document> = req.candidates.iter().map(|c| &c.doc).collect();
        self.template
            .render(&req.query.text, &docs, Some(&counter), self.neutralise)
            .map(Prompt::Chat)
            .map_err(|e| JudgeError::new(e.to_string()))
    }

    /// Generates for every request, in order; a request whose prompt could not be
    /// built, or whose generation failed, gets its error.
    fn ask(
        &mut self,
        requests: &[JudgeRequest<'_>],
    ) -> Vec<std::result::Result<crate::backend::Generation, JudgeError>> {
        let prompts: Vec<std::result::Result<Prompt, JudgeError>> =
            requests.iter().map(|r| self.prompt(r)).collect();
        let batch: Vec<GenerationRequest> = prompts
            .iter()
            .filter_map(|p| p.as_ref().ok())
            .map(|p| GenerationRequest {
                prompt: p.clone(),
                params: self.params.clone(),
            })
            .collect();
        let mut generated = self.backend.generate(&batch).into_iter();
        prompts
            .into_iter()
            .map(|p| match p {
                Err(e) => Err(e),
                Ok(_) => match generated.next() {
                    Some(Ok(g)) => Ok(g),
                    Some(Err(e)) => Err(JudgeError::new(e.to_string())),
                    None => Err(JudgeError::new("the backend returned too few answers")),
                },
            })
            .collect()
    }
}

impl<B: Backend> LlmJudge<B> {
    /// [`Scoring::Likelihood`]: for every request, the log-probability of each of its
    /// identifiers being the answer's first, and the call's record.
    fn identifier_scores(
        &mut self,
        requests: &[JudgeRequest<'_>],
    ) -> Vec<std::result::Result<(Vec<f32>, CallRecord), JudgeError>> {
        let prompts: Vec<std::result::Result<LogprobRequest, JudgeError>> = {
            let Some(chat) = self.backend.chat_template() else {
                return fail_all(
                    requests,
                    "single-pass scoring needs a backend that renders the chat itself and scores continuations (the candle backend)".into(),
                );
            };
            let counter = Counter(&self.backend);
            requests
                .iter()
                .map(|r| {
                    let docs: Vec<&rerank_core::Document> =
                        r.candidates.iter().map(|c| &c.doc).collect();
                    let messages = self
                        .template
                        .render(&r.query.text, &docs, Some(&counter), self.neutralise)
                        .map_err(|e| JudgeError::new(e.to_string()))?;
                    let text = chat
                        .render(&messages, true)
                        .map_err(|e| JudgeError::new(e.to_string()))?
                        + &self.answer_prefix;
                    Ok(LogprobRequest {
                        prompt: Prompt::Text(text),
                        continuations: (1..=r.candidates.len()).map(|k| format!("{k}]")).collect(),
                    })
                })
                .collect()
        };
        let batch: Vec<LogprobRequest> = prompts.iter().filter_map(|p| p.clone().ok()).collect();
        let started = Instant::now();
        let mut scored = self.backend.logprobs(&batch).into_iter();
        let elapsed_ms = started.elapsed().as_secs_f64() * 1000.0;
        prompts
            .into_iter()
            .map(|p| {
                let p = p?;
                let scores = match scored.next() {
                    Some(Ok(s)) => s,
                    Some(Err(e)) => return Err(JudgeError::new(e.to_string())),
                    None => return Err(JudgeError::new("the backend returned too few scores")),
                };
                if scores.len() != p.continuations.len() || scores.iter().any(|x| x.is_nan()) {
                    return Err(JudgeError::new(format!(
                        "the backend scored {} of {} identifiers, or gave NaN",
                        scores.len(),
                        p.continuations.len()
                    )));
                }
                let prompt_tokens = match &p.prompt {
                    Prompt::Text(t) => self.backend.count_tokens(t).ok().map(|n| n as u64),
                    Prompt::Chat(_) => None,
                };
                let record = CallRecord {
                    prompt_tokens,
                    completion_tokens: Some(0),
                    elapsed_ms: Some(elapsed_ms),
                    identifier_logprobs: Some(scores.clone()),
                    ..CallRecord::default()
                };
                Ok((scores, record))
            })
            .collect()
    }
}

impl<B: Backend> LlmJudge<B> {
    /// [`Scoring::Likelihood`]'s answers: each request's candidates ordered by their
    /// identifiers' scores (ties in first-stage order), and the call's record.
    fn single_pass_orders(
        &mut self,
        requests: &[JudgeRequest<'_>],
    ) -> Vec<std::result::Result<(Vec<usize>, CallRecord), JudgeError>> {
        self.identifier_scores(requests)
            .into_iter()
            .zip(requests)
            .map(|(s, r)| {
                let (scores, record) = s?;
                let ranks: Vec<usize> = r.candidates.iter().map(|c| c.rank).collect();
                Ok((order_by_scores(&scores, &ranks), record))
            })
            .collect()
    }
}

/// Indices `0..n` ordered by `scores`, highest first; equal scores keep the first
/// stage's order (`ranks`, the candidates' first-stage ranks), then the window's.
pub fn order_by_scores(scores: &[f32], ranks: &[usize]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| {
        scores[b]
            .total_cmp(&scores[a])
            .then(ranks.get(a).cmp(&ranks.get(b)))
            .then(a.cmp(&b))
    });
    order
}

/// The same error for every request.
fn fail_all<T>(
    requests: &[JudgeRequest<'_>],
    message: String,
) -> Vec<std::result::Result<T, JudgeError>> {
    requests
        .iter()
        .map(|_| Err(JudgeError::new(message.clone())))
        .collect()
}

fn record(
    g: &crate::backend::Generation,
    reasoning: Option<String>,
    parse: rerank_core::ParseReport,
) -> CallRecord {
    CallRecord {
        prompt_tokens: Some(g.prompt_tokens as u64),
        prompt_chars: None,
        completion_tokens: Some(g.completion_tokens as u64),
        elapsed_ms: Some(g.timings.prefill_ms + g.timings.decode_ms),
        raw_output: Some(g.text.clone()),
        reasoning,
        parse: Some(parse),
        identifier_logprobs: None,
    }
}

impl<B: Backend> ListwiseJudge for LlmJudge<B> {
    fn rank_windows(
        &mut self,
        requests: &[JudgeRequest<'_>],
    ) -> Vec<std::result::Result<ListwiseAnswer, JudgeError>> {
        if self.template.kind != TemplateKind::Listwise {
            return fail_all(
                requests,
                format!("template '{}' is setwise", self.template.name),
            );
        }
        if self.scoring == Scoring::Likelihood {
            return self
                .single_pass_orders(requests)
                .into_iter()
                .map(|a| a.map(|(order, record)| ListwiseAnswer { order, record }))
                .collect();
        }
        let answers = self.ask(requests);
        answers
            .into_iter()
            .zip(requests)
            .map(|(g, r)| {
                let g = g?;
                let p = parse_listwise(&g.text, r.candidates.len(), self.template.answer_tags);
                Ok(ListwiseAnswer {
                    order: p.order,
                    record: record(&g, p.reasoning, p.report),
                })
            })
            .collect()
    }
}

impl<B: Backend> SetwiseJudge for LlmJudge<B> {
    fn pick_best(
        &mut self,
        requests: &[JudgeRequest<'_>],
    ) -> Vec<std::result::Result<SetwiseAnswer, JudgeError>> {
        if self.template.kind != TemplateKind::Setwise {
            return fail_all(
                requests,
                format!("template '{}' is listwise", self.template.name),
            );
        }
        if self.scoring == Scoring::Likelihood {
            return self
                .single_pass_orders(requests)
                .into_iter()
                .map(|a| {
                    a.map(|(order, record)| SetwiseAnswer {
                        best: order.first().copied(),
                        record,
                    })
                })
                .collect();
        }
        let Some(pattern) = self
            .pattern
            .clone()
            .filter(|_| self.template.kind == TemplateKind::Setwise)
        else {
            return fail_all(
                requests,
                format!(
                    "template '{}' is not a setwise template with an answer pattern",
                    self.template.name
                ),
            );
        };
        let answers = self.ask(requests);
        answers
            .into_iter()
            .zip(requests)
            .map(|(g, r)| {
                let g = g?;
                let p = parse_setwise(&g.text, r.candidates.len(), &pattern, self.setwise_mode);
                Ok(SetwiseAnswer {
                    best: p.best,
                    record: record(&g, p.reasoning, p.report),
                })
            })
            .collect()
    }
}
