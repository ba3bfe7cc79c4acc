//! `relstring`: the relevance of the first N documents as a string.

use crate::ranked::{RankedList, NOT_IN_POOL, UNJUDGED_IN_POOL};

/// `0`-`9` for judged levels, `>` above 9, `-` not in the pool, `.` in the pool but
/// unjudged, `<` for any other negative value.
pub(crate) fn relstring(l: &RankedList, n: f64, out: &mut String) {
    out.clear();
    let len = (n as i64).min(l.num_ret() as i64).max(0) as usize;
    out.extend(l.rels[..len].iter().map(|&r| match r {
        r if r > 9 => '>',
        r if r >= 0 => (b'0' + r as u8) as char,
        NOT_IN_POOL => '-',
        UNJUDGED_IN_POOL => '.',
        _ => '<',
    }));
}
