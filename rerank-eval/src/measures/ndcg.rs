//! Discounted cumulative gain (Järvelin and Kekäläinen): `ndcg`, `dcg`, `ideal_dcg`,
//! `ndcg_rel`, `Rndcg`, `ndcg_cut`. The discount of rank `r` is `log2(r + 1)`.

use super::gain::{Gains, IdealGains};
use crate::ranked::RankedList;

/// The discount of rank `i + 1`: `log2(i + 2)`, from a table for the first ranks.
#[inline]
fn discount(i: usize) -> f64 {
    const TABLE: usize = 4096;
    static DISCOUNTS: std::sync::LazyLock<Vec<f64>> =
        std::sync::LazyLock::new(|| (0..TABLE).map(|i| ((i + 2) as f64).log2()).collect());
    match DISCOUNTS.get(i) {
        Some(&d) => d,
        None => ((i + 2) as f64).log2(),
    }
}

/// DCG of the ranking and of the ideal ranking, over all ranks.
pub(crate) struct Dcg {
    pub dcg: f64,
    pub ideal_dcg: f64,
}

impl Dcg {
    pub(crate) fn ndcg(&self) -> f64 {
        if self.ideal_dcg > 0.0 {
            self.dcg / self.ideal_dcg
        } else {
            0.0
        }
    }
}

pub(crate) fn dcg_family(l: &RankedList, pairs: &[(String, f64)]) -> Dcg {
    let gains = Gains::new(pairs, &l.rel_levels);
    let mut ideal = IdealGains::new(&gains);
    let (mut dcg, mut ideal_dcg) = (0.0, 0.0);
    let mut i = 0;
    while i < l.num_ret() && ideal.gain > 0.0 {
        let g = gains.get(l.rels[i]);
        if g != 0.0 {
            dcg += g / discount(i);
        }
        ideal.advance();
        if ideal.gain > 0.0 {
            ideal_dcg += ideal.gain / discount(i);
        }
        i += 1;
    }
    while i < l.num_ret() {
        let g = gains.get(l.rels[i]);
        if g != 0.0 {
            dcg += g / discount(i);
        }
        i += 1;
    }
    while ideal.gain > 0.0 {
        ideal.advance();
        if ideal.gain > 0.0 {
            ideal_dcg += ideal.gain / discount(i);
        }
        i += 1;
    }
    Dcg { dcg, ideal_dcg }
}

/// nDCG averaged over the relevant documents: at each retrieved relevant document,
/// and for each relevant document not retrieved, the nDCG at the end.
pub(crate) fn ndcg_rel(l: &RankedList, pairs: &[(String, f64)]) -> f64 {
    let gains = Gains::new(pairs, &l.rel_levels);
    let mut ideal = IdealGains::new(&gains);
    let (mut dcg, mut ideal_dcg, mut sum) = (0.0, 0.0, 0.0);
    let (mut num_rel_ret, mut num_rel) = (0i64, 0i64);
    let mut i = 0;
    while i < l.num_ret() && ideal.gain > 0.0 {
        let g = gains.get(l.rels[i]);
        if g != 0.0 {
            dcg += g / discount(i);
        }
        ideal.advance();
        if ideal.gain > 0.0 {
            num_rel += 1;
            ideal_dcg += ideal.gain / discount(i);
        }
        if g > 0.0 {
            sum += dcg / ideal_dcg;
            num_rel_ret += 1;
        }
        i += 1;
    }
    while i < l.num_ret() {
        let g = gains.get(l.rels[i]);
        if g != 0.0 {
            dcg += g / discount(i);
        }
        if g > 0.0 {
            sum += dcg / ideal_dcg;
            num_rel_ret += 1;
        }
        i += 1;
    }
    while ideal.gain > 0.0 {
        ideal.advance();
        if ideal.gain > 0.0 {
            num_rel += 1;
            ideal_dcg += ideal.gain / discount(i);
        }
        i += 1;
    }
    sum += (num_rel - num_rel_ret) as f64 * dcg / ideal_dcg;
    if sum > 0.0 {
        sum / num_rel as f64
    } else {
        0.0
    }
}

