//! Streaming evaluation of run files too large to hold in memory comfortably, on
//! every core.
//!
//! The file is cut into as many parts as there are cores, at line boundaries; each
//! part is read by its own thread in 4 MiB chunks, cut into per-query blocks (runs
//! list a query's documents together) and each block evaluated as soon as it is
//! complete, so memory is bounded by a few chunks per thread whatever the file's size.
//! A query whose lines straddle a cut is held back by both threads and evaluated
//! whole at the end; line numbers in errors are those of the file.
//!
//! trec_eval sorts the whole file, so a query's lines need not be contiguous. When a
//! query turns up again after another query, the file is read into memory instead,
//! so the result is the same either way.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

use rustc_hash::FxHashSet;

use crate::error::{Error, Result};
use crate::evaluation::Evaluation;
use crate::evaluator::{Evaluator, Session};
use crate::lines;
use crate::qrels::Qrels;
use crate::run::{parse_run_line, QueryResults, Run};

const CHUNK: usize = 4 << 20;
/// Files smaller than this are read by one thread.
const PARALLEL_MIN_BYTES: u64 = 8 << 20;
/// At most this many parts.
const MAX_PARTS: usize = 8;

impl Evaluator {
    /// Evaluates a run file, streaming it: memory stays proportional to the largest
    /// query, not to the file, and the file is parsed and evaluated on every core
    /// (in parts cut at line boundaries). A file whose queries are not grouped is read
    /// whole instead, with the same result. `-` reads standard input.
    pub fn evaluate_file(&self, qrels: &Qrels, path: impl AsRef<Path>) -> Result<Evaluation> {
        let path = path.as_ref();
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let large = std::fs::metadata(path).is_ok_and(|m| m.len() >= PARALLEL_MIN_BYTES);
        let parts = if large { cores.min(MAX_PARTS) } else { 1 };
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
    let io = |cause| Error::Io {
        path: path.to_path_buf(),
        cause,
    };
    let mut file = File::open(path).map_err(io)?;
    let len = file.metadata().map_err(io)?.len();
    // Cut after the first new line at or past each even share of the file.
    let mut cuts = vec![0u64];
    for i in 1..parts as u64 {
        let at = next_line_start(&mut file, len * i / parts as u64, len).map_err(io)?;
        if at > *cuts.last().expect("the start") && at < len {
            cuts.push(at);
        }
    }
    cuts.push(len);
    let n = cuts.len() - 1;
    let results: Vec<Result<Part>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..n)
            .map(|i| {
                let (from, to) = (cuts[i], cuts[i + 1]);
                s.spawn(move || read_part(ev, qrels, path, from, to, i > 0, i + 1 < n))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("a part's thread does not panic"))
            .collect()
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

/// The offset of the first line that starts at or after `at` (`len` if none).
fn next_line_start(file: &mut File, at: u64, len: u64) -> std::io::Result<u64> {
    if at == 0 {
        return Ok(0);
    }
    // The line containing byte `at - 1` ends somewhere at or after it.
    file.seek(SeekFrom::Start(at - 1))?;
    let mut buf = vec![0u8; 64 << 10];
    let mut pos = at - 1;
    while pos < len {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        if let Some(i) = memchr::memchr(b'\n', &buf[..n]) {
            return Ok(pos + i as u64 + 1);
        }
        pos += n as u64;
    }
    Ok(len)
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
    let io = |cause| Error::Io {
        path: path.to_path_buf(),
        cause,
    };
    let mut file = File::open(path).map_err(io)?;
    file.seek(SeekFrom::Start(from)).map_err(io)?;
    let mut reader = file.take(to - from);
    let mut part = Part {
        session: ev.session(qrels, path),
        edges: Vec::new(),
        qids: FxHashSet::default(),
        last_tag: None,
        lines: 0,
        regrouped: false,
    };
    let mut buf: Vec<u8> = Vec::with_capacity(CHUNK * 2);
    let mut block = QueryResults::default();
    let mut spare = QueryResults::default();
    let mut blocks = 0usize;
    let mut eof = false;
    while !eof {
        // Fill the buffer up to CHUNK bytes beyond any carried partial line.
        let carried = buf.len();
        buf.resize(carried + CHUNK, 0);
        let mut filled = carried;
        while filled < buf.len() {
            let n = reader.read(&mut buf[filled..]).map_err(io)?;
            if n == 0 {
                eof = true;
                break;
            }
            filled += n;
        }
        buf.truncate(filled);
        let complete = if eof {
            buf.len()
        } else {
            match memchr::memrchr(b'\n', &buf) {
                Some(i) => i + 1,
                None => continue, // a line longer than the chunk: read more
            }
        };
        lines::check_not_binary(&buf[..complete], path, part.lines)?;
        let mut tag_range: Option<(usize, usize)> = None;
        let data = &buf[..complete];
        let mut start = 0;
        while start < data.len() {
            let end = memchr::memchr(b'\n', &data[start..]).map_or(data.len(), |i| start + i);
            let line = &data[start..end];
            part.lines += 1;
            if !lines::is_blank_or_comment(line) {
                let l = parse_run_line(line, path, part.lines)?;
                if blocks == 0 || l.qid != block.qid() {
                    if blocks > 0 {
                        // The block before this line is complete.
                        let full = std::mem::replace(&mut block, std::mem::take(&mut spare));
                        if blocks == 1 && head {
                            part.edges.push(full);
                        } else {
                            if !part.evaluate(&full)? {
                                return Ok(part);
                            }
                            spare = full;
                        }
                    }
                    block.clear(l.qid);
                    if !part.qids.insert(l.qid.to_owned()) {
                        part.regrouped = true;
                        return Ok(part);
                    }
                    blocks += 1;
                }
                block.push_line(l.docno, l.score, part.lines);
                let off = l.tag.as_ptr() as usize - data.as_ptr() as usize;
                tag_range = Some((off, off + l.tag.len()));
            }
            start = end + 1;
        }
        if let Some((a, b)) = tag_range {
            part.last_tag = Some(buf[a..b].to_vec());
        }
        buf.drain(..complete);
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

/// `e` with its line number moved `by` lines down (a part's numbers to the file's).
fn shift_line(e: Error, by: u64) -> Error {
    match e {
        Error::Parse {
            path,
            line,
            message,
        } => Error::Parse {
            path,
            line: line + by,
            message,
        },
        Error::DuplicateDocument {
            path,
            qid,
            docno,
            line,
        } => Error::DuplicateDocument {
            path,
            qid,
            docno,
            line: line.map(|l| l + by),
        },
        other => other,
    }
}
