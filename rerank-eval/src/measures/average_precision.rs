//! Average precision: `map`, `gm_map` (per query), `map_cut`, `infAP`.

use crate::ranked::{RankedList, NOT_IN_POOL, UNJUDGED_IN_POOL};

/// Average precision: the sum over retrieved relevant documents of the precision at
/// their rank, divided by the number of relevant documents.
pub(crate) fn ap(l: &RankedList, rl: i32) -> f64 {
    let mut rel_so_far = 0u64;
    let mut sum = 0.0;
    for (i, &r) in l.rels.iter().enumerate() {
        if r >= rl {
            rel_so_far += 1;
            sum += rel_so_far as f64 / (i + 1) as f64;
        }
    }
    if rel_so_far > 0 {
        sum / l.num_rel as f64
    } else {
        0.0
    }
}

/// Average precision counting only the first `cutoff` ranks.
pub(crate) fn ap_cut(l: &RankedList, rl: i32, cutoffs: &[u64], out: &mut [f64]) {
    if l.num_rel == 0 {
        return;
    }
    let num_rel = l.num_rel as f64;
    let mut c = 0;
    let mut rel_so_far = 0u64;
    let mut sum = 0.0;
    for (i, &r) in l.rels.iter().enumerate() {
        if i as u64 == cutoffs[c] {
            out[c] = sum / num_rel;
            c += 1;
            if c == cutoffs.len() {
                return;
            }
        }
        if r >= rl {
            rel_so_far += 1;
            sum += rel_so_far as f64 / (i + 1) as f64;
        }
    }
    for o in &mut out[c..] {
        *o = sum / num_rel;
    }
}

const INFAP_EPSILON: f64 = 0.00001;

/// Inferred AP (Yilmaz and Aslam, CIKM 2006) as trec_eval computes it.
pub(crate) fn inf_ap(l: &RankedList, rl: i32) -> f64 {
    let mut nonrel_so_far = 0i64;
    let mut rel_so_far = 0i64;
    let mut pool_unjudged_so_far = 0i64;
    let mut inf_ap = 0.0;
    for (j, &r) in l.rels.iter().enumerate() {
        if r == NOT_IN_POOL {
            continue;
        }
        if r == UNJUDGED_IN_POOL {
            pool_unjudged_so_far += 1;
            continue;
        }
        if r >= 0 && r < rl {
            nonrel_so_far += 1;
        } else {
            rel_so_far += 1;
            if j == 0 {
                inf_ap += 1.0;
            } else {
                let fj = j as f64;
                inf_ap += 1.0 / (fj + 1.0)
                    + (fj / (fj + 1.0))
                        * ((rel_so_far - 1 + nonrel_so_far + pool_unjudged_so_far) as f64 / fj)
                        * (((rel_so_far - 1) as f64 + INFAP_EPSILON)
                            / ((rel_so_far - 1 + nonrel_so_far) as f64 + 2.0 * INFAP_EPSILON));
            }
        }
    }
    if l.num_rel > 0 {
        inf_ap /= l.num_rel as f64;
    }
    inf_ap
}
