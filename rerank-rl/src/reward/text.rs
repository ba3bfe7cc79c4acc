//! Text rules shared by the rewards, written so that Python's `re` and `str` give the
//! same answers (the exported reward modules run in Python).
//!
//! Python's `\s` and `str.strip()` take the characters of `str.isspace()`: Unicode
//! `White_Space` (Rust's `char::is_whitespace`, the regex crate's `\s`) and also the
//! four ASCII information separators U+001C–U+001F.

/// Whether Python's `str.isspace()` is true for `c`.
pub(crate) fn is_py_space(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

/// Python's `s.strip()`.
pub(crate) fn py_strip(s: &str) -> &str {
    s.trim_matches(is_py_space)
}

/// Python's `\s` (str patterns) as a regex-crate class.
pub(crate) const PY_SPACE: &str = r"[\s\x1C-\x1F]";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_whitespace() {
        // Every code point Python 3.11's str.isspace() accepts, and no other.
        let python: Vec<u32> = [
            0x9, 0xa, 0xb, 0xc, 0xd, 0x1c, 0x1d, 0x1e, 0x1f, 0x20, 0x85, 0xa0, 0x1680,
        ]
        .into_iter()
        .chain(0x2000..=0x200a)
        .chain([0x2028, 0x2029, 0x202f, 0x205f, 0x3000])
        .collect();
        let ours: Vec<u32> = (0..=0x10FFFFu32)
            .filter_map(char::from_u32)
            .filter(|&c| is_py_space(c))
            .map(|c| c as u32)
            .collect();
        assert_eq!(ours, python);
        assert_eq!(py_strip("\u{1c} [3]\u{3000}\n"), "[3]");
    }
}
