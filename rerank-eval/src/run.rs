//! Retrieval runs (TREC results files): reading, building in memory, writing.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use rustc_hash::FxHashMap;

use crate::arena::StrArena;
use crate::error::{Error, Result};
use crate::lines::{self, Fields};

/// The retrieved documents of one query, each with its score, in the order they were
/// given (ranks are derived from the scores at evaluation time, as trec_eval does).
#[derive(Clone, Debug, Default)]
pub struct QueryResults {
    qid: String,
    docnos: StrArena,
    scores: Vec<f64>,
    lines: Vec<u64>,
}

impl QueryResults {
    /// An empty result list for `qid`.
    pub fn new(qid: impl Into<String>) -> Self {
        QueryResults {
            qid: qid.into(),
            ..Default::default()
        }
    }

    /// The query id.
    pub fn qid(&self) -> &str {
        &self.qid
    }

    /// Number of retrieved documents.
    pub fn len(&self) -> usize {
        self.scores.len()
    }

    /// True when nothing was retrieved.
    pub fn is_empty(&self) -> bool {
        self.scores.is_empty()
    }

    /// Adds a document. Fails on a NaN score, which has no place in a ranking.
    pub fn push(&mut self, docno: &str, score: f64) -> Result<()> {
        if score.is_nan() {
            return Err(Error::InvalidValue(format!(
                "score of document '{docno}' for query '{}' is NaN",
                self.qid
            )));
        }
        self.push_line(docno, score + 0.0, 0);
        Ok(())
    }

    #[inline]
    pub(crate) fn push_line(&mut self, docno: &str, score: f64, line: u64) {
        self.docnos.push(docno);
        self.scores.push(score);
        self.lines.push(line);
    }

    /// Document `i` (in input order) and its score.
    #[inline]
    pub fn get(&self, i: usize) -> (&str, f64) {
        (self.docnos.get(i), self.scores[i])
    }

    /// The documents in input order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, f64)> + '_ {
        (0..self.len()).map(move |i| self.get(i))
    }

    /// Line of document `i` in its file (0 when built in memory).
    #[inline]
    pub(crate) fn line(&self, i: usize) -> u64 {
        self.lines[i]
    }

    /// Indices of the documents in rank order: score descending, ties broken by
    /// document id descending (trec_eval's rule; the rank column of a file is ignored).
    pub fn ranked_indices(&self) -> Vec<u32> {
        let mut order = Vec::new();
        self.sort_ranked(&mut order, &mut Vec::new());
        order
    }

    /// Fills `order` with the indices in rank order, `keys` being scratch space.
    ///
    /// Sorted by score alone first (an integer key per document, [`score_key`]), then
    /// each run of equal scores by document id. Runs are usually written best first,
    /// and then the sort finds the whole list in order in one pass: only the ties are
    /// sorted, and those are short.
    #[inline]
    pub(crate) fn sort_ranked(&self, order: &mut Vec<u32>, keys: &mut Vec<(u64, u32)>) {
        keys.clear();
        keys.extend(
            self.scores
                .iter()
                .enumerate()
                .map(|(i, &s)| (score_key(s), i as u32)),
        );
        keys.sort_unstable_by_key(|k| std::cmp::Reverse(k.0));
        let id = |k: &(u64, u32)| self.docnos.get(k.1 as usize).as_bytes();
        for ties in keys.chunk_by_mut(|a, b| a.0 == b.0) {
            if ties.len() > 1 {
                ties.sort_unstable_by(|a, b| cmp_ids(id(b), id(a)));
            }
        }
        order.clear();
        order.extend(keys.iter().map(|k| k.1));
    }

    /// Adds `other`'s documents after these (the rest of a query cut in two).
    pub(crate) fn append(&mut self, other: &QueryResults) {
        for i in 0..other.len() {
            self.push_line(other.docnos.get(i), other.scores[i], other.lines[i]);
        }
    }

    /// Moves every line number `by` lines down.
    pub(crate) fn shift_lines(&mut self, by: u64) {
        for l in &mut self.lines {
            *l += by;
        }
    }

    pub(crate) fn clear(&mut self, qid: &str) {
        self.qid.clear();
        self.qid.push_str(qid);
        self.docnos.clear();
        self.scores.clear();
        self.lines.clear();
    }
}

