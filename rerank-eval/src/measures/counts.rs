//! Counts: `num_nonrel_judged_ret` (the other `num_*` are fields of the ranked list).

use crate::ranked::RankedList;

/// Judged non-relevant documents retrieved.
pub(crate) fn nonrel_judged_ret(l: &RankedList) -> f64 {
    (l.num_ret() as u64 - l.num_nonpool - l.num_unjudged_in_pool - l.num_rel_ret) as f64
}
