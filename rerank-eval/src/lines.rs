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

/// Iterator over the whitespace-separated fields of one line.
pub(crate) struct Fields<'a> {
    rest: &'a [u8],
}

impl<'a> Fields<'a> {
    #[inline]
    pub(crate) fn new(line: &'a [u8]) -> Self {
        Fields { rest: line }
    }
}

impl<'a> Iterator for Fields<'a> {
    type Item = &'a [u8];

    #[inline]
    fn next(&mut self) -> Option<&'a [u8]> {
        let start = self.rest.iter().position(|&b| !is_space(b))?;
        let rest = &self.rest[start..];
        let end = rest.iter().position(|&b| is_space(b)).unwrap_or(rest.len());
        self.rest = &rest[end..];
        Some(&rest[..end])
    }
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
    let v = std::str::from_utf8(field)
        .ok()
        .and_then(|s| s.parse::<f64>().ok());
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
    fn comments_and_blanks() {
        assert!(is_blank_or_comment(b""));
        assert!(is_blank_or_comment(b"  \t"));
        assert!(is_blank_or_comment(b"# x"));
        assert!(is_blank_or_comment(b"   # x"));
        assert!(!is_blank_or_comment(b"301 Q0 a#b 1 2 x"));
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
