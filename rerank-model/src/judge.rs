//! [`LlmJudge`]: a language model backend plus a prompt template is a judge.

use regex::Regex;
use rerank_core::{
    CallRecord, JudgeError, JudgeRequest, ListwiseAnswer, ListwiseJudge, SetwiseAnswer,
    SetwiseJudge,
};
use rerank_prompt::parse::{parse_listwise, parse_setwise, reference_regex, SetwiseMode};
use rerank_prompt::{Template, TemplateKind, TokenCounter};

use crate::backend::{Backend, GenerationRequest, Prompt, SamplingParams};
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
            template,
            params: SamplingParams {
                stop,
                ..SamplingParams::default()
            },
            neutralise: true,
            setwise_mode: SetwiseMode::Reference,
            pattern,
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
