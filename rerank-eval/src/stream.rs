//! Streaming evaluation of run files too large to hold in memory comfortably, on
//! every core.
//!
//! The file is cut into as many parts as there are cores, at line boundaries; each
//! part is read by its own thread in 256 KiB blocks, cut into per-query blocks (runs
//! list a query's documents together) and each block evaluated as soon as it is
//! complete, so memory is bounded by a few chunks per thread whatever the file's size.
//! A query whose lines straddle a cut is held back by both threads and evaluated
//! whole at the end; line numbers in errors are those of the file.
//!
//! trec_eval sorts the whole file, so a query's lines need not be contiguous. When a
//! query turns up again after another query, the file is read into memory instead,
//! so the result is the same either way.

use std::path::Path;

use rustc_hash::FxHashSet;

use crate::blocks::{self, shift_line};
use crate::error::{Error, Result};
use crate::evaluation::Evaluation;
use crate::evaluator::{Evaluator, Session};
use crate::lines;
use crate::qrels::Qrels;
use crate::run::{parse_run_line, parse_run_text_line, QueryResults, Run};

impl Evaluator {
    /// Evaluates a run file, streaming it: memory stays proportional to the largest
    /// query, not to the file, and the file is parsed and evaluated on every core
    /// (in parts cut at line boundaries). A file whose queries are not grouped is read
    /// whole instead, with the same result. `-` reads standard input.
    pub fn evaluate_file(&self, qrels: &Qrels, path: impl AsRef<Path>) -> Result<Evaluation> {
        let path = path.as_ref();
        let parts = std::fs::metadata(path).map_or(1, |m| blocks::parts_for(m.len()));
        self.evaluate_file_in_parts(qrels, path, parts)
    }

    /// [`Evaluator::evaluate_file`] with the file cut into `parts` parts, whatever its
    /// size (for tests of the cuts).
    #[doc(hidden)]
    pub fn evaluate_file_in_parts(
        &self,
        qrels: &Qrels,
        path: impl AsRef<Path>,
        parts: usize,
    ) -> Result<Evaluation> {
        let path = path.as_ref();
        if path == Path::new("-") {
            let run = Run::from_reader(std::io::stdin().lock(), "<stdin>")?;
            return self.evaluate(qrels, &run);
        }
        match evaluate_parts(self, qrels, path, parts.max(1))? {
            Some(e) => Ok(e),
            None => self.evaluate(qrels, &Run::from_path(path)?),
        }
    }
}

/// What one part's thread found.
struct Part<'a> {
    session: Session<'a>,
    /// Blocks not evaluated because they may continue in a neighbouring part: the
    /// part's first block (unless it is the file's first part) and its last (unless
    /// it is the file's last part), in file order; one block when they are the same.
    edges: Vec<QueryResults>,
    /// Every query id of the part.
    qids: FxHashSet<String>,
    /// The tag of the part's last run line, if it has any.
    last_tag: Option<Vec<u8>>,
    /// Lines in the part.
    lines: u64,
    /// A query came back after another one (the file is not grouped).
    regrouped: bool,
}

impl Part<'_> {
    /// Evaluates a complete block; false (and `regrouped` set) when its query was
    /// evaluated before.
    fn evaluate(&mut self, block: &QueryResults) -> Result<bool> {
        if self.session.seen(block.qid()) {
            self.regrouped = true;
            return Ok(false);
        }
        self.session.add(block)?;
        Ok(true)
    }
}

