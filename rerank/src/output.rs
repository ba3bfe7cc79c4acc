//! Resumable run output: a TREC run and a JSON lines trace, written query by query,
//! so that an interrupted run loses at most the queries in flight and the same command
//! run again carries on where it stopped.
//!
//! Beside the run file `RUN` a progress file `RUN.progress` records the configuration
//! (first line) and each query whose run lines and trace lines are safely on disk
//! (one JSON line per query, written after them). On reopening, lines of queries that
//! never reached the progress file (a query cut off mid-write) are removed, and
//! [`RunOutput::is_done`] tells which queries to skip.

use std::collections::HashSet;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use rerank_core::Ranking;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Writes rankings as they finish; see the module documentation.
pub struct RunOutput {
    run_path: PathBuf,
    run: File,
    trace: Option<(PathBuf, File)>,
    progress: File,
    done: HashSet<String>,
    finished: Vec<Done>,
    tag: String,
    clock: std::time::Instant,
}

#[derive(Serialize, Deserialize)]
struct Header {
    config: serde_json::Value,
}

/// One finished query in the progress file.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Done {
    /// The query.
    pub qid: String,
    /// Wall time since the previous query finished (or since the output was opened):
    /// with batching across queries this is the amortised time per query, and the sum
    /// over all queries is the run's total time, however often it was resumed.
    #[serde(default)]
    pub seconds: f64,
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> Error + '_ {
    move |cause| Error::Io {
        path: path.to_path_buf(),
        cause,
    }
}

/// The progress file that goes with a run file.
pub fn progress_path(run: &Path) -> PathBuf {
    let mut p = run.as_os_str().to_owned();
    p.push(".progress");
    PathBuf::from(p)
}

impl RunOutput {
    /// Opens (or resumes) an output. `config` describes everything that determines the
    /// results (model, method, parameters, inputs): resuming under a different one is
    /// refused. `tag` is the run tag of the TREC lines. With `overwrite`, existing
    /// files are replaced.
    pub fn open(
        run_path: &Path,
        trace_path: Option<&Path>,
        config: &serde_json::Value,
        tag: &str,
        overwrite: bool,
    ) -> Result<RunOutput> {
        let progress_path = progress_path(run_path);
        let mut done = HashSet::new();
        let mut finished = Vec::new();
        let resuming = !overwrite && progress_path.exists();
        if resuming {
            let f = File::open(&progress_path).map_err(io(&progress_path))?;
            let mut lines = BufReader::new(f).lines();
            let header: Option<Header> = lines
                .next()
                .transpose()
                .map_err(io(&progress_path))?
                .and_then(|l| serde_json::from_str(&l).ok());
            let Some(header) = header else {
                return Err(Error::Resume {
                    path: progress_path,
                    message: "unreadable progress file; delete it and the run to start over, or pass --overwrite".into(),
                });
            };
            if &header.config != config {
                return Err(Error::Resume {
                    path: run_path.to_path_buf(),
                    message: format!(
                        "was started with a different configuration ({}); pass --overwrite to start over, or choose another output",
                        config_diff(&header.config, config)
                    ),
                });
            }
            for l in lines {
                let l = l.map_err(io(&progress_path))?;
                // A line cut off by an interruption does not parse: that query is
                // not done.
                if let Ok(d) = serde_json::from_str::<Done>(&l) {
                    if done.insert(d.qid.clone()) {
                        finished.push(d);
                    }
                }
            }
            keep_done(run_path, &done, |l| {
                l.split_whitespace().next().map(str::to_owned)
            })?;
            if let Some(t) = trace_path {
                keep_done(t, &done, |l| {
                    serde_json::from_str::<serde_json::Value>(l)
                        .ok()
                        .and_then(|v| v.get("query_id")?.as_str().map(str::to_owned))
                })?;
            }
            // Rewrite the progress file without a possibly cut-off last line.
            let mut text = serde_json::to_string(&header).expect("serialisable") + "\n";
            for d in &finished {
                text += &(serde_json::to_string(d).expect("json") + "\n");
            }
            write_atomic(&progress_path, text.as_bytes())?;
        } else {
            if !overwrite && run_path.exists() {
                return Err(Error::Resume {
                    path: run_path.to_path_buf(),
                    message: "exists and was not written by a resumable rerank run; pass --overwrite to replace it".into(),
                });
            }
            if let Some(parent) = run_path.parent().filter(|p| !p.as_os_str().is_empty()) {
                std::fs::create_dir_all(parent).map_err(io(parent))?;
            }
            let header = serde_json::to_string(&Header {
                config: config.clone(),
            })
            .expect("serialisable");
            write_atomic(&progress_path, format!("{header}\n").as_bytes())?;
            write_atomic(run_path, b"")?;
            if let Some(t) = trace_path {
                write_atomic(t, b"")?;
            }
        }
        let append = |p: &Path| {
            OpenOptions::new()
                .create(true)
                .append(true)
                .open(p)
                .map_err(io(p))
        };
        Ok(RunOutput {
            run: append(run_path)?,
            trace: trace_path
                .map(|p| append(p).map(|f| (p.to_path_buf(), f)))
                .transpose()?,
            progress: append(&progress_path)?,
            run_path: run_path.to_path_buf(),
            done,
            finished,
            tag: tag.to_owned(),
            clock: std::time::Instant::now(),
        })
    }

