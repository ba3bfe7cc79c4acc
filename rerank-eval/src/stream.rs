//! Streaming evaluation of run files too large to hold in memory comfortably.
//!
//! One thread reads the file in 4 MiB chunks and cuts it into per-query blocks (runs
//! list a query's documents together); the calling thread evaluates each block as it
//! arrives and keeps only the per-query values. Memory is bounded by a few blocks,
//! whatever the file's size, and the two cores overlap parsing with evaluation.
//!
//! trec_eval sorts the whole file, so a query's lines need not be contiguous. When a
//! query turns up again after another query, the stream stops and the file is read
//! into memory instead, so the result is the same either way.

use std::fs::File;
use std::io::Read;
use std::path::Path;
use std::sync::mpsc;

use crate::error::{Error, Result};
use crate::evaluation::Evaluation;
use crate::evaluator::Evaluator;
use crate::lines;
use crate::qrels::Qrels;
use crate::run::{parse_run_line, QueryResults, Run};

const CHUNK: usize = 4 << 20;
const BLOCKS_IN_FLIGHT: usize = 16;

/// What the reading thread reports at the end.
struct Tail {
    run_name: String,
    num_queries: usize,
}

enum Msg {
    Block(QueryResults),
    Done(Tail),
}

impl Evaluator {
    /// Evaluates a run file, streaming it: memory stays proportional to the largest
    /// query, not to the file. A reading thread parses while this thread evaluates;
    /// a file whose queries are not grouped is read whole instead, with the same
    /// result. `-` reads standard input.
    pub fn evaluate_file(&self, qrels: &Qrels, path: impl AsRef<Path>) -> Result<Evaluation> {
        evaluate_run_file(self, qrels, path.as_ref())
    }
}

fn evaluate_run_file(ev: &Evaluator, qrels: &Qrels, path: &Path) -> Result<Evaluation> {
    if path == Path::new("-") {
        let run = Run::from_reader(std::io::stdin().lock(), "<stdin>")?;
        return ev.evaluate(qrels, &run);
    }
    let file = File::open(path).map_err(|cause| Error::Io {
        path: path.to_path_buf(),
        cause,
    })?;
    let outcome = std::thread::scope(|s| -> Result<Option<Evaluation>> {
        let (tx, rx) = mpsc::sync_channel::<Result<Msg>>(BLOCKS_IN_FLIGHT);
        let (recycle_tx, recycle_rx) = mpsc::channel::<QueryResults>();
        s.spawn(move || {
            if let Err(e) = read_blocks(file, path, &tx, &recycle_rx) {
                let _ = tx.send(Err(e));
            }
        });
        let mut session = ev.session(qrels, path);
        for msg in rx.iter() {
            match msg? {
                Msg::Block(block) => {
                    if session.seen(block.qid()) {
                        return Ok(None); // not grouped by query: start over in memory
                    }
                    session.add(&block)?;
                    let _ = recycle_tx.send(block);
                }
                Msg::Done(tail) => {
                    return session.finish(tail.run_name, tail.num_queries).map(Some);
                }
            }
        }
        // The reading thread ends with Done or an error; it can only stop without
        // either by a bug, which is reported rather than panicking here.
        Err(Error::Io {
            path: path.to_path_buf(),
            cause: std::io::Error::other("the reading thread stopped without finishing the file"),
        })
    })?;
    match outcome {
        Some(e) => Ok(e),
        None => ev.evaluate(qrels, &Run::from_path(path)?),
    }
}

/// Reads `file`, sending one block per run of consecutive lines with the same query.
fn read_blocks(
    mut file: File,
    path: &Path,
    tx: &mpsc::SyncSender<Result<Msg>>,
    recycle: &mpsc::Receiver<QueryResults>,
) -> Result<()> {
    let io = |cause| Error::Io {
        path: path.to_path_buf(),
        cause,
    };
    let mut buf: Vec<u8> = Vec::with_capacity(CHUNK * 2);
    let mut block = QueryResults::default();
    let mut line_no = 0u64;
    let mut last_tag: Vec<u8> = Vec::new();
    let mut qids_started = rustc_hash::FxHashSet::default();
    let mut eof = false;
    let mut any = false;
    while !eof {
        // Fill the buffer up to CHUNK bytes beyond any carried partial line.
        let carried = buf.len();
        buf.resize(carried + CHUNK, 0);
        let mut filled = carried;
        while filled < buf.len() {
            let n = file.read(&mut buf[filled..]).map_err(io)?;
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
        lines::check_not_binary(&buf[..complete], path, line_no)?;
        let mut tag_range: Option<(usize, usize)> = None;
        let data = &buf[..complete];
        let mut start = 0;
        while start < data.len() {
            let end = memchr::memchr(b'\n', &data[start..]).map_or(data.len(), |i| start + i);
            let line = &data[start..end];
            line_no += 1;
            if !lines::is_blank_or_comment(line) {
                let l = parse_run_line(line, path, line_no)?;
                if l.qid != block.qid() || !any {
                    if any {
                        let next = recycle.try_recv().unwrap_or_default();
                        let full = std::mem::replace(&mut block, next);
                        if tx.send(Ok(Msg::Block(full))).is_err() {
                            return Ok(()); // the evaluator stopped
                        }
                    }
                    block.clear(l.qid);
                    qids_started.insert(l.qid.to_owned());
                    any = true;
                }
                block.push_line(l.docno, l.score, line_no);
                let off = l.tag.as_ptr() as usize - data.as_ptr() as usize;
                tag_range = Some((off, off + l.tag.len()));
            }
            start = end + 1;
        }
        if let Some((a, b)) = tag_range {
            last_tag.clear();
            last_tag.extend_from_slice(&data[a..b]);
        }
        buf.drain(..complete);
    }
    if !any {
        return Err(Error::Empty {
            path: path.to_path_buf(),
            what: "run",
        });
    }
    let _ = tx.send(Ok(Msg::Block(block)));
    let run_name = lines::field_str(&last_tag, path, line_no, "run tag")?.to_owned();
    let _ = tx.send(Ok(Msg::Done(Tail {
        run_name,
        num_queries: qids_started.len(),
    })));
    Ok(())
}
