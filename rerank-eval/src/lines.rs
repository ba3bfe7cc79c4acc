//! Byte-level line and field splitting shared by the qrels and run readers.
//!
//! trec_eval splits fields on C's `isspace` (space, tab, `\n`, `\v`, `\f`, `\r`), so
//! CRLF files and tab- or space-separated files all read the same way. Nothing here
//! allocates.

use std::path::Path;

use crate::error::{Error, Result};

/// C `isspace` in the "C" locale.
#[inline]
pub(crate) fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\x0b' | b'\x0c' | b'\r')
}

/// Bit masks of 64 bytes: where the white space is (C `isspace`), and where the new
/// lines are.
#[inline]
fn masks(bytes: &[u8; 64]) -> (u64, u64) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::*;
        let (mut space, mut newline) = (0u64, 0u64);
        for i in 0..4 {
            // SAFETY: SSE2 is part of every x86_64 processor, and the load reads bytes
            // 16i..16i+16 of the 64-byte array.
            let (sp, nl) = unsafe {
                let v = _mm_loadu_si128(bytes.as_ptr().add(16 * i) as *const __m128i);
                // `\t`..`\r` are 9..=13: b − 9 ≤ 4 as unsigned bytes.
                let t = _mm_sub_epi8(v, _mm_set1_epi8(9));
                let control = _mm_cmpeq_epi8(_mm_min_epu8(t, _mm_set1_epi8(4)), t);
                let sp = _mm_or_si128(control, _mm_cmpeq_epi8(v, _mm_set1_epi8(b' ' as i8)));
                let nl = _mm_cmpeq_epi8(v, _mm_set1_epi8(b'\n' as i8));
                (_mm_movemask_epi8(sp), _mm_movemask_epi8(nl))
            };
            space |= (sp as u32 as u64 & 0xFFFF) << (16 * i);
            newline |= (nl as u32 as u64 & 0xFFFF) << (16 * i);
        }
        (space, newline)
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let (mut space, mut newline) = (0u64, 0u64);
        for (i, &b) in bytes.iter().enumerate() {
            space |= (is_space(b) as u64) << i;
            newline |= ((b == b'\n') as u64) << i;
        }
        (space, newline)
    }
}

/// [`masks`] of fewer than 64 bytes, padded with white space.
#[inline]
fn padded_masks(bytes: &[u8]) -> (u64, u64) {
    let mut padded = [b' '; 64];
    padded[..bytes.len()].copy_from_slice(bytes);
    masks(&padded)
}

/// Where the whitespace-separated fields of one line are, as `start..end` ranges.
///
/// A line of at most 64 bytes (nearly every line of a qrels or run file) is classified
/// into a bit mask with a few vector instructions, and its fields are read off the
/// mask; branching on every byte cost a mispredicted branch at every field edge, most
/// of the time of reading a run file. Longer lines are scanned.
pub(crate) struct FieldRanges<'a> {
    bytes: &'a [u8],
    /// Short lines: bit `i` set where a field starts (ends) at byte `i`.
    starts: u64,
    ends: u64,
    /// Long lines: where the scan is.
    pos: usize,
    short: bool,
}

impl<'a> FieldRanges<'a> {
    #[inline]
    fn new(bytes: &'a [u8]) -> Self {
        if bytes.len() > 64 {
            return FieldRanges::long(bytes);
        }
        FieldRanges::from_space(bytes, padded_masks(bytes).0)
    }

    fn long(bytes: &'a [u8]) -> Self {
        FieldRanges {
            bytes,
            starts: 0,
            ends: 0,
            pos: 0,
            short: false,
        }
    }

    /// A line of at most 64 bytes whose white space is the bits of `space` (bits at
    /// and past its end set).
    #[inline]
    fn from_space(bytes: &'a [u8], space: u64) -> Self {
        let word = !space;
        FieldRanges {
            bytes,
            starts: word & !(word << 1),
            ends: word & !(word >> 1),
            pos: 0,
            short: true,
        }
    }

    /// The line's bytes.
    #[inline]
    pub(crate) fn line(&self) -> &'a [u8] {
        self.bytes
    }
}

impl Iterator for FieldRanges<'_> {
    type Item = (usize, usize);

    #[inline(always)]
    fn next(&mut self) -> Option<(usize, usize)> {
        if self.short {
            if self.starts == 0 {
                return None;
            }
            let (s, e) = (self.starts.trailing_zeros(), self.ends.trailing_zeros());
            self.starts &= self.starts - 1;
            self.ends &= self.ends - 1;
            return Some((s as usize, e as usize + 1));
        }
        let rest = &self.bytes[self.pos..];
        let start = self.pos + rest.iter().position(|&b| !is_space(b))?;
        let rest = &self.bytes[start..];
        let end = start + rest.iter().position(|&b| is_space(b)).unwrap_or(rest.len());
        self.pos = end;
        Some((start, end))
    }
}

