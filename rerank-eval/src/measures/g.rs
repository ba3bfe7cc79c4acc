//! trec_eval's experimental gain measures `G` and `binG`.

use super::gain::{Gains, IdealGains};
use crate::ranked::RankedList;

/// Binary G: average over relevant documents of `1 / log2(2 + non-relevant before)`.
pub(crate) fn bin_g(l: &RankedList, rl: i32) -> f64 {
    let mut rel_so_far = 0i64;
    let mut sum = 0.0;
    for (i, &r) in l.rels.iter().enumerate() {
        if r >= rl {
            rel_so_far += 1;
            sum += 1.0 / ((3 + i as i64 - rel_so_far) as f64).log2();
        }
    }
    if rel_so_far > 0 {
        sum / l.num_rel as f64
    } else {
        0.0
    }
}

/// G: each document's gain discounted by `log2(2 + ideal cost so far - gain so far)`,
/// normalised by the total ideal gain.
pub(crate) fn g(l: &RankedList, pairs: &[(String, f64)]) -> f64 {
    let gains = Gains::new(pairs, &l.rel_levels);
    let mut ideal = IdealGains::new(&gains);
    let (mut results_g, mut sum_results, mut sum_ideal, mut sum_cost) = (0.0, 0.0, 0.0, 0.0);
    let min_cost = 1.0;
    let mut i = 0;
    while i < l.num_ret() && ideal.gain > 0.0 {
        let g = gains.get(l.rels[i]);
        sum_results += g;
        ideal.advance();
        if ideal.gain > 0.0 {
            sum_ideal += ideal.gain;
        }
        sum_cost += if ideal.gain >= min_cost {
            ideal.gain
        } else {
            min_cost
        };
        if g != 0.0 {
            results_g += g / (2.0 + sum_cost - sum_results).log2();
        }
        i += 1;
    }
    while i < l.num_ret() {
        let g = gains.get(l.rels[i]);
        sum_results += g;
        sum_cost += min_cost;
        if g != 0.0 {
            results_g += g / (2.0 + sum_cost - sum_results).log2();
        }
        i += 1;
    }
    while ideal.gain > 0.0 {
        ideal.advance();
        if ideal.gain > 0.0 {
            sum_ideal += ideal.gain;
        }
    }
    if sum_ideal > 0.0 {
        results_g / sum_ideal
    } else {
        0.0
    }
}
