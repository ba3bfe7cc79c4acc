//! Topics (queries): TREC `<top>` files, TSV and JSON lines.

use std::collections::HashMap;
use std::path::Path;

use super::{element, json_id, read_file, squash, unknown_format, Format};
use crate::error::{Error, Result};
use crate::types::Query;

/// Reads a topics file (format detected from its content). Query text is the
/// `<title>` of TREC topics (a leading `Topic:` dropped), whitespace collapsed.
///
/// Fails, naming the file and line, on a record without id or text (an empty topic
/// would give the model nothing to rank for) and on a repeated id.
pub fn read_topics(path: impl AsRef<Path>) -> Result<Vec<Query>> {
    let path = path.as_ref();
    parse_topics(&read_file(path)?, path)
}

/// Parses topics from a string; `source` names it in errors.
///
/// ```
/// use rerank_core::data::parse_topics;
/// let trec = "<top>\n<num> Number: 401\n<title> Topic: foreign minorities, Germany\n</top>";
/// let q = parse_topics(trec, "topics.401".as_ref())?;
/// assert_eq!((q[0].id.as_str(), q[0].text.as_str()), ("401", "foreign minorities, Germany"));
/// let tsv = parse_topics("1\tsolar wind\n2\tbee dances\n", "q.tsv".as_ref())?;
/// assert_eq!(tsv[1].text, "bee dances");
/// # Ok::<(), rerank_core::Error>(())
/// ```
pub fn parse_topics(data: &str, source: &Path) -> Result<Vec<Query>> {
    let bad = |line: u64, message: String| Error::Data {
        path: source.to_path_buf(),
        line,
        message,
    };
    let mut out: Vec<(Query, u64)> = Vec::new();
    match Format::detect(data) {
        Format::Trec => {
            let lower = data.to_ascii_lowercase();
            let mut from = 0;
            while let Some(at) = lower[from..].find("<top>") {
                let start = from + at;
                let line = line_of(data, start);
                let end = lower[start..]
                    .find("</top>")
                    .map(|e| start + e)
                    .ok_or_else(|| bad(line, "<top> is never closed by </top>".into()))?;
                let block = &data[start..end];
                let num = element(block, "num")
                    .map(|n| squash(n.trim().trim_start_matches("Number:")))
                    .filter(|n| !n.is_empty())
                    .ok_or_else(|| bad(line, "topic without <num>".into()))?;
                let title = element(block, "title").map(|t| {
                    let t = t.trim_start();
                    squash(t.strip_prefix("Topic:").unwrap_or(t))
                });
                let text = title.unwrap_or_default();
                out.push((Query::new(num, text), line));
                from = end;
            }
        }
        Format::Tsv => {
            for (i, l) in data.lines().enumerate() {
                let line = i as u64 + 1;
                if l.trim().is_empty() {
                    continue;
                }
                let (id, text) = l.split_once('\t').ok_or_else(|| {
                    let message = if out.is_empty() {
                        unknown_format("topics", "query id<TAB>query text")
                    } else {
                        "expected `query id<TAB>query text` (no tab found)".into()
                    };
                    bad(line, message)
                })?;
                out.push((Query::new(id.trim(), squash(text)), line));
            }
        }
        Format::JsonLines => {
            for (i, l) in data.lines().enumerate() {
                let line = i as u64 + 1;
                if l.trim().is_empty() {
                    continue;
                }
                let v: serde_json::Value = serde_json::from_str(l).map_err(|e| {
                    bad(line, format!("not valid JSON ({e}); each line must be an object like {{\"_id\": \"1\", \"text\": \"…\"}}"))
                })?;
                let id = ["_id", "id", "qid", "query_id"]
                    .iter()
                    .find_map(|k| v.get(k).and_then(json_id))
                    .ok_or_else(|| bad(line, "no `_id` (or `id`, `qid`) field".into()))?;
                let text = ["text", "query", "title"]
                    .iter()
                    .find_map(|k| v.get(k).and_then(|t| t.as_str()))
                    .map(squash)
                    .unwrap_or_default();
                out.push((Query::new(id, text), line));
            }
        }
    }
    let mut seen: HashMap<&str, u64> = HashMap::new();
    for (q, line) in &out {
        if q.text.is_empty() {
            return Err(bad(
                *line,
                format!("topic '{}' has no text; give it a title or remove it", q.id),
            ));
        }
        if let Some(first) = seen.insert(&q.id, *line) {
            return Err(bad(
                *line,
                format!("topic '{}' appears twice (first at line {first})", q.id),
            ));
        }
    }
    if out.is_empty() {
        return Err(bad(
            1,
            "no topics found (TREC <top>, TSV `qid<TAB>text` or JSON lines expected)".into(),
        ));
    }
    Ok(out.into_iter().map(|(q, _)| q).collect())
}

/// Line (from 1) of byte offset `at`.
pub(crate) fn line_of(data: &str, at: usize) -> u64 {
    1 + data.as_bytes()[..at]
        .iter()
        .filter(|&&b| b == b'\n')
        .count() as u64
}
