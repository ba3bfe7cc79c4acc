//! `recall` at rank cutoffs.

use super::precision::counts_at;
use crate::ranked::RankedList;

/// Fraction of the relevant documents retrieved within each cutoff.
pub(crate) fn recall_at(l: &RankedList, rl: i32, cutoffs: &[u64], out: &mut [f64]) {
    if l.num_rel == 0 {
        return;
    }
    counts_at(
        &l.rels,
        cutoffs,
        |r| r >= rl,
        |c, _, n| out[c] = n as f64 / l.num_rel as f64,
    );
}
