//! trec_eval's `-Z`: per-query values as z-scores against reference means and
//! standard deviations.

use std::path::Path;

use rustc_hash::FxHashMap;

use crate::error::{Error, Result};
use crate::lines::{self, Fields};

/// The value trec_eval prints when a z-score cannot be computed.
pub const MISSING_ZSCORE: f64 = -1_000_000.0;

/// Reference means and standard deviations per query and measure, read from a file of
/// lines `qid measure mean stddev` (trec_eval's `-Z` file).
#[derive(Clone, Debug, Default)]
pub struct ZScores {
    by_qid: FxHashMap<String, FxHashMap<String, (f64, f64)>>,
}

impl ZScores {
    /// Reads a z-score file.
    pub fn from_path(path: impl AsRef<Path>) -> Result<ZScores> {
        let path = path.as_ref();
        let data = std::fs::read(path).map_err(|cause| Error::Io {
            path: path.to_path_buf(),
            cause,
        })?;
        lines::check_not_binary(&data, path, 0)?;
        let mut z = ZScores::default();
        for (i, line) in data.split(|&b| b == b'\n').enumerate() {
            let line_no = i as u64 + 1;
            if line.iter().all(|&b| lines::is_space(b)) {
                continue;
            }
            let f: Vec<&[u8]> = Fields::new(line).collect();
            if f.len() != 4 {
                return Err(Error::Parse {
                    path: path.to_path_buf(),
                    line: line_no,
                    message: format!(
                        "expected 4 fields `qid measure mean stddev`, found {}",
                        f.len()
                    ),
                });
            }
            let qid = lines::field_str(f[0], path, line_no, "query id")?;
            let measure = lines::field_str(f[1], path, line_no, "measure")?;
            let mean = lines::parse_score(f[2], path, line_no)?;
            let sd = lines::parse_score(f[3], path, line_no)?;
            z.insert(qid, measure, mean, sd);
        }
        Ok(z)
    }

    /// Sets the reference mean and standard deviation of `measure` for `qid`.
    pub fn insert(&mut self, qid: &str, measure: &str, mean: f64, stddev: f64) {
        self.by_qid
            .entry(qid.to_owned())
            .or_default()
            .insert(measure.to_owned(), (mean, stddev));
    }

    /// `(value - mean) / stddev`, trec_eval's way: 0 when the standard deviation is 0
    /// and the value equals the mean, [`MISSING_ZSCORE`] when the query or measure is
    /// unknown or the standard deviation is 0 otherwise.
    pub fn convert(&self, qid: &str, measure: &str, value: f64) -> f64 {
        let Some(&(mean, sd)) = self.by_qid.get(qid).and_then(|m| m.get(measure)) else {
            return MISSING_ZSCORE;
        };
        if sd != 0.0 {
            (value - mean) / sd
        } else if value == mean {
            0.0
        } else {
            MISSING_ZSCORE
        }
    }
}
