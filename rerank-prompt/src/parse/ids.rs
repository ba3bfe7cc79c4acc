//! Finding passage identifiers in model output: `[3]`, bare `3`, and digits from other
//! Unicode scripts and forms (full-width `３`, superscript `³`, subscript `₃`, circled
//! `③`, parenthesised `⑶`, dingbat `❸`, Arabic-Indic `٣`, Devanagari `३`, …).

/// An identifier found in text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FoundId {
    /// Its value (as written: 1-based in prompts).
    pub value: u64,
    /// Written inside square brackets.
    pub bracketed: bool,
}

/// The value of a single decimal digit character, in any supported script or form.
pub fn digit_value(c: char) -> Option<u32> {
    let cp = c as u32;
    let zero_based: &[u32] = &[
        0x30, 0x660, 0x6F0, 0x7C0, 0x966, 0x9E6, 0xA66, 0xAE6, 0xB66, 0xBE6, 0xC66, 0xCE6, 0xD66,
        0xE50, 0xED0, 0xF20, 0x1040, 0x17E0, 0x1810, 0xFF10, 0x2080, 0x1D7CE, 0x1D7D8, 0x1D7E2,
        0x1D7EC, 0x1D7F6,
    ];
    for &z in zero_based {
        if (z..z + 10).contains(&cp) {
            return Some(cp - z);
        }
    }
    match c {
        '⁰' => Some(0),
        '¹' => Some(1),
        '²' => Some(2),
        '³' => Some(3),
        '⁴'..='⁹' => Some(cp - 0x2070),
        _ => None,
    }
}

/// A character that stands for a whole number on its own (circled, parenthesised,
/// dingbat numbers).
pub fn number_value(c: char) -> Option<u64> {
    let cp = c as u32;
    let ranges: &[(u32, u32, u64)] = &[
        (0x2460, 0x2473, 1),  // ① … ⑳
        (0x2474, 0x2487, 1),  // ⑴ … ⒇
        (0x2488, 0x249B, 1),  // ⒈ … ⒛
        (0x24F5, 0x24FE, 1),  // ⓵ … ⓾
        (0x2776, 0x277F, 1),  // ❶ … ❿
        (0x2780, 0x2789, 1),  // ➀ … ➉
        (0x278A, 0x2793, 1),  // ➊ … ➓
        (0x24EB, 0x24F4, 11), // ⓫ … ⓴
        (0x3251, 0x325F, 21), // ㉑ … ㉟
        (0x32B1, 0x32BF, 36), // ㊱ … ㊿
    ];
    if c == '⓪' || c == '⓿' {
        return Some(0);
    }
    ranges
        .iter()
        .find(|(lo, hi, _)| (*lo..=*hi).contains(&cp))
        .map(|(lo, _, base)| base + (cp - lo) as u64)
}

fn is_open(c: char) -> bool {
    matches!(c, '[' | '［' | '【' | '〔')
}

fn is_close(c: char) -> bool {
    matches!(c, ']' | '］' | '】' | '〕')
}

/// Every identifier in `text`, in order. A run of digits (any script) is one number;
/// a circled or similar number is one number; a number directly between brackets
/// (spaces allowed) is marked bracketed. Numbers too large for `u64` count as
/// `u64::MAX` (out of range for any window).
pub fn find_ids(text: &str) -> Vec<FoundId> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let (value, end) = if let Some(v) = number_value(c) {
            (v, i + 1)
        } else if digit_value(c).is_some() {
            let mut v: u64 = 0;
            let mut j = i;
            while j < chars.len() {
                match digit_value(chars[j]) {
                    Some(d) => {
                        v = v
                            .checked_mul(10)
                            .and_then(|v| v.checked_add(d as u64))
                            .unwrap_or(u64::MAX)
                    }
                    None => break,
                }
                j += 1;
            }
            (v, j)
        } else {
            i += 1;
            continue;
        };
        let before = chars[..i].iter().rev().find(|c| !c.is_whitespace());
        let after = chars[end..].iter().find(|c| !c.is_whitespace());
        let bracketed = before.is_some_and(|&c| is_open(c)) && after.is_some_and(|&c| is_close(c));
        out.push(FoundId { value, bracketed });
        i = end;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(s: &str) -> Vec<u64> {
        find_ids(s).iter().map(|f| f.value).collect()
    }

    #[test]
    fn scripts_and_forms() {
        assert_eq!(values("[3] > [12] > 7"), vec![3, 12, 7]);
        assert_eq!(values("［３］ > ［１２］"), vec![3, 12]);
        assert_eq!(values("³ > ¹² > ₄"), vec![3, 12, 4]);
        assert_eq!(values("③ > ⑳ > ❶ > ⑴"), vec![3, 20, 1, 1]);
        assert_eq!(values("٣ > ١٢ > ३"), vec![3, 12, 3]);
        assert_eq!(values("99999999999999999999999"), vec![u64::MAX]);
        let f = find_ids("[ 4 ] 5 [6");
        assert_eq!(
            f.iter().map(|f| f.bracketed).collect::<Vec<_>>(),
            vec![true, false, false]
        );
    }
}
