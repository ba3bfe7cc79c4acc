//! # rerank-model
//!
//! Model backends for LLM rerankers: a backend trait (batched generation, token
//! counting, chat template, log-probabilities of continuations), a candle backend that
//! runs GGUF and safetensors checkpoints on CPU or GPU, and an OpenAI-compatible HTTP
//! backend. A backend plus a prompt template implements the judge traits of
//! `rerank-core`.
//!
//! Depends on `rerank-core` and `rerank-prompt`.
//!
//! Status: placeholder; filled by the backend issues.
#![forbid(unsafe_code)]
