//! Binary preference: `bpref`, `gm_bpref` (Buckley and Voorhees, SIGIR 2004).

use crate::ranked::{RankedList, NOT_IN_POOL, UNJUDGED_IN_POOL};

/// bpref over judged documents only.
pub(crate) fn bpref(l: &RankedList, rl: i32) -> f64 {
    let num_nonrel: u64 = (0..rl.max(0) as usize)
        .map(|j| l.rel_levels.get(j).copied().unwrap_or(0))
        .sum();
    let mut nonrel_so_far = 0u64;
    let mut bpref = 0.0;
    for &r in &l.rels {
        if r == NOT_IN_POOL || r == UNJUDGED_IN_POOL {
            continue;
        }
        if r >= 0 && r < rl {
            nonrel_so_far += 1;
        } else if nonrel_so_far > 0 {
            bpref += 1.0 - nonrel_so_far.min(l.num_rel) as f64 / num_nonrel.min(l.num_rel) as f64;
        } else {
            bpref += 1.0;
        }
    }
    if l.num_rel > 0 {
        bpref /= l.num_rel as f64;
    }
    bpref
}
