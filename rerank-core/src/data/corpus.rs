//! A document collection: BEIR JSON lines, TSV or TREC `<DOC>` files.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use super::{element, json_id, not_a_folder, squash, unknown_format, Format};
use crate::error::{Error, Result};
use crate::types::Document;

/// Documents by id, in file order.
///
/// ```
/// use rerank_core::data::Corpus;
/// let jsonl = r#"{"_id": "d1", "title": "Sun", "text": "The sun emits a wind."}
/// {"_id": "d2", "text": "Bees make honey."}"#;
/// let corpus = Corpus::parse(jsonl.as_bytes(), "corpus.jsonl".as_ref())?;
/// assert_eq!(corpus.get("d1").unwrap().title.as_deref(), Some("Sun"));
/// assert_eq!(corpus.len(), 2);
/// # Ok::<(), rerank_core::Error>(())
/// ```
#[derive(Clone, Debug, Default)]
pub struct Corpus {
    docs: Vec<Document>,
    by_id: HashMap<String, usize>,
}

impl Corpus {
    /// Documents from a list (a repeated id keeps its first document).
    pub fn from_docs(docs: impl IntoIterator<Item = Document>) -> Corpus {
        let mut c = Corpus::default();
        for d in docs {
            c.insert(d);
        }
        c
    }

    fn insert(&mut self, d: Document) -> Option<usize> {
        if let Some(&i) = self.by_id.get(&d.id) {
            return Some(i);
        }
        self.by_id.insert(d.id.clone(), self.docs.len());
        self.docs.push(d);
        None
    }

    /// Reads a corpus file; the format is detected from its first characters.
    pub fn read(path: impl AsRef<Path>) -> Result<Corpus> {
        let path = path.as_ref();
        not_a_folder(path, "corpus")?;
        let file = std::fs::File::open(path).map_err(|cause| Error::Io {
            path: path.to_path_buf(),
            cause,
        })?;
        Corpus::parse(file, path)
    }

    /// Reads a corpus from any reader; `source` names it in errors.
    pub fn parse(reader: impl Read, source: &Path) -> Result<Corpus> {
        let bad = |line: u64, message: String| Error::Data {
            path: source.to_path_buf(),
            line,
            message,
        };
        let mut reader = BufReader::with_capacity(1 << 16, reader);
        let head = reader.fill_buf().map_err(|e| bad(1, e.to_string()))?;
        let format = Format::detect(&String::from_utf8_lossy(&head[..head.len().min(4096)]));
        let mut corpus = Corpus::default();
        let mut first_line: HashMap<usize, u64> = HashMap::new();
        let mut add = |corpus: &mut Corpus, d: Document, line: u64| -> Result<()> {
            let id = d.id.clone();
            match corpus.insert(d) {
                Some(i) => Err(bad(
                    line,
                    format!(
                        "document '{id}' appears twice (first at line {}); document ids must be unique",
                        first_line.get(&i).copied().unwrap_or(0)
                    ),
                )),
                None => {
                    first_line.insert(corpus.docs.len() - 1, line);
                    Ok(())
                }
            }
        };
        let mut trec: Option<(String, u64)> = None;
        let mut buf = String::new();
        let mut line = 0u64;
        loop {
            buf.clear();
            let n = read_line(&mut reader, &mut buf).map_err(|e| bad(line + 1, e))?;
            if n == 0 {
                break;
            }
            line += 1;
            let l = buf.trim_end_matches(['\n', '\r']);
            match format {
                Format::JsonLines => {
                    if l.trim().is_empty() {
                        continue;
                    }
                    let d = json_doc(l).map_err(|m| bad(line, m))?;
                    add(&mut corpus, d, line)?;
                }
                Format::Tsv => {
                    if l.trim().is_empty() {
                        continue;
                    }
                    let (id, text) = l.split_once('\t').ok_or_else(|| {
                        let message = if corpus.docs.is_empty() {
                            unknown_format("corpus", "doc id<TAB>text")
                        } else {
                            "expected `doc id<TAB>text` (no tab found)".into()
                        };
                        bad(line, message)
                    })?;
                    if line == 1 && matches!(id.trim(), "id" | "_id" | "docid" | "doc_id" | "pid") {
                        continue; // a header
                    }
                    add(&mut corpus, Document::new(id.trim(), squash(text)), line)?;
                }
                Format::Trec => {
                    let upper = l.to_ascii_uppercase();
                    if let Some((record, start)) = trec.as_mut() {
                        if let Some(end) = upper.find("</DOC>") {
                            record.push_str(&l[..end]);
                            let (record, start) = trec.take().expect("open record");
                            let d = trec_doc(&record).map_err(|m| bad(start, m))?;
                            add(&mut corpus, d, start)?;
                        } else {
                            if upper.contains("<DOC>") {
                                return Err(bad(
                                    line,
                                    format!("<DOC> opened at line {start} is not closed by </DOC> before the next <DOC>"),
                                ));
                            }
                            record.push_str(l);
                            record.push('\n');
                        }
                    } else if let Some(at) = upper.find("<DOC>") {
                        let rest = &l[at + 5..];
                        if let Some(end) = rest.to_ascii_uppercase().find("</DOC>") {
                            let d = trec_doc(&rest[..end]).map_err(|m| bad(line, m))?;
                            add(&mut corpus, d, line)?;
                        } else {
                            trec = Some((format!("{rest}\n"), line));
                        }
                    } else if !l.trim().is_empty() {
                        return Err(bad(line, "text outside a <DOC> … </DOC> record".into()));
                    }
                }
            }
        }
        if let Some((_, start)) = trec {
            return Err(bad(start, "<DOC> is never closed by </DOC>".into()));
        }
        if corpus.docs.is_empty() {
            return Err(bad(
                1,
                "no documents found (BEIR JSON lines, TSV `id<TAB>text` or TREC <DOC> expected)"
                    .into(),
            ));
        }
        Ok(corpus)
    }

