//! Relevance judgements (TREC qrels): reading, building in memory, looking up.

use std::io::Read;
use std::path::{Path, PathBuf};

use rustc_hash::FxHashMap;

use crate::arena::{hash_bytes, id_prefix, ArenaIndex, StrArena};
use crate::blocks;
use crate::error::{Error, Result};
use crate::lines::{self, Fields};

/// The judgements of one query: document id → relevance.
///
/// Relevance is an integer: `0` non-relevant, `1`, `2`, … increasingly relevant, and a
/// negative value for a document that is in the pool but was not judged (trec_eval's
/// convention, used by infAP).
#[derive(Clone, Debug)]
pub struct QueryJudgements {
    qid: String,
    /// Documents and their relevance in the order they were read.
    docnos: StrArena,
    rels: Vec<i32>,
    /// Positions in document-id order, sorted when first asked for (evaluation never
    /// asks).
    order: std::sync::OnceLock<Vec<u32>>,
    index: ArenaIndex,
    /// `rel_levels[r]` = number of documents judged with relevance `r >= 0`.
    rel_levels: Vec<u64>,
}

impl QueryJudgements {
    /// The query id.
    pub fn qid(&self) -> &str {
        &self.qid
    }

    /// Number of judged documents (all relevance values, negative ones included).
    pub fn len(&self) -> usize {
        self.rels.len()
    }

    /// True when the query has no judgement at all.
    pub fn is_empty(&self) -> bool {
        self.rels.is_empty()
    }

    /// Relevance of `docno`, if judged.
    pub fn relevance(&self, docno: &str) -> Option<i32> {
        self.relevance_hashed(hash_bytes(docno.as_bytes()), docno.as_bytes())
    }

    #[inline]
    pub(crate) fn relevance_hashed(&self, hash: u64, docno: &[u8]) -> Option<i32> {
        self.index
            .find(&self.docnos, hash, docno)
            .map(|i| self.rels[i])
    }

    /// The judgements in document-id order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, i32)> + '_ {
        self.order
            .get_or_init(|| sorted_order(&self.docnos, &[]))
            .iter()
            .map(move |&i| (self.docnos.get(i as usize), self.rels[i as usize]))
    }

    /// Number of documents with relevance at least `level`.
    pub fn num_relevant(&self, level: i32) -> u64 {
        self.rel_levels
            .iter()
            .enumerate()
            .filter(|&(r, _)| r as i64 >= level as i64)
            .map(|(_, &n)| n)
            .sum()
    }

    /// Counts per relevance level `0..=max` (negative levels are not counted).
    pub fn rel_levels(&self) -> &[u64] {
        &self.rel_levels
    }

    /// The judgements of a query, with the index of its documents (each once).
    fn new(qid: String, docnos: StrArena, rels: Vec<i32>, index: ArenaIndex) -> Self {
        let max = rels.iter().copied().filter(|&r| r >= 0).max();
        let mut rel_levels = vec![0u64; max.map_or(0, |m| m as usize + 1)];
        for &r in &rels {
            if r >= 0 {
                rel_levels[r as usize] += 1;
            }
        }
        QueryJudgements {
            qid,
            docnos,
            rels,
            order: std::sync::OnceLock::new(),
            index,
            rel_levels,
        }
    }
}

/// Relevance judgements for a set of queries, in query-id order (byte order, as
/// trec_eval sorts them).
///
/// ```
/// use rerank_eval::Qrels;
/// let qrels = Qrels::from_judgements([("q1", "d1", 1), ("q1", "d2", 0), ("q2", "d3", 2)])?;
/// assert_eq!(qrels.len(), 2);
/// assert_eq!(qrels.get("q1").unwrap().relevance("d1"), Some(1));
/// # Ok::<(), rerank_eval::Error>(())
/// ```
#[derive(Clone, Debug, Default)]
pub struct Qrels {
    queries: Vec<QueryJudgements>,
    by_qid: FxHashMap<String, usize>,
}

