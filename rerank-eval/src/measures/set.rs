//! Set measures over the whole retrieved set: `set_P`, `set_relative_P`,
//! `set_recall`, `set_map`, `set_F`, `utility`.

use crate::ranked::RankedList;

pub(crate) fn set_p(l: &RankedList) -> f64 {
    if l.num_ret() > 0 {
        l.num_rel_ret as f64 / l.num_ret() as f64
    } else {
        0.0
    }
}

pub(crate) fn set_relative_p(l: &RankedList) -> f64 {
    if l.num_ret() > 0 && l.num_rel > 0 {
        l.num_rel_ret as f64 / (l.num_ret() as u64).min(l.num_rel) as f64
    } else {
        0.0
    }
}

pub(crate) fn set_recall(l: &RankedList) -> f64 {
    if l.num_rel > 0 {
        l.num_rel_ret as f64 / l.num_rel as f64
    } else {
        0.0
    }
}

pub(crate) fn set_map(l: &RankedList) -> f64 {
    if l.num_ret() > 0 && l.num_rel > 0 {
        (l.num_rel_ret as f64 * l.num_rel_ret as f64) / (l.num_ret() as f64 * l.num_rel as f64)
    } else {
        0.0
    }
}

pub(crate) fn set_f(l: &RankedList, x: f64) -> f64 {
    if l.num_rel_ret == 0 {
        return 0.0;
    }
    let p = l.num_rel_ret as f64 / l.num_ret() as f64;
    let r = l.num_rel_ret as f64 / l.num_rel as f64;
    (x + 1.0) * p * r / (x * p + r)
}

/// `p1*a + p2*b + p3*c + p4*d` over the contingency table.
pub(crate) fn utility(l: &RankedList, p: &[f64], num_docs_in_coll: u64) -> f64 {
    let (ret, rel, rel_ret) = (l.num_ret() as i64, l.num_rel as i64, l.num_rel_ret as i64);
    p[0] * rel_ret as f64
        + p[1] * (ret - rel_ret) as f64
        + p[2] * (rel - rel_ret) as f64
        + p[3] * (num_docs_in_coll as i64 + rel_ret - ret - rel) as f64
}
