//! Relevance judgements (TREC qrels): reading, building in memory, looking up.

use std::io::Read;
use std::path::{Path, PathBuf};

use rustc_hash::FxHashMap;

use crate::arena::{hash_bytes, ArenaIndex, StrArena};
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
    docnos: StrArena,
    rels: Vec<i32>,
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
        (0..self.rels.len()).map(move |i| (self.docnos.get(i), self.rels[i]))
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

    fn from_sorted(qid: String, docnos: StrArena, rels: Vec<i32>) -> Self {
        let index = ArenaIndex::build(&docnos);
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
    pub fn from_path(path: impl AsRef<Path>) -> Result<Qrels> {
        let path = path.as_ref();
        let data = std::fs::read(path).map_err(|cause| Error::Io {
            path: path.to_path_buf(),
            cause,
        })?;
        Qrels::parse(&data, path)
    }

    /// Reads qrels from any reader; `source` names it in error messages.
    pub fn from_reader(mut reader: impl Read, source: impl Into<PathBuf>) -> Result<Qrels> {
        let source = source.into();
        let mut data = Vec::new();
        reader.read_to_end(&mut data).map_err(|e| Error::Io {
            path: source.clone(),
            cause: e,
        })?;
        Qrels::parse(&data, &source)
    }

    /// Parses qrels text already in memory.
    pub fn parse(data: &[u8], source: &Path) -> Result<Qrels> {
        lines::check_not_binary(data, source, 0)?;
        let mut builder = QrelsBuilder::default();
        let mut line_no = 0u64;
        for line in data.split(|&b| b == b'\n') {
            line_no += 1;
            // trec_eval only treats '#' in the first column as a comment in qrels.
            if line.first() == Some(&b'#') || line.iter().all(|&b| lines::is_space(b)) {
                continue;
            }
            let mut f = Fields::new(line);
            let (qid, _iter, docno, rel) = match (f.next(), f.next(), f.next(), f.next(), f.next())
            {
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
            let rel = lines::parse_rel(rel, source, line_no)?;
            builder.push_at(qid, docno, rel, line_no);
        }
        if builder.is_empty() {
            return Err(Error::Empty {
                path: source.to_path_buf(),
                what: "qrels",
            });
        }
        builder.build_from(source)
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
        self.build_from(Path::new("<memory>"))
    }

    fn build_from(self, source: &Path) -> Result<Qrels> {
        let mut pending = self.pending;
        pending.sort_unstable_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
        let mut queries = Vec::with_capacity(pending.len());
        for (qid, p) in pending {
            let mut order: Vec<u32> = (0..p.rels.len() as u32).collect();
            order.sort_unstable_by(|&a, &b| {
                p.docnos
                    .get(a as usize)
                    .as_bytes()
                    .cmp(p.docnos.get(b as usize).as_bytes())
                    .then(p.lines[a as usize].cmp(&p.lines[b as usize]))
            });
            for w in order.windows(2) {
                let (a, b) = (w[0] as usize, w[1] as usize);
                if p.docnos.get(a) == p.docnos.get(b) {
                    let line = p.lines[b];
                    return Err(Error::DuplicateDocument {
                        path: source.to_path_buf(),
                        qid,
                        docno: p.docnos.get(b).to_owned(),
                        line: (line > 0).then_some(line),
                    });
                }
            }
            let mut docnos = StrArena::with_capacity(order.len(), p.docnos.heap_bytes());
            let mut rels = Vec::with_capacity(order.len());
            for &i in &order {
                docnos.push(p.docnos.get(i as usize));
                rels.push(p.rels[i as usize]);
            }
            queries.push(QueryJudgements::from_sorted(qid, docnos, rels));
        }
        let by_qid = queries
            .iter()
            .enumerate()
            .map(|(i, q)| (q.qid.clone(), i))
            .collect();
        Ok(Qrels { queries, by_qid })
    }
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
