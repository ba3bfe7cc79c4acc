//! Precision family: `P`, `relative_P`, `success`, `Rprec`, `Rprec_mult`,
//! `recip_rank`.

use crate::ranked::RankedList;

/// Calls `f(index, cutoff, count)` for each cutoff, `count` being the number of
/// documents among the first `min(cutoff, num_ret)` for which `pred` holds.
pub(crate) fn counts_at(
    rels: &[i32],
    cutoffs: &[u64],
    pred: impl Fn(i32) -> bool,
    mut f: impl FnMut(usize, u64, u64),
) {
    let mut count = 0u64;
    let mut pos = 0usize;
    for (c, &cut) in cutoffs.iter().enumerate() {
        let end = (cut.min(rels.len() as u64)) as usize;
        while pos < end {
            if pred(rels[pos]) {
                count += 1;
            }
            pos += 1;
        }
        f(c, cut, count);
    }
}

/// Precision at each cutoff (missing ranks count as non-relevant).
pub(crate) fn p_at(l: &RankedList, rl: i32, cutoffs: &[u64], out: &mut [f64]) {
    counts_at(
        &l.rels,
        cutoffs,
        |r| r >= rl,
        |c, cut, n| out[c] = n as f64 / cut as f64,
    );
}

/// Precision at each cutoff divided by the best achievable there, `min(cutoff, R)`.
pub(crate) fn relative_p_at(l: &RankedList, rl: i32, cutoffs: &[u64], out: &mut [f64]) {
    if l.num_rel == 0 {
        return;
    }
    counts_at(
        &l.rels,
        cutoffs,
        |r| r >= rl,
        |c, cut, n| out[c] = n as f64 / cut.min(l.num_rel) as f64,
    );
}

/// 1 when a relevant document is within the cutoff.
pub(crate) fn success_at(l: &RankedList, rl: i32, cutoffs: &[u64], out: &mut [f64]) {
    counts_at(
        &l.rels,
        cutoffs,
        |r| r >= rl,
        |c, _, n| out[c] = if n > 0 { 1.0 } else { 0.0 },
    );
}

/// Precision after R documents.
pub(crate) fn r_prec(l: &RankedList, rl: i32) -> f64 {
    let n = (l.num_ret() as u64).min(l.num_rel) as usize;
    if n == 0 {
        return 0.0;
    }
    let rel = l.rels[..n].iter().filter(|&&r| r >= rl).count();
    rel as f64 / l.num_rel as f64
}

/// 1 / rank of the first relevant document.
pub(crate) fn recip_rank(l: &RankedList, rl: i32) -> f64 {
    match l.rels.iter().position(|&r| r >= rl) {
        Some(i) => 1.0 / (i + 1) as f64,
        None => 0.0,
    }
}

/// Precision at multiples of R, rank `(long)(m * R + 0.9)`.
pub(crate) fn r_prec_mult(l: &RankedList, rl: i32, mults: &[f64], out: &mut [f64]) {
    let num_ret = l.num_ret() as i64;
    let num_rel_ret = l.num_rel_ret as f64;
    let cutoffs: Vec<i64> = mults
        .iter()
        .map(|m| (m * l.num_rel as f64 + 0.9) as i64)
        .collect();
    let mut cur = cutoffs.len() as i64 - 1;
    while cur >= 0 && cutoffs[cur as usize] > num_ret {
        out[cur as usize] = num_rel_ret / cutoffs[cur as usize] as f64;
        cur -= 1;
    }
    let mut rel_so_far = l.num_rel_ret as i64;
    let mut i = num_ret;
    while i > 0 && rel_so_far > 0 {
        let precis = rel_so_far as f64 / i as f64;
        while cur >= 0 && i == cutoffs[cur as usize] {
            out[cur as usize] = precis;
            cur -= 1;
        }
        if l.rels[i as usize - 1] >= rl {
            rel_so_far -= 1;
        }
        i -= 1;
    }
}