/// Byte order of two document ids, the first eight bytes compared as one number
/// where both have them (most ids differ there).
#[inline]
fn cmp_ids(a: &[u8], b: &[u8]) -> std::cmp::Ordering {
    if let (Some(x), Some(y)) = (a.first_chunk::<8>(), b.first_chunk::<8>()) {
        let (x, y) = (u64::from_be_bytes(*x), u64::from_be_bytes(*y));
        if x != y {
            return x.cmp(&y);
        }
    }
    a.cmp(b)
}

/// The score's bits as an integer that orders as [`f64::total_cmp`] orders scores
/// (scores are read with `-0.0` as `0.0` and without NaN, so as C compares them).
#[inline]
fn score_key(score: f64) -> u64 {
    let bits = score.to_bits() as i64;
    ((bits ^ ((((bits >> 63) as u64) >> 1) as i64)) as u64) ^ (1 << 63)
}

/// One parsed line of a run file.
pub(crate) struct RunLine<'a> {
    pub qid: &'a str,
    pub docno: &'a str,
    pub score: f64,
    pub tag: &'a [u8],
}

/// Parses `qid iter docno rank score tag [ignored…]`.
#[inline]
pub(crate) fn parse_run_line<'a>(line: &'a [u8], path: &Path, line_no: u64) -> Result<RunLine<'a>> {
    let mut f = Fields::new(line);
    let (qid, _iter, docno, _rank, score, tag) =
        match (f.next(), f.next(), f.next(), f.next(), f.next(), f.next()) {
            (Some(a), Some(b), Some(c), Some(d), Some(e), Some(g)) => (a, b, c, d, e, g),
            _ => {
                let n = Fields::new(line).count();
                return Err(Error::Parse {
                    path: path.to_path_buf(),
                    line: line_no,
                    message: format!(
                        "expected 6 fields `qid Q0 docno rank score tag`, found {n}{}",
                        if n == 4 {
                            " (is this a qrels file?)"
                        } else {
                            ""
                        }
                    ),
                });
            }
        };
    Ok(RunLine {
        qid: lines::field_str(qid, path, line_no, "query id")?,
        docno: lines::field_str(docno, path, line_no, "document id")?,
        score: lines::parse_score(score, path, line_no)?,
        tag,
    })
}

/// [`parse_run_line`] for a line already checked to be UTF-8 text: the same fields,
/// values and errors, without checking each field again.
#[inline]
pub(crate) fn parse_run_text_line<'a>(
    line: &'a str,
    fields: lines::FieldRanges<'a>,
    path: &Path,
    line_no: u64,
) -> Result<RunLine<'a>> {
    let mut f = lines::StrFields::from_ranges(line, fields);
    match (f.next(), f.next(), f.next(), f.next(), f.next(), f.next()) {
        (Some(qid), Some(_), Some(docno), Some(_), Some(score), Some(tag)) => Ok(RunLine {
            qid,
            docno,
            score: lines::parse_score(score.as_bytes(), path, line_no)?,
            tag: tag.as_bytes(),
        }),
        // The byte parser words the error.
        _ => parse_run_line(line.as_bytes(), path, line_no),
    }
}

/// A retrieval run: for each query, scored documents.
///
/// ```
/// use rerank_eval::Run;
/// let mut run = Run::new("bm25");
/// run.push("q1", "d1", 2.5)?;
/// run.push("q1", "d2", 1.0)?;
/// let mut out = Vec::new();
/// run.write_trec(&mut out)?;
/// assert_eq!(String::from_utf8(out).unwrap(), "q1 Q0 d1 1 2.5 bm25\nq1 Q0 d2 2 1 bm25\n");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, Default)]
pub struct Run {
    name: String,
    queries: Vec<QueryResults>,
    by_qid: FxHashMap<String, usize>,
}

impl Run {
    /// An empty run called `name` (the tag column when written).
    pub fn new(name: impl Into<String>) -> Run {
        Run {
            name: name.into(),
            ..Default::default()
        }
    }

