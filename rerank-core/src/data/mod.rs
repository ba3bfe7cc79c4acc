//! Reading topics and corpora in the formats IR collections come in.
//!
//! | what | formats (detected from the content) |
//! | --- | --- |
//! | topics ([`read_topics`]) | TREC `<top>` (`<num>`, `<title>`), TSV `qid<TAB>text`, JSON lines (`_id`/`id`/`qid` and `text`/`query`/`title`) |
//! | corpus ([`Corpus::read`]) | BEIR JSON lines (`_id`, `title`, `text`), TSV `id<TAB>text`, TREC `<DOC>` (`<DOCNO>`, optional `<TITLE>`/`<HEADLINE>`) |
//!
//! Every error names the file and the line, and says what the line should look like.

mod corpus;
mod topics;

use std::path::Path;

pub use corpus::Corpus;
pub use topics::{parse_topics, read_topics};

use crate::error::{Error, Result};

/// The layout of a topics or corpus file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// SGML-like TREC records (`<top>` or `<DOC>`).
    Trec,
    /// One record per line, the id, a tab, the text.
    Tsv,
    /// One JSON object per line.
    JsonLines,
}

impl Format {
    /// Guesses the format from the first non-blank character: `<` is TREC, `{` JSON
    /// lines, anything else TSV.
    pub fn detect(data: &str) -> Format {
        match data.trim_start().chars().next() {
            Some('<') => Format::Trec,
            Some('{') => Format::JsonLines,
            _ => Format::Tsv,
        }
    }
}

/// Refuses a folder where a file is expected (reading one fails obscurely, or as a
/// parse error at line 1).
pub(crate) fn not_a_folder(path: &Path, what: &str) -> Result<()> {
    if path.is_dir() {
        return Err(Error::Io {
            path: path.to_path_buf(),
            cause: std::io::Error::other(format!("is a folder; give the {what} file")),
        });
    }
    Ok(())
}

/// The message for a first content line that fits none of the formats.
pub(crate) fn unknown_format(what: &str, tsv: &str) -> String {
    format!(
        "cannot tell the format of this {what} file: the first line is not a TREC record \
         (`<`), a JSON object (`{{`) or `{tsv}` (no tab found)"
    )
}

pub(crate) fn read_file(path: &Path) -> Result<String> {
    not_a_folder(path, "topics")?;
    let bytes = std::fs::read(path).map_err(|cause| Error::Io {
        path: path.to_path_buf(),
        cause,
    })?;
    String::from_utf8(bytes).map_err(|e| {
        let valid = &e.as_bytes()[..e.utf8_error().valid_up_to()];
        Error::Data {
            path: path.to_path_buf(),
            line: 1 + valid.iter().filter(|&&b| b == b'\n').count() as u64,
            message: "not valid UTF-8; convert the file to UTF-8 (iconv -t UTF-8)".into(),
        }
    })
}

/// Whitespace runs collapsed to one space, ends trimmed.
pub(crate) fn squash(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The content of the first `<tag>` element in `block` (up to its closing tag, or the
/// next tag when the element is not closed, as in classic TREC topics), or `None`.
/// Tag names match case-insensitively.
pub(crate) fn element<'a>(block: &'a str, tag: &str) -> Option<&'a str> {
    let lower = block.to_ascii_lowercase();
    let open = format!("<{}>", tag.to_ascii_lowercase());
    let start = lower.find(&open)? + open.len();
    let rest = &lower[start..];
    let end = rest.find('<').unwrap_or(rest.len());
    Some(&block[start..start + end])
}

/// A string or number JSON field as text.
pub(crate) fn json_id(v: &serde_json::Value) -> Option<String> {
    match v {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}