impl Qrels {
    /// Reads a qrels file: lines `qid iter docno rel`, separated by any white space.
    ///
    /// As in trec_eval, lines starting with `#` are comments and the `iter` column is
    /// ignored. Blank lines are skipped (trec_eval refuses them). A line with fewer or
    /// more than four fields, a relevance that is not an integer, a document judged
    /// twice for one query, a binary file or an empty file is an error naming the file
    /// and line.
    ///
    /// A large file is read in parts at line boundaries, one per core, each in blocks
    /// (memory: the judgements, not the file).
    pub fn from_path(path: impl AsRef<Path>) -> Result<Qrels> {
        let path = path.as_ref();
        let len = std::fs::metadata(path)
            .map_err(|cause| Error::Io {
                path: path.to_path_buf(),
                cause,
            })?
            .len();
        let cuts = blocks::cut_at_lines(path, blocks::parts_for(len))?;
        let parts: Vec<Result<(QrelsBuilder, u64)>> =
            blocks::on_threads(cuts.windows(2).collect(), |w| {
                let mut builder = QrelsBuilder::default();
                let mut line_no = 0u64;
                blocks::for_each_block(path, w[0], w[1], |data| {
                    parse_block(data, path, &mut line_no, &mut builder)?;
                    Ok(true)
                })?;
                Ok((builder, line_no))
            });
        // Each part counted its lines from 1: shift them by the lines before it.
        let mut builder = QrelsBuilder::default();
        let mut offset = 0u64;
        for part in parts {
            match part {
                Ok((b, lines)) => {
                    builder.absorb(b, offset);
                    offset += lines;
                }
                Err(e) => return Err(blocks::shift_line(e, offset)),
            }
        }
        builder.build_file(path, cuts.len() - 1)
    }

    /// Reads qrels from any reader; `source` names it in error messages.
    pub fn from_reader(reader: impl Read, source: impl Into<PathBuf>) -> Result<Qrels> {
        let source = source.into();
        let mut builder = QrelsBuilder::default();
        let mut line_no = 0u64;
        blocks::for_each_block_of(reader, &source, &mut |data| {
            parse_block(data, &source, &mut line_no, &mut builder)?;
            Ok(true)
        })?;
        builder.build_file(&source, 1)
    }

    /// Parses qrels text already in memory.
    pub fn parse(data: &[u8], source: &Path) -> Result<Qrels> {
        let mut builder = QrelsBuilder::default();
        let mut line_no = 0u64;
        parse_block(data, source, &mut line_no, &mut builder)?;
        builder.build_file(source, 1)
    }

    /// Builds qrels from `(qid, docno, relevance)` triples.
    pub fn from_judgements<Q, D>(judgements: impl IntoIterator<Item = (Q, D, i32)>) -> Result<Qrels>
    where
        Q: AsRef<str>,
        D: AsRef<str>,
    {
        let mut b = QrelsBuilder::default();
        for (q, d, r) in judgements {
            b.push(q.as_ref(), d.as_ref(), r);
        }
        b.build()
    }

    /// A builder for qrels assembled from Rust values.
    pub fn builder() -> QrelsBuilder {
        QrelsBuilder::default()
    }

    /// Number of queries.
    pub fn len(&self) -> usize {
        self.queries.len()
    }

    /// True when there is no query.
    pub fn is_empty(&self) -> bool {
        self.queries.is_empty()
    }

    /// The judgements of one query.
    pub fn get(&self, qid: &str) -> Option<&QueryJudgements> {
        self.by_qid.get(qid).map(|&i| &self.queries[i])
    }

    /// All queries, in query-id order.
    pub fn iter(&self) -> std::slice::Iter<'_, QueryJudgements> {
        self.queries.iter()
    }

    pub(crate) fn as_slice(&self) -> &[QueryJudgements] {
        &self.queries
    }

    /// Query ids in order.
    pub fn qids(&self) -> impl Iterator<Item = &str> + '_ {
        self.queries.iter().map(|q| q.qid())
    }

    /// Writes the judgements in TREC format (`qid 0 docno rel`).
    pub fn write_trec(&self, mut w: impl std::io::Write) -> std::io::Result<()> {
        for q in &self.queries {
            for (d, r) in q.iter() {
                writeln!(w, "{} 0 {} {}", q.qid, d, r)?;
            }
        }
        Ok(())
    }
}

/// Parses whole qrels lines into `builder`; `line_no` is the number of the line before
/// `data` and is advanced past it.
fn parse_block(
    data: &[u8],
    source: &Path,
    line_no: &mut u64,
    builder: &mut QrelsBuilder,
) -> Result<()> {
    lines::check_not_binary(data, source, *line_no)?;
    // Checked as UTF-8 once for the whole block; a block that is not goes field by
    // field, where the error names the line and the field.
    let text = std::str::from_utf8(data).ok();
    let mut start = 0;
    while start < data.len() {
        let (end, fields) = lines::line_at(data, start);
        let line = fields.line();
        *line_no += 1;
        // trec_eval only treats '#' in the first column as a comment in qrels.
        if line.first() != Some(&b'#') && !line.iter().all(|&b| lines::is_space(b)) {
            let fast = text.and_then(|text| {
                let mut f =
                    lines::StrFields::from_ranges(lines::ascii_cut(text, start, end), fields);
                match (f.next(), f.next(), f.next(), f.next(), f.next()) {
                    (Some(q), Some(_), Some(d), Some(r), None) => Some((q, d, r.as_bytes())),
                    _ => None,
                }
            });
            let (qid, docno, rel) = match fast {
                Some(fields) => fields,
                None => parse_line_slowly(line, source, *line_no)?,
            };
            let rel = lines::parse_rel(rel, source, *line_no)?;
            builder.push_at(qid, docno, rel, *line_no);
        }
        start = end + 1;
    }
    Ok(())
}

