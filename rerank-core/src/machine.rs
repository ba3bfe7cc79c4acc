//! Ranking algorithms as resumable state machines, so that a driver can advance many
//! queries at once and batch their judge calls.

use crate::judge::JudgeError;
use crate::trace::{CallRecord, CallTrace};
use crate::types::{Candidate, Query, Ranking};

/// One judge call of a machine and its answer.
pub(crate) struct CallSlot<A> {
    /// Positions shown, in prompt order.
    pub positions: Vec<usize>,
    pub answer: Result<A, JudgeError>,
}

impl<A> CallSlot<A> {
    /// A trace entry for this call; `ranking` must be the ranking as the call saw it.
    pub fn trace(
        &self,
        query: &Query,
        method: &str,
        step: usize,
        ranking: &[Candidate],
    ) -> CallTrace {
        CallTrace {
            query_id: query.id.clone(),
            method: method.to_owned(),
            step,
            positions: self.positions.clone(),
            doc_ids: self
                .positions
                .iter()
                .map(|&p| ranking[p].doc.id.clone())
                .collect(),
            applied: false,
            error: None,
            record: CallRecord::default(),
        }
    }
}

/// One query's ranking algorithm, advanced by answers.
pub(crate) trait Machine {
    type Answer;

    fn query(&self) -> &Query;

    /// The working list that request positions refer to.
    fn ranking(&self) -> &[Candidate];

    /// The requests that are ready now, each a list of positions in prompt order.
    /// Repeated calls return the same requests until they are resolved.
    fn pending(&mut self) -> Vec<Vec<usize>>;

    /// Answers to the requests last returned by `pending`, in the same order.
    fn resolve(&mut self, slots: Vec<CallSlot<Self::Answer>>);

    fn is_done(&self) -> bool;

    fn finish(self: Box<Self>) -> Ranking;
}
