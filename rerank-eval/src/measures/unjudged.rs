//! `unj`: fraction of unjudged documents at rank cutoffs.

use super::precision::counts_at;
use crate::ranked::RankedList;

/// Unjudged (not in the pool, or in the pool but not judged) documents within each
/// cutoff, divided by the cutoff.
pub(crate) fn unj_at(l: &RankedList, cutoffs: &[u64], out: &mut [f64]) {
    counts_at(
        &l.rels,
        cutoffs,
        |r| r < 0,
        |c, cut, n| out[c] = n as f64 / cut as f64,
    );
}