/// nDCG averaged over the ranks where the ideal gain changes (and the end of the
/// ranking).
pub(crate) fn r_ndcg(l: &RankedList, pairs: &[(String, f64)]) -> f64 {
    let gains = Gains::new(pairs, &l.rel_levels);
    if l.num_rel == 0 {
        return 0.0;
    }
    let mut ideal = IdealGains::new(&gains);
    let mut old_ideal_gain = ideal.gain;
    let (mut dcg, mut ideal_dcg, mut sum) = (0.0, 0.0, 0.0);
    let mut num_changed = 0i64;
    let mut i = 0;
    while i < l.num_ret() && ideal.gain > 0.0 {
        let g = gains.get(l.rels[i]);
        ideal.advance();
        if old_ideal_gain != ideal.gain {
            if ideal_dcg > 0.0 {
                sum += dcg / ideal_dcg;
                num_changed += 1;
            }
            old_ideal_gain = ideal.gain;
        }
        if g != 0.0 {
            dcg += g / discount(i);
        }
        if ideal.gain > 0.0 {
            ideal_dcg += ideal.gain / discount(i);
        }
        i += 1;
    }
    if i < l.num_ret() {
        while i < l.num_ret() {
            let g = gains.get(l.rels[i]);
            if g != 0.0 {
                dcg += g / discount(i);
            }
            i += 1;
        }
        if ideal_dcg > 0.0 {
            sum += dcg / ideal_dcg;
            num_changed += 1;
        }
    }
    while ideal.gain > 0.0 {
        ideal.advance();
        if old_ideal_gain != ideal.gain {
            if ideal_dcg > 0.0 {
                sum += dcg / ideal_dcg;
                num_changed += 1;
            }
            old_ideal_gain = ideal.gain;
        }
        if ideal.gain > 0.0 {
            ideal_dcg += ideal.gain / discount(i);
        }
        i += 1;
    }
    sum / num_changed as f64
}

/// nDCG at rank cutoffs, the gain of a document being its relevance level.
pub(crate) fn ndcg_cut(l: &RankedList, cutoffs: &[u64], out: &mut [f64]) {
    let mut c = 0;
    let mut sum = 0.0;
    for (i, &r) in l.rels.iter().enumerate() {
        if i as u64 == cutoffs[c] {
            out[c] = sum;
            c += 1;
            if c == cutoffs.len() {
                break;
            }
        }
        let gain = r as f64;
        if gain > 0.0 {
            sum += gain / discount(i);
        }
    }
    for o in &mut out[c..] {
        *o = sum;
    }
    if l.rel_levels.is_empty() {
        return; // nothing judged: every DCG above is 0
    }
    // Ideal DCG at each cutoff, normalising the values above.
    let levels = &l.rel_levels;
    let mut c = 0;
    let mut cur = levels.len() - 1;
    let mut count = 0u64;
    let mut ideal = 0.0;
    let mut i = 0usize;
    loop {
        count += 1;
        while cur > 0 && count > levels[cur] {
            cur -= 1;
            count = 1;
        }
        if cur == 0 {
            break;
        }
        if i as u64 == cutoffs[c] {
            if ideal > 0.0 {
                out[c] /= ideal;
            }
            c += 1;
            if c == cutoffs.len() {
                break;
            }
        }
        ideal += cur as f64 / discount(i);
        i += 1;
    }
    for o in &mut out[c..] {
        if ideal > 0.0 {
            *o /= ideal;
        }
    }
}

/// nDCG@`k` of a ranking given as the relevance labels of its documents, best first,
/// by trec_eval's `ndcg_cut` definition: a document's gain is its label (a label of 0
/// or less gains nothing), rank `r` (from 1) is discounted by `log2(r + 1)`, and the
/// ideal is `judged` (the labels of every judged document of the query) sorted from
/// best. 0 when nothing is relevant. For rewards and other code that has labels in an
/// order rather than a run and qrels; it gives `ndcg_cut.k`'s value for them.
///
/// ```
/// use rerank_eval::measures::ndcg_cut_of_labels;
/// // Relevant documents (2 and 1) at ranks 2 and 3 of 3; ideal: 2, 1, 0.
/// let v = ndcg_cut_of_labels(&[0, 2, 1], &[2, 1, 0], 10);
/// let dcg = 2.0 / 3f64.log2() + 1.0 / 4f64.log2();
/// let ideal = 2.0 + 1.0 / 3f64.log2();
/// assert_eq!(v, dcg / ideal);
/// assert_eq!(ndcg_cut_of_labels(&[0, 0], &[0, 0], 10), 0.0);
/// ```
pub fn ndcg_cut_of_labels(ranked: &[i32], judged: &[i32], k: usize) -> f64 {
    let mut dcg = 0.0;
    for (i, &r) in ranked.iter().take(k).enumerate() {
        if r > 0 {
            dcg += r as f64 / discount(i);
        }
    }
    let mut best: Vec<i32> = judged.iter().copied().filter(|&r| r > 0).collect();
    best.sort_unstable_by(|a, b| b.cmp(a));
    let mut ideal = 0.0;
    for (i, &r) in best.iter().take(k).enumerate() {
        ideal += r as f64 / discount(i);
    }
    if ideal > 0.0 {
        dcg / ideal
    } else {
        0.0
    }
}
