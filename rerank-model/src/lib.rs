//! # rerank-model
//!
//! Model backends for LLM rerankers: a backend trait (batched generation, token
//! counting, chat template, log-probabilities of continuations), a candle backend that
//! runs GGUF and safetensors checkpoints on CPU or GPU, and an OpenAI-compatible HTTP
//! backend. A backend plus a prompt template implements the judge traits of
//! `rerank-core`.
//!
//! What is here so far: the [`Backend`] trait; [`LlmJudge`] (any backend plus a prompt
//! template implements the judges of `rerank-core`); the candle decoder and
//! [`candle::CandleBackend`] for the llama / qwen2 / qwen3 family, from GGUF files or
//! Hugging Face safetensors folders; the [`registry`] of pinned small models and
//! `fetch`; model [`source`] resolution (files, folders, known names, the Hugging Face
//! cache); and [`gguf`] reading (hyper-parameters, the tokenizer built from the file's
//! own vocabulary, the chat template); the OpenAI-compatible [`http::HttpBackend`]
//! (concurrent requests, timeouts, retries); and [`AnyBackend`], either of them
//! chosen at run time. On two CPU cores the candle backend prefills faster than
//! llama.cpp and decodes within a tenth of it (README, `bench/model_bench.py`). Not yet:
//! gemma3.
//!
//! Depends on `rerank-core` and `rerank-prompt`.
// Unsafe code is confined to `candle::qmatvec` (SIMD kernels), `candle::parallel`
// (disjoint writes from the thread pool) and `candle::malloc` (glibc's `mallopt`); each
// use says why it is sound.
#![deny(unsafe_code)]
#![warn(missing_docs)]

mod any;
pub mod backend;
pub mod candle;
mod counter;
mod error;
pub mod gguf;
pub mod http;
mod judge;
pub mod registry;
pub mod source;

pub use any::AnyBackend;
pub use backend::{
    Backend, BackendInfo, FinishReason, Generation, GenerationRequest, LogprobRequest, Prompt,
    SamplingParams,
};
pub use counter::TokenizerCounter;
pub use error::{Error, Result};
pub use gguf::{GgufFile, ModelInfo};
pub use judge::{order_by_scores, LlmJudge, Scoring};
pub use registry::{KnownModel, DEFAULT_MODEL, KNOWN};
pub use source::ModelSource;
