//! # rerank-rl
//!
//! The training half of reasoning rerankers, as REARANK and Rank-R1 define it:
//!
//! - [`reward`]: REARANK's reward (the normalised nDCG@10 gain of the answer's order,
//!   plus two format terms; three rank variants) and Rank-R1's (1 when the pick is the
//!   labelled positive; the published rule and a lenient one), as functions and as the
//!   [`reward::Reward`] trait a trainer calls per completion;
//! - [`data`]: training sets from topics, a corpus, qrels and a first-stage run —
//!   REARANK windows and Rank-R1 sets, seeded, filtered, split by query, with a report
//!   of what each filter kept — their prompts rendered by the templates inference
//!   uses;
//! - [`grpo`]: GRPO's arithmetic on plain arrays (advantages, ratios, clipping, the k3
//!   KL, every loss aggregation, and the loss's gradient per token), checked against
//!   TRL's and verl's code;
//! - [`export`]: parquet files for verl, JSON lines for TRL, and a Python reward module
//!   for both that computes exactly the Rust rewards.
//!
//! ```
//! use rerank_rl::reward::{ListwiseTruth, RearankReward, Reward};
//! let reward = RearankReward::default();
//! let truth = ListwiseTruth { labels: vec![0, 1, 0] };
//! let s = reward.score("<think>2 is about it</think><answer>[2] > [1] > [3]</answer>", &truth);
//! assert!((s.total - 1.0).abs() < 1e-12); // the best order, in the asked-for form
//! ```
//!
//! Depends on `rerank-core`, `rerank-prompt`, `rerank-model` and `rerank-eval`.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod data;
mod error;
pub mod evaluate;
pub mod export;
pub mod grpo;
pub mod reward;
pub mod train;

pub use error::{Error, Result};
