//! # rerank-prompt
//!
//! What a reranking model is asked, and how its answer is read: the published prompt
//! templates (REARANK, RankGPT, Rank-R1, setwise, RankZephyr), chat rendering with a
//! model's own Jinja chat template, passage truncation, and robust parsing of
//! `<think>…</think><answer>…</answer>` outputs into valid rankings.
//!
//! Depends on `rerank-core` only.
//!
//! Status: placeholder; filled by the core/prompt issue.
#![forbid(unsafe_code)]