/// The fields of a qrels line that is not plain UTF-8 text with four fields: they, or
/// the error that says what is wrong with the line.
#[cold]
fn parse_line_slowly<'a>(
    line: &'a [u8],
    source: &Path,
    line_no: u64,
) -> Result<(&'a str, &'a str, &'a [u8])> {
    let mut f = Fields::new(line);
    let (qid, _iter, docno, rel) = match (f.next(), f.next(), f.next(), f.next(), f.next()) {
        (Some(q), Some(i), Some(d), Some(r), None) => (q, i, d, r),
        (_, _, _, _, extra) => {
            let n = Fields::new(line).count();
            return Err(Error::Parse {
                path: source.to_path_buf(),
                line: line_no,
                message: format!(
                    "expected 4 fields `qid iter docno rel`, found {n}{}",
                    if extra.is_some() {
                        " (is this a run file?)"
                    } else {
                        ""
                    }
                ),
            });
        }
    };
    let qid = lines::field_str(qid, source, line_no, "query id")?;
    let docno = lines::field_str(docno, source, line_no, "document id")?;
    Ok((qid, docno, rel))
}

impl<'a> IntoIterator for &'a Qrels {
    type Item = &'a QueryJudgements;
    type IntoIter = std::slice::Iter<'a, QueryJudgements>;
    fn into_iter(self) -> Self::IntoIter {
        self.queries.iter()
    }
}

#[derive(Default)]
struct PendingQuery {
    docnos: StrArena,
    rels: Vec<i32>,
    lines: Vec<u64>,
}

/// Collects judgements one at a time; [`QrelsBuilder::build`] checks and indexes them.
#[derive(Default)]
pub struct QrelsBuilder {
    pending: Vec<(String, PendingQuery)>,
    by_qid: FxHashMap<String, usize>,
    last: Option<usize>,
}

impl QrelsBuilder {
    /// Adds one judgement.
    pub fn push(&mut self, qid: &str, docno: &str, rel: i32) -> &mut Self {
        self.push_at(qid, docno, rel, 0);
        self
    }

    fn push_at(&mut self, qid: &str, docno: &str, rel: i32, line: u64) {
        let slot = match self.last {
            Some(i) if self.pending[i].0 == qid => i,
            _ => match self.by_qid.get(qid) {
                Some(&i) => i,
                None => {
                    self.pending.push((qid.to_owned(), PendingQuery::default()));
                    self.by_qid.insert(qid.to_owned(), self.pending.len() - 1);
                    self.pending.len() - 1
                }
            },
        };
        self.last = Some(slot);
        let p = &mut self.pending[slot].1;
        p.docnos.push(docno);
        p.rels.push(rel);
        p.lines.push(line);
    }

    fn is_empty(&self) -> bool {
        self.pending.is_empty()
    }

    /// Checks (no document judged twice for a query) and indexes the judgements.
    pub fn build(self) -> Result<Qrels> {
        self.build_in_parts(Path::new("<memory>"), 1)
    }

    /// Appends `other`'s judgements after these (the next part of a file), its line
    /// numbers moved `line_offset` down.
    fn absorb(&mut self, other: QrelsBuilder, line_offset: u64) {
        for (qid, mut p) in other.pending {
            p.lines.iter_mut().for_each(|l| *l += line_offset);
            match self.by_qid.get(&qid) {
                Some(&i) => {
                    let q = &mut self.pending[i].1;
                    for j in 0..p.rels.len() {
                        q.docnos.push(p.docnos.get(j));
                    }
                    q.rels.extend_from_slice(&p.rels);
                    q.lines.extend_from_slice(&p.lines);
                }
                None => {
                    self.by_qid.insert(qid.clone(), self.pending.len());
                    self.pending.push((qid, p));
                }
            }
        }
        self.last = None;
    }

    /// [`QrelsBuilder::build_in_parts`] for the lines of a file (or text): a file
    /// without a judgement is an error.
    fn build_file(self, source: &Path, parts: usize) -> Result<Qrels> {
        if self.is_empty() {
            return Err(Error::Empty {
                path: source.to_path_buf(),
                what: "qrels",
            });
        }
        self.build_in_parts(source, parts)
    }