    /// Whether this query's results are already written.
    pub fn is_done(&self, qid: &str) -> bool {
        self.done.contains(qid)
    }

    /// Number of queries written.
    pub fn done_count(&self) -> usize {
        self.done.len()
    }

    /// Appends a query's ranking (scores descend from the list length to 1) and its
    /// trace, then marks it done. Each file is synced before the next is written.
    pub fn write(&mut self, ranking: &Ranking) -> Result<()> {
        let n = ranking.candidates.len();
        let mut lines = String::new();
        for (i, c) in ranking.candidates.iter().enumerate() {
            lines += &format!(
                "{} Q0 {} {} {} {}\n",
                ranking.query_id,
                c.id(),
                i + 1,
                n - i,
                self.tag
            );
        }
        let run_path = self.run_path.clone();
        self.run
            .write_all(lines.as_bytes())
            .map_err(io(&run_path))?;
        self.run.sync_data().map_err(io(&run_path))?;
        if let Some((trace_path, t)) = &mut self.trace {
            let mut buf = Vec::new();
            rerank_core::trace::write_jsonl(&mut buf, &ranking.calls).map_err(io(trace_path))?;
            t.write_all(&buf).map_err(io(trace_path))?;
            t.sync_data().map_err(io(trace_path))?;
        }
        let d = Done {
            qid: ranking.query_id.clone(),
            seconds: self.clock.elapsed().as_secs_f64(),
        };
        self.clock = std::time::Instant::now();
        let line = serde_json::to_string(&d).expect("serialisable") + "\n";
        let p = progress_path(&run_path);
        self.progress.write_all(line.as_bytes()).map_err(io(&p))?;
        self.progress.sync_data().map_err(io(&p))?;
        self.done.insert(ranking.query_id.clone());
        self.finished.push(d);
        Ok(())
    }

    /// The queries written so far (resumed ones included), in the order they finished.
    pub fn finished(&self) -> &[Done] {
        &self.finished
    }

    /// Reads the queries recorded in a run's progress file.
    pub fn read_progress(run_path: &Path) -> Result<Vec<Done>> {
        let p = progress_path(run_path);
        let text = std::fs::read_to_string(&p).map_err(io(&p))?;
        Ok(text
            .lines()
            .skip(1)
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect())
    }
}