    /// Reads a run file: lines `qid Q0 docno rank score tag`, any white space between
    /// fields, further fields ignored, `#` comment lines and blank lines skipped (as
    /// trec_eval). The run's name is the tag of the last line (as trec_eval).
    ///
    /// A document retrieved twice for one query is reported when the query is
    /// evaluated, as in trec_eval.
    pub fn from_path(path: impl AsRef<Path>) -> Result<Run> {
        let path = path.as_ref();
        let data = std::fs::read(path).map_err(|cause| Error::Io {
            path: path.to_path_buf(),
            cause,
        })?;
        Run::parse(&data, path)
    }

    /// Reads a run from any reader; `source` names it in error messages.
    pub fn from_reader(mut reader: impl Read, source: impl Into<PathBuf>) -> Result<Run> {
        let source = source.into();
        let mut data = Vec::new();
        reader.read_to_end(&mut data).map_err(|e| Error::Io {
            path: source.clone(),
            cause: e,
        })?;
        Run::parse(&data, &source)
    }

    /// Parses run text already in memory.
    pub fn parse(data: &[u8], source: &Path) -> Result<Run> {
        lines::check_not_binary(data, source, 0)?;
        let mut run = Run::default();
        let mut last_tag: &[u8] = b"";
        let mut current: Option<usize> = None;
        for (i, line) in data.split(|&b| b == b'\n').enumerate() {
            if lines::is_blank_or_comment(line) {
                continue;
            }
            let line_no = i as u64 + 1;
            let l = parse_run_line(line, source, line_no)?;
            let slot = match current {
                Some(s) if run.queries[s].qid == l.qid => s,
                _ => run.slot(l.qid),
            };
            current = Some(slot);
            run.queries[slot].push_line(l.docno, l.score, line_no);
            last_tag = l.tag;
        }
        if run.queries.is_empty() {
            return Err(Error::Empty {
                path: source.to_path_buf(),
                what: "run",
            });
        }
        run.name = lines::field_str(last_tag, source, 0, "run tag")?.to_owned();
        Ok(run)
    }

    fn slot(&mut self, qid: &str) -> usize {
        if let Some(&i) = self.by_qid.get(qid) {
            return i;
        }
        self.queries.push(QueryResults::new(qid));
        self.by_qid.insert(qid.to_owned(), self.queries.len() - 1);
        self.queries.len() - 1
    }

    /// Adds one retrieved document.
    pub fn push(&mut self, qid: &str, docno: &str, score: f64) -> Result<&mut Self> {
        let slot = self.slot(qid);
        self.queries[slot].push(docno, score)?;
        Ok(self)
    }

    /// Adds a query's ranking given in order, best first: scores are assigned so that
    /// the order is kept (`n`, `n-1`, …, `1`).
    pub fn push_ranking<'a>(
        &mut self,
        qid: &str,
        docnos: impl IntoIterator<Item = &'a str>,
    ) -> &mut Self {
        let docnos: Vec<&str> = docnos.into_iter().collect();
        let n = docnos.len();
        let slot = self.slot(qid);
        for (i, d) in docnos.into_iter().enumerate() {
            self.queries[slot].push_line(d, (n - i) as f64, 0);
        }
        self
    }

    /// The run's name (tag).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Renames the run.
    pub fn set_name(&mut self, name: impl Into<String>) {
        self.name = name.into();
    }

    /// Number of queries.
    pub fn len(&self) -> usize {
        self.queries.len()
    }

    /// True when there is no query.
    pub fn is_empty(&self) -> bool {
        self.queries.is_empty()
    }

    /// The results of one query.
    pub fn get(&self, qid: &str) -> Option<&QueryResults> {
        self.by_qid.get(qid).map(|&i| &self.queries[i])
    }

    /// All queries, in the order they first appeared.
    pub fn iter(&self) -> std::slice::Iter<'_, QueryResults> {
        self.queries.iter()
    }

    /// Writes the run in TREC format, each query's documents in rank order with ranks
    /// from 1: `qid Q0 docno rank score tag`.
    pub fn write_trec(&self, mut w: impl Write) -> std::io::Result<()> {
        for q in &self.queries {
            for (rank, &i) in q.ranked_indices().iter().enumerate() {
                let (d, s) = q.get(i as usize);
                writeln!(w, "{} Q0 {} {} {} {}", q.qid, d, rank + 1, s, self.name)?;
            }
        }
        Ok(())
    }

    /// Writes the run to a file (see [`Run::write_trec`]).
    pub fn write_path(&self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        let io = |cause| Error::Io {
            path: path.to_path_buf(),
            cause,
        };
        let f = std::fs::File::create(path).map_err(io)?;
        let mut w = std::io::BufWriter::new(f);
        self.write_trec(&mut w).map_err(io)?;
        w.flush().map_err(io)
    }
}

