//! Reading and writing examples and completions as JSON lines, with errors that name
//! the file and line.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::Example;
use crate::error::{io_error as io, Error, Result};

/// Reads JSON lines into `T`, skipping blank lines; a malformed line is an error
/// naming the file and line and saying what a line must hold.
pub fn read_jsonl<T: for<'de> Deserialize<'de>>(path: &Path, what: &str) -> Result<Vec<T>> {
    if path.is_dir() {
        return Err(Error::Io {
            path: path.to_path_buf(),
            cause: std::io::Error::other(format!("is a folder; give the {what} file")),
        });
    }
    let f = std::fs::File::open(path).map_err(io(path))?;
    let mut out = Vec::new();
    for (i, line) in BufReader::new(f).lines().enumerate() {
        let line = line.map_err(|e| Error::Data {
            path: path.to_path_buf(),
            line: i as u64 + 1,
            message: format!("cannot be read ({e})"),
        })?;
        if line.trim().is_empty() {
            continue;
        }
        let v = serde_json::from_str(&line).map_err(|e| Error::Data {
            path: path.to_path_buf(),
            line: i as u64 + 1,
            message: format!("not {what} ({e})"),
        })?;
        out.push(v);
    }
    Ok(out)
}

/// Writes values as JSON lines (to `PATH.tmp`, then renamed, so a killed run never
/// leaves half a file under the final name).
pub fn write_jsonl<'a, T: Serialize + 'a>(
    path: &Path,
    items: impl IntoIterator<Item = &'a T>,
) -> Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = std::path::PathBuf::from(tmp);
    {
        let f = std::fs::File::create(&tmp).map_err(io(&tmp))?;
        let mut w = std::io::BufWriter::new(f);
        for item in items {
            serde_json::to_writer(&mut w, item).expect("values serialise");
            w.write_all(b"\n").map_err(io(&tmp))?;
        }
        w.flush().map_err(io(&tmp))?;
        w.get_ref().sync_all().map_err(io(&tmp))?;
    }
    std::fs::rename(&tmp, path).map_err(io(path))
}

/// Reads a file of [`Example`]s (what `rerank rl build-data` writes).
pub fn read_examples(path: &Path) -> Result<Vec<Example>> {
    read_jsonl(
        path,
        "an example (a JSON object with id, qid, split, prompt, doc_ids, method and its ground truth)",
    )
}

/// A model's answer to an example, to be scored: one line of a completions file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Completion {
    /// The example's id.
    pub id: String,
    /// The model's whole output.
    pub completion: String,
}

/// Reads a completions file.
pub fn read_completions(path: &Path) -> Result<Vec<Completion>> {
    read_jsonl(
        path,
        "a completion (a JSON object like {\"id\": \"rearank/12/0\", \"completion\": \"<think>…\"})",
    )
}
