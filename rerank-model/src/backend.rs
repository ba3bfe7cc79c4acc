//! The backend trait: what a reranker needs from a language model.
//!
//! A backend generates text for a *batch* of prompts (so that it can run them
//! together), counts and cuts tokens (for passage truncation), exposes its chat
//! template when it renders prompts itself, and scores given continuations
//! (log-probabilities, for likelihood-based setwise ranking and for training).
//!
//! To add a backend, implement [`Backend`]: `generate` must answer every request, in
//! order, each with its own `Result`, so that one failing prompt does not sink the
//! batch. [`crate::LlmJudge`] turns any backend plus a prompt template into the judges
//! of `rerank-core`.

use rerank_prompt::{ChatTemplate, Message};
use serde::{Deserialize, Serialize};

/// What to generate from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Prompt {
    /// Text already rendered with the chat template (or a base model's raw text).
    Text(String),
    /// Chat messages; the backend applies its chat template (or sends them to a
    /// server that does) with the generation prompt appended.
    Chat(Vec<Message>),
}

/// Decoding settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SamplingParams {
    /// Most tokens to generate.
    pub max_new_tokens: usize,
    /// Generation stops when the text contains one of these (it is kept in the text,
    /// as `</answer>` should be).
    pub stop: Vec<String>,
    /// 0 for greedy decoding.
    pub temperature: f32,
    /// Nucleus sampling: keep the smallest set of tokens with this much probability.
    pub top_p: f32,
    /// Keep only the `top_k` most likely tokens (0: all).
    pub top_k: usize,
    /// Seed of the sampler (each request gets its own stream).
    pub seed: u64,
    /// End-of-generation tokens are not sampled before this many tokens
    /// (transformers' `min_new_tokens`, vLLM's `min_tokens`; 0: no minimum). For
    /// benchmarks that need completions of a set length.
    #[serde(default)]
    pub min_new_tokens: usize,
}

impl Default for SamplingParams {
    fn default() -> Self {
        SamplingParams {
            max_new_tokens: 2048,
            stop: Vec::new(),
            temperature: 0.0,
            top_p: 1.0,
            top_k: 0,
            seed: 0,
            min_new_tokens: 0,
        }
    }
}

/// One generation request.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GenerationRequest {
    /// The prompt.
    pub prompt: Prompt,
    /// How to decode.
    pub params: SamplingParams,
}

/// Why generation ended.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FinishReason {
    /// The model produced an end-of-turn token.
    EndOfText,
    /// A stop string appeared.
    Stop(String),
    /// `max_new_tokens` was reached.
    Length,
}

/// Time spent, in milliseconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Timings {
    /// Processing the prompt (for a batch: the whole batch's prefill).
    pub prefill_ms: f64,
    /// Generating (for a batch: the whole batch's decoding).
    pub decode_ms: f64,
}

/// A generated continuation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Generation {
    /// The generated text (without the prompt).
    pub text: String,
    /// Its token ids.
    pub token_ids: Vec<u32>,
    /// Why it ended.
    pub finish: FinishReason,
    /// Prompt size in tokens.
    pub prompt_tokens: usize,
    /// Generated tokens.
    pub completion_tokens: usize,
    /// Time spent.
    pub timings: Timings,
}

/// Log-probability scoring: how likely each continuation is after the prompt.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LogprobRequest {
    /// The prompt.
    pub prompt: Prompt,
    /// Continuations to score.
    pub continuations: Vec<String>,
}

/// Facts about a backend's model.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BackendInfo {
    /// A name for traces and reports.
    pub name: String,
    /// Context size in tokens.
    pub context_length: usize,
}

/// A language model backend. See the module documentation.
pub trait Backend {
    /// What can go wrong (per request).
    type Error: std::error::Error + Send + Sync + 'static;

    /// Facts about the model.
    fn info(&self) -> BackendInfo;

    /// Generates a continuation for every request; `result[i]` answers
    /// `requests[i]`.
    fn generate(&mut self, requests: &[GenerationRequest]) -> Vec<Result<Generation, Self::Error>>;

    /// `n` samples of one request (a GRPO group): `result[j]` is sample `j`. The
    /// default asks [`Backend::generate`] for `n` copies, sample `j` with seed
    /// `seed + j` (the candle backend then computes their shared prompt once); a
    /// backend that samples several completions of one prompt in one call (an
    /// OpenAI-compatible server's `n`) overrides it.
    fn generate_n(
        &mut self,
        request: &GenerationRequest,
        n: usize,
    ) -> Vec<Result<Generation, Self::Error>> {
        let copies: Vec<GenerationRequest> = (0..n)
            .map(|j| {
                let mut r = request.clone();
                r.params.seed = request.params.seed.wrapping_add(j as u64);
                r
            })
            .collect();
        self.generate(&copies)
    }

    /// Number of tokens of `text` (no special tokens added).
    fn count_tokens(&self, text: &str) -> Result<usize, Self::Error>;

    /// The longest prefix of `text` with at most `max` tokens.
    fn truncate_tokens(&self, text: &str, max: usize) -> Result<String, Self::Error>;

    /// The chat template the backend renders [`Prompt::Chat`] with, if it renders
    /// prompts itself (a server that applies its own returns `None`).
    fn chat_template(&self) -> Option<&ChatTemplate>;

    /// Sum of the log-probabilities of each continuation's tokens after the prompt;
    /// `result[i][j]` scores `requests[i].continuations[j]`.
    fn logprobs(&mut self, requests: &[LogprobRequest]) -> Vec<Result<Vec<f32>, Self::Error>>;
}