/// The line of `data` starting at `start`: where it ends (its new line, or the end of
/// `data`) and where its fields are. One pass of vector compares finds both for a
/// line of up to 64 bytes.
#[inline]
pub(crate) fn line_at(data: &[u8], start: usize) -> (usize, FieldRanges<'_>) {
    let rest = &data[start..];
    let window: Option<&[u8; 64]> = rest.get(..64).and_then(|w| w.try_into().ok());
    let (space, newline, avail) = match window {
        Some(w) => {
            let (s, n) = masks(w);
            (s, n, 64)
        }
        None => {
            let (s, n) = padded_masks(rest);
            (s, n, rest.len())
        }
    };
    let len = if newline != 0 {
        newline.trailing_zeros() as usize
    } else if avail < 64 {
        rest.len()
    } else {
        // Longer than 64 bytes.
        let len = memchr::memchr(b'\n', rest).unwrap_or(rest.len());
        return (start + len, FieldRanges::long(&rest[..len]));
    };
    let space = if len == 64 {
        space
    } else {
        space | (!0u64 << len)
    };
    (start + len, FieldRanges::from_space(&rest[..len], space))
}

/// Iterator over the whitespace-separated fields of one line.
pub(crate) struct Fields<'a> {
    ranges: FieldRanges<'a>,
}

impl<'a> Fields<'a> {
    #[inline]
    pub(crate) fn new(line: &'a [u8]) -> Self {
        Fields {
            ranges: FieldRanges::new(line),
        }
    }

    /// The fields of a line found by [`line_at`].
    #[cfg(test)]
    fn from_ranges(ranges: FieldRanges<'a>) -> Self {
        Fields { ranges }
    }
}

impl<'a> Iterator for Fields<'a> {
    type Item = &'a [u8];

    #[inline]
    fn next(&mut self) -> Option<&'a [u8]> {
        let (a, b) = self.ranges.next()?;
        Some(&self.ranges.bytes[a..b])
    }
}

/// Iterator over the whitespace-separated fields of one line of text already checked
/// to be UTF-8, as `&str` (fields end at ASCII white space, so every cut is on a
/// character boundary).
pub(crate) struct StrFields<'a> {
    text: &'a str,
    ranges: FieldRanges<'a>,
}

impl<'a> StrFields<'a> {
    #[cfg(test)]
    fn new(text: &'a str) -> Self {
        StrFields {
            text,
            ranges: FieldRanges::new(text.as_bytes()),
        }
    }

    /// The fields of `text`, a line whose fields `ranges` found ([`line_at`]).
    #[inline]
    pub(crate) fn from_ranges(text: &'a str, ranges: FieldRanges<'a>) -> Self {
        debug_assert_eq!(text.as_bytes(), ranges.bytes);
        StrFields { text, ranges }
    }
}

impl<'a> Iterator for StrFields<'a> {
    type Item = &'a str;

    #[inline(always)]
    fn next(&mut self) -> Option<&'a str> {
        let (a, b) = self.ranges.next()?;
        Some(ascii_cut(self.text, a, b))
    }
}

/// `text[start..end]` where each end is an end of `text` or next to white space (a
/// field's or a line's edge), without checking that the ends are character
/// boundaries: those checks were a fifth of the time of splitting a run file.
#[inline(always)]
pub(crate) fn ascii_cut(text: &str, start: usize, end: usize) -> &str {
    debug_assert!(text.is_char_boundary(start) && text.is_char_boundary(end));
    let bytes = &text.as_bytes()[start..end];
    // SAFETY: both ends are character boundaries: an end of the text, a white space
    // byte (the end of a field or line), or the byte after one (the start of a field
    // or line); white space is ASCII, and an ASCII byte is a whole character in
    // UTF-8. So the bytes between are whole characters of valid UTF-8.
    unsafe { std::str::from_utf8_unchecked(bytes) }
}

/// What kind of line this is, by trec_eval's rules.
#[inline]
pub(crate) fn is_blank_or_comment(line: &[u8]) -> bool {
    match line.iter().position(|&b| !is_space(b)) {
        None => true,
        Some(i) => line[i] == b'#',
    }
}

