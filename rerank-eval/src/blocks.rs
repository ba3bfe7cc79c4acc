//! Reading a file in blocks of whole lines, and cutting it into parts at line
//! boundaries so that each core reads one: what the qrels and run readers share.
//!
//! Blocks are [`BLOCK`] bytes (plus a partial line carried over), so memory stays
//! under a megabyte per reader whatever the file's size.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

use crate::error::{Error, Result};

/// Bytes read at a time.
pub(crate) const BLOCK: usize = 256 << 10;
/// Files smaller than this are read by one thread.
pub(crate) const PARALLEL_MIN_BYTES: u64 = 4 << 20;
/// At most this many parts.
const MAX_PARTS: usize = 8;

fn io_error(path: &Path) -> impl Fn(std::io::Error) -> Error + '_ {
    move |cause| Error::Io {
        path: path.to_path_buf(),
        cause,
    }
}

/// How many parts to read a file of `len` bytes in: one per core for large files.
pub(crate) fn parts_for(len: u64) -> usize {
    if len < PARALLEL_MIN_BYTES {
        return 1;
    }
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    cores.min(MAX_PARTS)
}

/// Byte offsets `0 = c₀ < c₁ < … < cₙ = len` cutting the file into at most `parts`
/// parts of whole lines, about equal in size.
pub(crate) fn cut_at_lines(path: &Path, parts: usize) -> Result<Vec<u64>> {
    let io = io_error(path);
    let mut file = File::open(path).map_err(&io)?;
    let len = file.metadata().map_err(&io)?.len();
    let mut cuts = vec![0u64];
    for i in 1..parts as u64 {
        let at = next_line_start(&mut file, len * i / parts as u64, len).map_err(&io)?;
        if at > *cuts.last().expect("the start") && at < len {
            cuts.push(at);
        }
    }
    cuts.push(len);
    Ok(cuts)
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

/// Reads bytes `from..to` of the file (whole lines) and calls `f` with each block of
/// complete lines, in order; `f` returns `Ok(false)` to stop early.
pub(crate) fn for_each_block(
    path: &Path,
    from: u64,
    to: u64,
    mut f: impl FnMut(&[u8]) -> Result<bool>,
) -> Result<()> {
    let io = io_error(path);
    let mut file = File::open(path).map_err(&io)?;
    file.seek(SeekFrom::Start(from)).map_err(&io)?;
    for_each_block_of(file.take(to - from), path, &mut f)
}

/// [`for_each_block`] over any reader (standard input, say); `path` names it in errors.
pub(crate) fn for_each_block_of(
    mut reader: impl Read,
    path: &Path,
    f: &mut impl FnMut(&[u8]) -> Result<bool>,
) -> Result<()> {
    let io = io_error(path);
    let mut buf: Vec<u8> = Vec::with_capacity(BLOCK * 2);
    let mut carried = 0;
    let mut eof = false;
    while !eof {
        // Fill up to BLOCK bytes beyond the partial line carried over.
        buf.resize(carried + BLOCK, 0);
        let mut filled = carried;
        while filled < buf.len() {
            let n = reader.read(&mut buf[filled..]).map_err(&io)?;
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
                None => {
                    carried = buf.len(); // a line longer than the block: read more
                    continue;
                }
            }
        };
        if complete > 0 && !f(&buf[..complete])? {
            return Ok(());
        }
        buf.copy_within(complete.., 0);
        carried = buf.len() - complete;
    }
    Ok(())
}

/// `f` applied to every item, each on a thread of its own, the results in the items'
/// order (a single item runs on the calling thread). A panic in `f` is passed on.
pub(crate) fn on_threads<T: Send, R: Send>(items: Vec<T>, f: impl Fn(T) -> R + Sync) -> Vec<R> {
    if items.len() <= 1 {
        return items.into_iter().map(f).collect();
    }
    std::thread::scope(|s| {
        let f = &f;
        let handles: Vec<_> = items.into_iter().map(|t| s.spawn(move || f(t))).collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .collect()
    })
}

/// `e` with its line number moved `by` lines down (a part's numbers to the file's).
pub(crate) fn shift_line(e: Error, by: u64) -> Error {
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Blocks hold whole lines, in order, whatever the block and line sizes; parts
    /// cut at line starts.
    #[test]
    fn blocks_and_cuts_keep_lines_whole() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        let mut text = String::new();
        for i in 0..200_000 {
            text.push_str(&format!("line {i} {}\n", "x".repeat(i % 97)));
        }
        text.push_str("last line without newline");
        std::fs::write(&path, &text).unwrap();
        for parts in [1, 2, 3, 7] {
            let cuts = cut_at_lines(&path, parts).unwrap();
            let mut got = Vec::new();
            for w in cuts.windows(2) {
                assert!(w[0] == 0 || text.as_bytes()[w[0] as usize - 1] == b'\n');
                for_each_block(&path, w[0], w[1], |b| {
                    assert!(b.ends_with(b"\n") || b.ends_with(b"newline"));
                    got.extend_from_slice(b);
                    Ok(true)
                })
                .unwrap();
            }
            assert_eq!(got, text.as_bytes(), "{parts} parts");
        }
    }
}
