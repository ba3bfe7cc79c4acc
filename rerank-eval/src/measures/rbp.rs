//! Rank-biased precision (Moffat and Zobel, TOIS 2008): `rbp` and `rbp_resid`.

use super::gain::Gains;
use crate::ranked::RankedList;

/// Persistence `p` from a `p=…` parameter, default 0.9 (the last one given wins).
fn persistence(pairs: &[(String, f64)]) -> f64 {
    pairs
        .iter()
        .rev()
        .find(|(n, _)| n == "p")
        .map(|&(_, v)| v)
        .unwrap_or(0.9)
}

/// `(1 - p) * sum_i gain_i * p^i`, gains scaled into [0, 1] when they leave it.
pub(crate) fn rbp(l: &RankedList, pairs: &[(String, f64)]) -> f64 {
    let p = persistence(pairs);
    let mut gains = Gains::new(pairs, &l.rel_levels);
    // trec_eval leaves min and max uninitialised here; with the default gains (level
    // 0 has gain 0) any sane start gives the minimum and maximum of the gains.
    let min = gains
        .levels
        .iter()
        .map(|g| g.gain)
        .fold(f64::INFINITY, f64::min);
    let max = gains
        .levels
        .iter()
        .map(|g| g.gain)
        .fold(f64::NEG_INFINITY, f64::max);
    if min < 0.0 || max > 1.0 {
        gains.map_gains(|g| (g - min) / (max - min));
    }
    let mut sum = 0.0;
    let mut cur_p = 1.0;
    for &r in &l.rels {
        let g = gains.get(r);
        if g != 0.0 {
            sum += g * cur_p;
        }
        cur_p *= p;
    }
    (1.0 - p) * sum
}

/// How much `rbp` could still rise if every unjudged retrieved document were fully
/// relevant (plus the tail beyond the ranking).
pub(crate) fn rbp_resid(l: &RankedList, pairs: &[(String, f64)]) -> f64 {
    let p = persistence(pairs);
    let mut unjudged = 0u64;
    let mut sum = 0.0;
    let mut cur_p = 1.0;
    for &r in &l.rels {
        if r < 0 {
            unjudged += 1;
            sum += cur_p;
        }
        cur_p *= p;
    }
    if unjudged > 0 {
        cur_p + (1.0 - p) * sum
    } else {
        0.0
    }
}