/// Refuses binary input early, with a message that says so, instead of reporting
/// nonsense fields. Returns the 1-based line of the first NUL byte, if any.
pub(crate) fn check_not_binary(data: &[u8], path: &Path, line_offset: u64) -> Result<()> {
    if let Some(pos) = memchr::memchr(0, data) {
        let line = line_offset + memchr::memchr_iter(b'\n', &data[..pos]).count() as u64 + 1;
        return Err(Error::Parse {
            path: path.to_path_buf(),
            line,
            message: "this looks like a binary file (it contains a NUL byte); expected a \
                      TREC text file"
                .into(),
        });
    }
    Ok(())
}

/// Converts a field to `&str`, reporting invalid UTF-8 with its location.
#[inline]
pub(crate) fn field_str<'a>(
    field: &'a [u8],
    path: &Path,
    line: u64,
    what: &str,
) -> Result<&'a str> {
    std::str::from_utf8(field).map_err(|_| Error::Parse {
        path: path.to_path_buf(),
        line,
        message: format!("the {what} is not valid UTF-8 text"),
    })
}

/// Shortens a field for an error message.
pub(crate) fn show(field: &[u8]) -> String {
    let s = String::from_utf8_lossy(field);
    if s.chars().count() > 40 {
        let cut: String = s.chars().take(40).collect();
        format!("{cut}…")
    } else {
        s.into_owned()
    }
}

/// Parses a relevance value: an integer, as trec_eval's `atol` would read a
/// well-formed one. Anything else is an error rather than trec_eval's silent 0.
#[inline]
pub(crate) fn parse_rel(field: &[u8], path: &Path, line: u64) -> Result<i32> {
    std::str::from_utf8(field)
        .ok()
        .and_then(|s| s.parse::<i32>().ok())
        .ok_or_else(|| Error::Parse {
            path: path.to_path_buf(),
            line,
            message: format!(
                "relevance '{}' is not an integer (expected `qid iter docno rel`, rel like 0, 1, 2 or -1)",
                show(field)
            ),
        })
}

/// Parses a retrieval score. NaN is refused: it has no place in a ranking, and
/// trec_eval's order for it is undefined. `-0.0` is read as `0.0`, since C compares
/// the two as equal.
#[inline]
pub(crate) fn parse_score(field: &[u8], path: &Path, line: u64) -> Result<f64> {
    let v = parse_f64(field);
    match v {
        Some(v) if !v.is_nan() => Ok(v + 0.0),
        _ => Err(Error::Parse {
            path: path.to_path_buf(),
            line,
            message: format!(
                "score '{}' is not a number (expected `qid Q0 docno rank score tag`)",
                show(field)
            ),
        }),
    }
}

/// Powers of ten that are exact in an `f64`.
const EXACT_POWERS_OF_TEN: [f64; 23] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
    1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
];

/// Parses a number exactly as `str::parse::<f64>` does (the correctly rounded value),
/// taking a shortcut for the plain decimals run files are written with.
///
/// A decimal `[±]digits[.digits]` whose digits form an integer `w ≤ 2⁵³` with at most
/// 22 of them after the point is `w / 10ᵏ` with both operands exact, and IEEE division
/// rounds that quotient correctly (Clinger's fast path), so the result is the same
/// bits as the full parser's. Anything else (exponents, more digits, `inf`, text) goes
/// to the full parser.
#[inline]
pub(crate) fn parse_f64(field: &[u8]) -> Option<f64> {
    let (negative, digits) = match field.first() {
        Some(b'-') => (true, &field[1..]),
        Some(b'+') => (false, &field[1..]),
        _ => (false, field),
    };
    let mut w: u64 = 0;
    let mut count = 0usize; // digits read
    let mut after_point: Option<usize> = None; // digits read before the point
    for &b in digits {
        match b {
            b'0'..=b'9' if count < 19 => {
                w = w * 10 + (b - b'0') as u64;
                count += 1;
            }
            b'.' if after_point.is_none() => after_point = Some(count),
            _ => return parse_f64_full(field),
        }
    }
    let frac = after_point.map_or(0, |p| count - p);
    if count == 0 || w > 1 << 53 || frac >= EXACT_POWERS_OF_TEN.len() {
        return parse_f64_full(field);
    }
    let v = w as f64 / EXACT_POWERS_OF_TEN[frac];
    Some(if negative { -v } else { v })
}