impl<'a> IntoIterator for &'a Run {
    type Item = &'a QueryResults;
    type IntoIter = std::slice::Iter<'a, QueryResults>;
    fn into_iter(self) -> Self::IntoIter {
        self.queries.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_runs_like_trec_eval() {
        let text =
            "# c\n1 Q0 b 1 2.0 r1 extra\n\n  1\tQ0 a 2 2.0 r1\n2 Q0 c 1 -1 r2\n1 Q0 d 3 3 r3\n";
        let run = Run::parse(text.as_bytes(), Path::new("run")).unwrap();
        assert_eq!(run.name(), "r3");
        let q1 = run.get("1").unwrap();
        let ranked: Vec<&str> = q1
            .ranked_indices()
            .iter()
            .map(|&i| q1.get(i as usize).0)
            .collect();
        // score desc, then docno desc
        assert_eq!(ranked, ["d", "b", "a"]);
        assert_eq!(q1.line(1), 4);
    }

    proptest::proptest! {
        /// The sort ranks as the rule says: score descending (as `total_cmp`), then the
        /// whole document id descending, for ids that share long prefixes, hold NUL
        /// bytes or are prefixes of each other, and scores of both signs; both for
        /// documents in any order and for documents already in score order (as runs
        /// are written) with their ties in any order.
        #[test]
        fn sort_is_the_ranking_rule(
            mut docs in proptest::collection::vec(
                ("(doc|d\0|do)[0-9a\0]{0,10}", proptest::sample::select(vec![
                    0.0, -0.0, 1.0, -1.0, 24.9, 24.92, -1e300, 1e-300, f64::INFINITY,
                    f64::NEG_INFINITY, 7.5,
                ])),
                0..40,
            ),
            written_in_order: bool,
        ) {
            if written_in_order {
                docs.sort_by(|a, b| b.1.total_cmp(&a.1));
            }
            let mut q = QueryResults::new("q");
            for (d, s) in &docs {
                q.push_line(d, *s, 0);
            }
            let got = q.ranked_indices();
            let mut want: Vec<u32> = (0..q.len() as u32).collect();
            want.sort_by(|&a, &b| {
                let (a, b) = (a as usize, b as usize);
                q.scores[b].total_cmp(&q.scores[a]).then_with(|| {
                    q.docnos.get(b).as_bytes().cmp(q.docnos.get(a).as_bytes())
                })
            });
            let show = |o: &[u32]| -> Vec<(String, u64)> {
                o.iter().map(|&i| (q.docnos.get(i as usize).to_owned(),
                                   q.scores[i as usize].to_bits())).collect()
            };
            proptest::prop_assert_eq!(show(&got), show(&want));
        }
    }

    #[test]
    fn run_errors() {
        let e = Run::parse(b"1 Q0 a 1 x r\n", Path::new("r"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("r:1:") && e.contains("not a number"), "{e}");
        let e = Run::parse(b"1 Q0 a 1 0.5\n", Path::new("r"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("expected 6 fields"), "{e}");
        let e = Run::parse(b"1 0 a 1\n", Path::new("r"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("qrels file"), "{e}");
        assert!(Run::parse(b"\n# only\n", Path::new("r")).is_err());
        let mut r = Run::new("x");
        assert!(r.push("q", "d", f64::NAN).is_err());
    }
}