    /// The document with this id.
    pub fn get(&self, id: &str) -> Option<&Document> {
        self.by_id.get(id).map(|&i| &self.docs[i])
    }

    /// Number of documents.
    pub fn len(&self) -> usize {
        self.docs.len()
    }

    /// Whether there are no documents.
    pub fn is_empty(&self) -> bool {
        self.docs.is_empty()
    }

    /// Documents in file order.
    pub fn iter(&self) -> std::slice::Iter<'_, Document> {
        self.docs.iter()
    }
}

impl<'a> IntoIterator for &'a Corpus {
    type Item = &'a Document;
    type IntoIter = std::slice::Iter<'a, Document>;
    fn into_iter(self) -> Self::IntoIter {
        self.docs.iter()
    }
}

/// One line, as UTF-8 (an error names the problem).
fn read_line(reader: &mut impl BufRead, buf: &mut String) -> std::result::Result<usize, String> {
    let mut bytes = Vec::new();
    let n = reader
        .read_until(b'\n', &mut bytes)
        .map_err(|e| e.to_string())?;
    let s = std::str::from_utf8(&bytes)
        .map_err(|_| "not valid UTF-8; convert the file to UTF-8 (iconv -t UTF-8)".to_string())?;
    buf.push_str(s);
    Ok(n)
}

fn json_doc(line: &str) -> std::result::Result<Document, String> {
    let v: serde_json::Value = serde_json::from_str(line).map_err(|e| {
        format!("not valid JSON ({e}); each line must be an object like {{\"_id\": \"d1\", \"title\": \"…\", \"text\": \"…\"}}")
    })?;
    let id = ["_id", "id", "docid", "doc_id"]
        .iter()
        .find_map(|k| v.get(k).and_then(json_id))
        .ok_or("no `_id` (or `id`, `docid`) field")?;
    let text = ["text", "contents", "body"]
        .iter()
        .find_map(|k| v.get(k).and_then(|t| t.as_str()))
        .map(squash)
        .ok_or("no `text` (or `contents`) string field")?;
    let mut d = Document::new(id, text);
    if let Some(t) = v.get("title").and_then(|t| t.as_str()) {
        let t = squash(t);
        if !t.is_empty() {
            d.title = Some(t);
        }
    }
    Ok(d)
}

/// A TREC record's content (between `<DOC>` and `</DOC>`): the `<DOCNO>`, an optional
/// `<TITLE>` or `<HEADLINE>`, and the rest with tags removed as text.
fn trec_doc(record: &str) -> std::result::Result<Document, String> {
    let id = element(record, "docno")
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .ok_or("a <DOC> without <DOCNO>")?
        .to_string();
    let title = ["title", "headline"]
        .iter()
        .find_map(|t| element(record, t))
        .map(squash)
        .filter(|t| !t.is_empty());
    // Drop the DOCNO and title elements, then every remaining tag.
    let mut body = record.to_string();
    for skip in ["docno", "title", "headline"] {
        if let Some((start, end)) = element_span(&body, skip) {
            body.replace_range(start..end, " ");
        }
    }
    let mut out = String::with_capacity(body.len());
    let mut in_tag = false;
    for ch in body.chars() {
        match ch {
            '<' => in_tag = true,
            '>' if in_tag => {
                in_tag = false;
                out.push(' ');
            }
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    let mut d = Document::new(id, squash(&out));
    d.title = title;
    Ok(d)
}

/// Byte span of `<tag>…</tag>` (the whole element) in `s`, case-insensitive.
fn element_span(s: &str, tag: &str) -> Option<(usize, usize)> {
    let lower = s.to_ascii_lowercase();
    let start = lower.find(&format!("<{tag}>"))?;
    let close = format!("</{tag}>");
    let end = lower[start..].find(&close)? + start + close.len();
    Some((start, end))
}