#[cold]
fn parse_f64_full(field: &[u8]) -> Option<f64> {
    std::str::from_utf8(field).ok()?.parse::<f64>().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_on_c_whitespace() {
        let f: Vec<&[u8]> = Fields::new(b"  301\t0 \x0bdoc-1  1\r").collect();
        assert_eq!(f, vec![&b"301"[..], b"0", b"doc-1", b"1"]);
        assert_eq!(Fields::new(b"   ").count(), 0);
    }

    #[test]
    fn str_fields_split_like_byte_fields() {
        let long = format!("{} {} {}", "a".repeat(40), "b".repeat(23), "c");
        let edge = format!("{} {}", "a".repeat(40), "b".repeat(23)); // 64 bytes
        let edge2 = format!("{} {} ", "a".repeat(40), "b".repeat(22)); // 64, space last
        for line in [
            "  301\t0 \x0bdoc-1  1\r",
            "",
            "   ",
            "a",
            "é b\tç  ",
            "x y z w v u t",
            &long,
            &edge,
            &edge2,
            &long[1..],
        ] {
            let bytes: Vec<&[u8]> = Fields::new(line.as_bytes()).collect();
            let strs: Vec<&[u8]> = StrFields::new(line).map(str::as_bytes).collect();
            assert_eq!(bytes, strs, "{line:?}");
            let split: Vec<&[u8]> = line
                .as_bytes()
                .split(|&b| is_space(b))
                .filter(|f| !f.is_empty())
                .collect();
            assert_eq!(bytes, split, "{line:?}");
        }
    }

    /// `line_at` finds the same lines and fields as splitting on new lines and white
    /// space, for lines shorter and longer than 64 bytes, near the end of the data and
    /// without a final new line.
    #[test]
    fn line_at_splits_like_the_definition() {
        let mut rng = 12345u64;
        let mut next = || {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            rng
        };
        let alphabet = b"ab9 \t\n\x0b\x0c\r#\xc3\xa9 ";
        for _ in 0..2000 {
            let n = (next() % 300) as usize;
            let data: Vec<u8> = (0..n)
                .map(|_| alphabet[(next() % alphabet.len() as u64) as usize])
                .collect();
            let mut start = 0;
            let mut want = data.split(|&b| b == b'\n').peekable();
            while start < data.len() {
                let (end, ranges) = line_at(&data, start);
                let expected = want.next().unwrap();
                assert_eq!(&data[start..end], expected);
                let got: Vec<&[u8]> = Fields::from_ranges(ranges).collect();
                let split: Vec<&[u8]> = expected
                    .split(|&b| is_space(b))
                    .filter(|f| !f.is_empty())
                    .collect();
                assert_eq!(got, split, "{:?}", String::from_utf8_lossy(expected));
                start = end + 1;
            }
        }
    }

    #[test]
    fn comments_and_blanks() {
        assert!(is_blank_or_comment(b""));
        assert!(is_blank_or_comment(b"  \t"));
        assert!(is_blank_or_comment(b"# x"));
        assert!(is_blank_or_comment(b"   # x"));
        assert!(!is_blank_or_comment(b"301 Q0 a#b 1 2 x"));
    }

    proptest::proptest! {
        /// The shortcut gives the full parser's bits (or its refusal) on decimals of
        /// every shape around its limits.
        #[test]
        fn parse_f64_is_the_std_parser(
            sign in proptest::sample::select(vec!["", "-", "+"]),
            int in "[0-9]{0,20}",
            point in proptest::bool::ANY,
            frac in "[0-9]{0,24}",
            tail in proptest::sample::select(vec!["", "e3", "E-5", "x", ".", "e"]),
        ) {
            let text = format!("{sign}{int}{}{frac}{tail}", if point { "." } else { "" });
            let want = text.parse::<f64>().ok();
            let got = parse_f64(text.as_bytes());
            proptest::prop_assert_eq!(got.map(f64::to_bits), want.map(f64::to_bits), "{}", text);
        }
    }

    #[test]
    fn parse_f64_edges() {
        for t in [
            "0",
            "-0",
            "0.1",
            "24.92",
            ".5",
            "5.",
            "9007199254740992",
            "9007199254740993",
            "0.0000000000000000000001",
            "1.00000000000000000000000",
            "inf",
            "-nan",
            "",
            "-",
            ".",
            "1e5",
            "123456789.123456789",
            "17976931348623157e292",
        ] {
            let want = t.parse::<f64>().ok().map(f64::to_bits);
            assert_eq!(parse_f64(t.as_bytes()).map(f64::to_bits), want, "{t}");
        }
    }

    #[test]
    fn scores() {
        let p = Path::new("f");
        assert_eq!(parse_score(b"1e-3", p, 1).unwrap(), 1e-3);
        assert_eq!(
            parse_score(b"-0.0", p, 1).unwrap().to_bits(),
            0.0f64.to_bits()
        );
        assert!(parse_score(b"nan", p, 1).is_err());
        assert!(parse_score(b"abc", p, 1).is_err());
        assert!(parse_rel(b"1.5", p, 1).is_err());
        assert_eq!(parse_rel(b"-1", p, 1).unwrap(), -1);
    }
}