/// What differs between two configurations, as `key: then -> now`.
fn config_diff(then: &serde_json::Value, now: &serde_json::Value) -> String {
    let (Some(a), Some(b)) = (then.as_object(), now.as_object()) else {
        return format!("{then} -> {now}");
    };
    let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
    keys.sort();
    keys.dedup();
    let null = serde_json::Value::Null;
    keys.into_iter()
        .filter(|k| a.get(*k) != b.get(*k))
        .map(|k| {
            format!(
                "{k}: {} -> {}",
                a.get(k).unwrap_or(&null),
                b.get(k).unwrap_or(&null)
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Keeps only the lines of finished queries (and drops a cut-off last line).
fn keep_done(
    path: &Path,
    done: &HashSet<String>,
    qid: impl Fn(&str) -> Option<String>,
) -> Result<()> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(io(path)(e)),
    };
    let mut kept = String::with_capacity(text.len());
    for l in text.split_inclusive('\n') {
        if !l.ends_with('\n') {
            continue;
        }
        if qid(l.trim_end()).is_some_and(|q| done.contains(&q)) {
            kept.push_str(l);
        }
    }
    write_atomic(path, kept.as_bytes())
}

fn write_atomic(path: &Path, data: &[u8]) -> Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    {
        let mut f = File::create(&tmp).map_err(io(&tmp))?;
        f.write_all(data).map_err(io(&tmp))?;
        f.sync_all().map_err(io(&tmp))?;
    }
    std::fs::rename(&tmp, path).map_err(io(path))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rerank_core::{candidates_from_docs, Document};

    fn ranking(q: &str, n: usize) -> Ranking {
        Ranking {
            query_id: q.into(),
            candidates: candidates_from_docs((0..n).map(|i| Document::new(format!("d{i}"), "t"))),
            calls: Vec::new(),
        }
    }

    fn lines(p: &Path) -> Vec<String> {
        std::fs::read_to_string(p)
            .unwrap()
            .lines()
            .map(str::to_owned)
            .collect()
    }

    #[test]
    fn a_failed_trace_write_names_the_trace_file() {
        let dir = tempfile::tempdir().unwrap();
        let run = dir.path().join("x.run");
        let trace = dir.path().join("x.trace");
        let cfg = serde_json::json!({"model": "m"});
        let mut out = RunOutput::open(&run, Some(&trace), &cfg, "tag", false).unwrap();
        // The trace's disk fills up: /dev/full fails every write with ENOSPC.
        let full = std::fs::OpenOptions::new()
            .append(true)
            .open("/dev/full")
            .unwrap();
        out.trace = Some((trace.clone(), full));
        let mut r = ranking("q1", 2);
        r.calls.push(rerank_core::CallTrace {
            query_id: "q1".into(),
            method: "sliding_window".into(),
            step: 0,
            positions: vec![0, 1],
            doc_ids: vec!["d0".into(), "d1".into()],
            applied: true,
            error: None,
            record: Default::default(),
        });
        let e = out.write(&r).unwrap_err().to_string();
        assert_eq!(
            e,
            format!("{}: No space left on device (os error 28)", trace.display())
        );
        // The query is not marked done, so a rerun does it again.
        assert!(!out.is_done("q1"));
    }

    #[test]
    fn resumes_and_drops_what_a_crash_left_half_written() {
        let dir = tempfile::tempdir().unwrap();
        let run = dir.path().join("out/x.run");
        let trace = dir.path().join("out/x.trace");
        let cfg = serde_json::json!({"model": "m", "top": 20});
        let mut out = RunOutput::open(&run, Some(&trace), &cfg, "tag", false).unwrap();
        out.write(&ranking("q1", 3)).unwrap();
        out.write(&ranking("q2", 2)).unwrap();
        drop(out);
        assert_eq!(lines(&run)[0], "q1 Q0 d0 1 3 tag");
        // A crash while writing q3: run lines on disk, some cut off, no progress line;
        // and a cut-off progress line.
        std::fs::OpenOptions::new()
            .append(true)
            .open(&run)
            .unwrap()
            .write_all(b"q3 Q0 d0 1 3 tag\nq3 Q0 d1 2")
            .unwrap();
        std::fs::OpenOptions::new()
            .append(true)
            .open(progress_path(&run))
            .unwrap()
            .write_all(b"{\"qid\":\"q3\",\"sec")
            .unwrap();
        let mut out = RunOutput::open(&run, Some(&trace), &cfg, "tag", false).unwrap();
        assert!(out.is_done("q1") && out.is_done("q2") && !out.is_done("q3"));
        assert_eq!(out.finished().len(), 2);
        assert_eq!(lines(&run).len(), 5);
        out.write(&ranking("q3", 1)).unwrap();
        drop(out);
        assert_eq!(lines(&run).len(), 6);
        assert_eq!(RunOutput::read_progress(&run).unwrap().len(), 3);
        // A different configuration is refused and says what changed.
        let other = serde_json::json!({"model": "m", "top": 30});
        let e = RunOutput::open(&run, Some(&trace), &other, "tag", false)
            .err()
            .unwrap()
            .to_string();
        assert!(
            e.contains("top: 20 -> 30") && e.contains("--overwrite"),
            "{e}"
        );
        // Overwriting starts over.
        let out = RunOutput::open(&run, Some(&trace), &other, "tag", true).unwrap();
        assert_eq!(out.done_count(), 0);
        assert!(lines(&run).is_empty());
    }

    #[test]
    fn refuses_to_clobber_a_foreign_file() {
        let dir = tempfile::tempdir().unwrap();
        let run = dir.path().join("bm25.run");
        std::fs::write(&run, "1 Q0 d 1 1 x\n").unwrap();
        let e = RunOutput::open(&run, None, &serde_json::json!({}), "t", false)
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("not written by a resumable rerank run"), "{e}");
        assert_eq!(lines(&run).len(), 1);
    }
}