    /// Sorts the queries, then checks and indexes them in `parts` groups at once.
    fn build_in_parts(self, source: &Path, parts: usize) -> Result<Qrels> {
        let mut pending = self.pending;
        pending.sort_unstable_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
        let per = pending.len().div_ceil(parts.max(1)).max(1);
        let mut groups = Vec::new();
        while pending.len() > per {
            let rest = pending.split_off(per);
            groups.push(std::mem::replace(&mut pending, rest));
        }
        groups.push(pending);
        let mut queries = Vec::new();
        for group in blocks::on_threads(groups, |g| build_group(g, source)) {
            queries.extend(group?);
        }
        let by_qid = queries
            .iter()
            .enumerate()
            .map(|(i, q)| (q.qid.clone(), i))
            .collect();
        Ok(Qrels { queries, by_qid })
    }
}

/// Positions of `docnos` in id order, then line order (`lines`, if given), keyed by
/// [`id_prefix`]; equal keys compare the whole ids.
fn sorted_order(docnos: &StrArena, lines: &[u64]) -> Vec<u32> {
    let mut keys: Vec<(u64, u32)> = (0..docnos.len())
        .map(|i| (id_prefix(docnos.get(i).as_bytes()), i as u32))
        .collect();
    keys.sort_unstable_by(|a, b| {
        a.0.cmp(&b.0).then_with(|| {
            let (a, b) = (a.1 as usize, b.1 as usize);
            docnos
                .get(a)
                .as_bytes()
                .cmp(docnos.get(b).as_bytes())
                .then_with(|| lines.get(a).cmp(&lines.get(b)))
        })
    });
    keys.into_iter().map(|k| k.1).collect()
}

/// Checks (no document judged twice) and indexes the judgements of queries.
///
/// Duplicates are found while indexing; only then are a query's documents sorted, so
/// that the error names the same one as always: the first duplicated id in id order,
/// at its later line.
fn build_group(
    pending: Vec<(String, PendingQuery)>,
    source: &Path,
) -> Result<Vec<QueryJudgements>> {
    let mut queries = Vec::with_capacity(pending.len());
    for (qid, p) in pending {
        let PendingQuery {
            mut docnos,
            mut rels,
            lines,
        } = p;
        docnos.shrink_to_fit();
        rels.shrink_to_fit();
        if let Some(index) = ArenaIndex::build_unique(&docnos) {
            queries.push(QueryJudgements::new(qid, docnos, rels, index));
            continue;
        }
        let order = sorted_order(&docnos, &lines);
        let (a, b) = order
            .windows(2)
            .map(|w| (w[0] as usize, w[1] as usize))
            .find(|&(a, b)| docnos.get(a) == docnos.get(b))
            .expect("the index found a duplicate");
        debug_assert!(lines.get(a) <= lines.get(b));
        let line = lines[b];
        return Err(Error::DuplicateDocument {
            path: source.to_path_buf(),
            qid,
            docno: docnos.get(b).to_owned(),
            line: (line > 0).then_some(line),
        });
    }
    Ok(queries)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<Qrels> {
        Qrels::parse(s.as_bytes(), Path::new("q.txt"))
    }

    #[test]
    fn reads_and_sorts() {
        let q = parse("# c\n2 0 b 1\n10 0 a 0\n2 0 a 2\n\n  2\t0  c   -1  \r\n").unwrap();
        assert_eq!(q.qids().collect::<Vec<_>>(), ["10", "2"]);
        let j = q.get("2").unwrap();
        assert_eq!(
            j.iter().collect::<Vec<_>>(),
            [("a", 2), ("b", 1), ("c", -1)]
        );
        assert_eq!(j.rel_levels(), &[0, 1, 1]);
        assert_eq!(j.num_relevant(1), 2);
        assert_eq!(j.relevance("zz"), None);
    }

    #[test]
    fn errors_name_file_and_line() {
        let e = parse("1 0 a 1\n1 0 b\n").unwrap_err().to_string();
        assert!(
            e.contains("q.txt:2:") && e.contains("expected 4 fields"),
            "{e}"
        );
        let e = parse("1 0 a 1\n1 0 b x\n").unwrap_err().to_string();
        assert!(
            e.contains("q.txt:2:") && e.contains("not an integer"),
            "{e}"
        );
        let e = parse("1 0 a 1\n1 0 a 0\n").unwrap_err().to_string();
        assert!(e.contains("appears twice") && e.contains("line 2"), "{e}");
        let e = parse("").unwrap_err().to_string();
        assert!(e.contains("no qrels lines"), "{e}");
        let e = parse("1 0 a\0 1\n").unwrap_err().to_string();
        assert!(e.contains("binary"), "{e}");
        let e = parse("1 Q0 a 1 2.0 run\n").unwrap_err().to_string();
        assert!(e.contains("run file"), "{e}");
    }
}
