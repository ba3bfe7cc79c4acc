//! The judge traits: how a ranking algorithm asks a model (or anything else) about
//! the documents of one query.
//!
//! A **listwise** judge orders a window of candidates (REARANK, RankGPT); a
//! **setwise** judge picks the best of a set (Rank-R1). Both take a *batch* of
//! requests — windows or sets of many queries at once — so that a backend can run them
//! together, and both answer each request separately: one request may fail while the
//! others succeed. An algorithm that gets an error or an unusable answer keeps the
//! window's (or set's) order and records why.
//!
//! An LLM judge is a model backend plus a prompt template (`rerank-model`); the
//! judges in [`crate::oracle`] answer from relevance labels.

use crate::trace::CallRecord;
use crate::types::{Candidate, Query};

/// One window or set to judge: the query and the candidates in the order the model
/// is to see them.
#[derive(Clone, Debug)]
pub struct JudgeRequest<'a> {
    /// The query.
    pub query: &'a Query,
    /// The candidates, in prompt order (`[1]` is the first).
    pub candidates: Vec<&'a Candidate>,
}

/// A listwise judge's answer.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ListwiseAnswer {
    /// The new order as indices into the request's candidates, best first. Must be a
    /// permutation of `0..n`; anything else is treated as an unusable answer.
    pub order: Vec<usize>,
    /// What happened in the call.
    pub record: CallRecord,
}

/// A setwise judge's answer.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SetwiseAnswer {
    /// Index of the best candidate in the request, or `None` when the output could not
    /// be used (the sort then applies its [`Fallback`](crate::Fallback)).
    pub best: Option<usize>,
    /// What happened in the call.
    pub record: CallRecord,
}

/// Why a judge could not answer one request.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct JudgeError(pub String);

impl JudgeError {
    /// An error with a message.
    pub fn new(msg: impl Into<String>) -> Self {
        JudgeError(msg.into())
    }
}

/// Orders windows of candidates.
pub trait ListwiseJudge {
    /// Answers every request, in order: `result[i]` answers `requests[i]`.
    fn rank_windows(
        &mut self,
        requests: &[JudgeRequest<'_>],
    ) -> Vec<Result<ListwiseAnswer, JudgeError>>;
}

/// Picks the best candidate of sets.
pub trait SetwiseJudge {
    /// Answers every request, in order: `result[i]` answers `requests[i]`.
    fn pick_best(
        &mut self,
        requests: &[JudgeRequest<'_>],
    ) -> Vec<Result<SetwiseAnswer, JudgeError>>;
}

impl<J: ListwiseJudge + ?Sized> ListwiseJudge for &mut J {
    fn rank_windows(
        &mut self,
        requests: &[JudgeRequest<'_>],
    ) -> Vec<Result<ListwiseAnswer, JudgeError>> {
        (**self).rank_windows(requests)
    }
}

impl<J: SetwiseJudge + ?Sized> SetwiseJudge for &mut J {
    fn pick_best(
        &mut self,
        requests: &[JudgeRequest<'_>],
    ) -> Vec<Result<SetwiseAnswer, JudgeError>> {
        (**self).pick_best(requests)
    }
}

/// True if `order` is a permutation of `0..n`.
pub fn is_permutation(order: &[usize], n: usize) -> bool {
    if order.len() != n {
        return false;
    }
    let mut seen = vec![false; n];
    order
        .iter()
        .all(|&i| i < n && !std::mem::replace(&mut seen[i], true))
}
