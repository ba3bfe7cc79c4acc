//! # rerank-rl
//!
//! Reinforcement learning for reasoning rerankers: the REARANK reward (built on the
//! nDCG@10 gain of a ranking) and the Rank-R1 reward (1 when the pick is the labelled
//! positive), GRPO, data augmentation and the training loop.
//!
//! Depends on `rerank-core`, `rerank-prompt`, `rerank-model` and `rerank-eval` (the
//! rewards use the trec_eval-compatible measures).
//!
//! Status: placeholder; filled by the training issue.
#![forbid(unsafe_code)]
