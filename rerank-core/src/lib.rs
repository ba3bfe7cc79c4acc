//! # rerank-core
//!
//! The model-independent heart of LLM reasoning rerankers:
//!
//! - [`Query`], [`Document`], [`Candidate`], [`Ranking`] and the per-call
//!   [`CallTrace`] (JSON lines);
//! - the judge traits [`ListwiseJudge`] (order a window) and [`SetwiseJudge`] (pick
//!   the best of a set), batched, failing per request;
//! - the ranking algorithms: [`SlidingWindow`] (REARANK, RankGPT) and [`Setwise`]
//!   heapsort and bubblesort (Rank-R1), driven for many queries at once by
//!   [`rerank_listwise`] and [`rerank_setwise`], which batch ready requests across
//!   queries;
//! - [`data`]: topics and corpora from TREC, TSV and JSON lines files;
//! - [`oracle`] judges that answer from relevance labels, for upper bounds and tests.
//!
//! When a judge call fails or its answer is unusable, the window (or set) keeps its
//! order, the trace says why, and the run goes on: every result is a permutation of
//! the input.
//!
//! This crate depends on no other crate of the workspace and on no model.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod bubblesort;
pub mod data;
mod driver;
mod error;
mod heapsort;
pub mod judge;
mod machine;
pub mod oracle;
mod setwise;
mod sliding;
pub mod trace;
mod types;

pub use driver::{
    rerank_listwise, rerank_listwise_feed, rerank_setwise, rerank_setwise_feed, DriverOptions,
    QueryFeed,
};
pub use error::{Error, Result};
pub use judge::{
    JudgeError, JudgeRequest, ListwiseAnswer, ListwiseJudge, SetwiseAnswer, SetwiseJudge,
};
pub use setwise::{Fallback, Setwise, SortMethod, TieBreak};
pub use sliding::{Coverage, SlidingWindow};
pub use trace::{AnswerSource, CallRecord, CallTrace, ParseOutcome, ParseReport};
pub use types::{candidates_from_docs, Candidate, Document, Query, Ranking};