/// Evaluates the file in `parts` parts; `None` when its queries are not grouped.
fn evaluate_parts(
    ev: &Evaluator,
    qrels: &Qrels,
    path: &Path,
    parts: usize,
) -> Result<Option<Evaluation>> {
    let cuts = blocks::cut_at_lines(path, parts)?;
    let n = cuts.len() - 1;
    let results: Vec<Result<Part>> = blocks::on_threads((0..n).collect(), |i| {
        read_part(ev, qrels, path, cuts[i], cuts[i + 1], i > 0, i + 1 < n)
    });
    // Line numbers: each part counted from 1; shift them by the lines before it.
    let mut offset = 0u64;
    let mut done: Vec<Part> = Vec::with_capacity(n);
    for r in results {
        match r {
            Ok(mut p) => {
                for e in &mut p.edges {
                    e.shift_lines(offset);
                }
                offset += p.lines;
                done.push(p);
            }
            Err(e) => return Err(shift_line(e, offset)),
        }
    }
    if done.iter().any(|p| p.regrouped) {
        return Ok(None);
    }
    let Some(run_name) = done.iter().rev().find_map(|p| p.last_tag.clone()) else {
        return Err(Error::Empty {
            path: path.to_path_buf(),
            what: "run",
        });
    };
    let run_name = lines::field_str(&run_name, path, offset, "run tag")?.to_owned();
    // The held-back blocks, in file order, joined where one query straddles a cut.
    let mut joined: Vec<QueryResults> = Vec::new();
    for p in &mut done {
        for block in p.edges.drain(..) {
            match joined.last_mut() {
                Some(last) if last.qid() == block.qid() => last.append(&block),
                _ => joined.push(block),
            }
        }
    }
    let mut qids = FxHashSet::default();
    let mut parts = done.into_iter();
    let first = parts.next().expect("at least one part");
    qids.extend(first.qids);
    let mut session = first.session;
    for p in parts {
        qids.extend(p.qids);
        if !session.absorb(p.session) {
            return Ok(None);
        }
    }
    for block in &joined {
        if session.seen(block.qid()) {
            return Ok(None);
        }
        session.add(block)?;
    }
    session.finish(run_name, qids.len()).map(Some)
}

/// Reads the bytes `from..to` of the file (whole lines), evaluating each complete
/// query block as it ends, except those that may continue beyond the part (`head`:
/// the part's first block may continue the previous part's last; `tail`: its last
/// may continue in the next part).
fn read_part<'a>(
    ev: &'a Evaluator,
    qrels: &'a Qrels,
    path: &Path,
    from: u64,
    to: u64,
    head: bool,
    tail: bool,
) -> Result<Part<'a>> {
    let mut part = Part {
        session: ev.session(qrels, path),
        edges: Vec::new(),
        qids: FxHashSet::default(),
        last_tag: None,
        lines: 0,
        regrouped: false,
    };
    let mut block = QueryResults::default();
    let mut spare = QueryResults::default();
    let mut blocks = 0usize;
    blocks::for_each_block(path, from, to, |data| {
        lines::check_not_binary(data, path, part.lines)?;
        // Checked as UTF-8 once for the whole block (fast), not field by field; a
        // block that is not UTF-8 goes line by line, where the error names the line.
        let text = std::str::from_utf8(data).ok();
        let mut last_tag: Option<&[u8]> = None;
        let mut start = 0;
        while start < data.len() {
            let (end, fields) = lines::line_at(data, start);
            let line = fields.line();
            part.lines += 1;
            if !lines::is_blank_or_comment(line) {
                let l = match text {
                    Some(text) => parse_run_text_line(
                        lines::ascii_cut(text, start, end),
                        fields,
                        path,
                        part.lines,
                    )?,
                    None => parse_run_line(line, path, part.lines)?,
                };
                if blocks == 0 || l.qid != block.qid() {
                    if blocks > 0 {
                        // The block before this line is complete.
                        let full = std::mem::replace(&mut block, std::mem::take(&mut spare));
                        if blocks == 1 && head {
                            part.edges.push(full);
                        } else {
                            if !part.evaluate(&full)? {
                                return Ok(false);
                            }
                            spare = full;
                        }
                    }
                    block.clear(l.qid);
                    if !part.qids.insert(l.qid.to_owned()) {
                        part.regrouped = true;
                        return Ok(false);
                    }
                    blocks += 1;
                }
                block.push_line(l.docno, l.score, part.lines);
                last_tag = Some(l.tag);
            }
            start = end + 1;
        }
        if let Some(tag) = last_tag {
            let t = part.last_tag.get_or_insert_with(Vec::new);
            t.clear();
            t.extend_from_slice(tag);
        }
        Ok(true)
    })?;
    if part.regrouped {
        return Ok(part);
    }
    if blocks > 0 {
        // The part's last block: held back when it may continue in the next part (or
        // when it is also the held-back first block).
        if tail || (blocks == 1 && head) {
            part.edges.push(block);
        } else {
            part.evaluate(&block)?;
        }
    }
    Ok(part)
}
