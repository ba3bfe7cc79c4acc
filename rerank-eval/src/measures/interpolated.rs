//! Interpolated precision: `iprec_at_recall` and `11pt_avg`.

use crate::ranked::RankedList;

/// Number of relevant documents that a recall fraction stands for.
fn rel_cutoff(fraction: f64, num_rel: u64, legacy: bool) -> i64 {
    let x = fraction * num_rel as f64;
    if legacy {
        (x + 0.9) as i64 // trec_eval <= 9
    } else {
        x.round() as i64 // trec_eval 10: lround
    }
}

/// Walks the ranking bottom up, calling `hit(index)` with the interpolated precision
/// (the best precision at this or any later rank) for each recall cutoff reached.
fn walk(l: &RankedList, rl: i32, cutoffs: &[i64], mut hit: impl FnMut(usize, f64)) {
    let mut cur = cutoffs.len() as i64 - 1;
    while cur >= 0 && cutoffs[cur as usize] > l.num_rel_ret as i64 {
        cur -= 1;
    }
    let num_ret = l.num_ret();
    // 0/0 = NaN when nothing was retrieved, as in trec_eval.
    let mut int_precis = l.num_rel_ret as f64 / num_ret as f64;
    let mut rel_so_far = l.num_rel_ret as i64;
    let mut i = num_ret;
    while i > 0 && rel_so_far > 0 {
        let precis = rel_so_far as f64 / i as f64;
        if int_precis < precis {
            int_precis = precis;
        }
        if l.rels[i - 1] >= rl {
            while cur >= 0 && rel_so_far == cutoffs[cur as usize] {
                hit(cur as usize, int_precis);
                cur -= 1;
            }
            rel_so_far -= 1;
        }
        i -= 1;
    }
    while cur >= 0 {
        hit(cur as usize, int_precis);
        cur -= 1;
    }
}

/// Interpolated precision at each recall fraction.
pub(crate) fn iprec_at_recall(
    l: &RankedList,
    rl: i32,
    fractions: &[f64],
    legacy: bool,
    out: &mut [f64],
) {
    let cutoffs: Vec<i64> = fractions
        .iter()
        .map(|&f| rel_cutoff(f, l.num_rel, legacy))
        .collect();
    walk(l, rl, &cutoffs, |c, p| out[c] = p);
}

/// Interpolated precision averaged over the recall fractions.
pub(crate) fn avg_interpolated(l: &RankedList, rl: i32, fractions: &[f64], legacy: bool) -> f64 {
    let cutoffs: Vec<i64> = fractions
        .iter()
        .map(|&f| rel_cutoff(f, l.num_rel, legacy))
        .collect();
    let mut sum = 0.0;
    walk(l, rl, &cutoffs, |_, p| sum += p);
    sum / fractions.len() as f64
}
