//! Which query goes to train, validation and test: lists of query ids, or a seeded
//! fraction of the labelled queries. A query is in one split at most, so a model is
//! never tested on a query it trained on.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// A split of the queries.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Split {
    /// Trained on.
    Train,
    /// Watched during training (model selection).
    Validation,
    /// Held out for the final measurement.
    Test,
}

impl Split {
    /// Every split, in order.
    pub const ALL: [Split; 3] = [Split::Train, Split::Validation, Split::Test];

    /// `train`, `validation` or `test`.
    pub fn name(self) -> &'static str {
        match self {
            Split::Train => "train",
            Split::Validation => "validation",
            Split::Test => "test",
        }
    }
}

impl fmt::Display for Split {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// How queries are assigned to splits.
#[derive(Clone, Debug, PartialEq)]
pub enum SplitSpec {
    /// Files of query ids, one per line (`#` comments and blank lines skipped); a split
    /// without a file gets no query.
    Lists {
        /// Training queries.
        train: PathBuf,
        /// Validation queries.
        validation: Option<PathBuf>,
        /// Test queries.
        test: Option<PathBuf>,
    },
    /// The labelled queries shuffled with `seed`, then the first `test` fraction to
    /// test, the next `validation` fraction to validation, the rest to train (each
    /// count rounded to the nearest query).
    Fraction {
        /// Share of the queries for validation.
        validation: f64,
        /// Share of the queries for test.
        test: f64,
        /// The shuffle's seed.
        seed: u64,
    },
}

impl SplitSpec {
    /// Assigns queries. `labelled` are the queries that can give examples (sorted
    /// first, so the result does not depend on their order). Every query named in a
    /// list must be labelled; a split that a fraction gives a share of must not end up
    /// empty.
    pub fn assign<S: AsRef<str>>(&self, labelled: &[S]) -> Result<BTreeMap<String, Split>> {
        let mut ids: Vec<String> = labelled.iter().map(|s| s.as_ref().to_owned()).collect();
        ids.sort();
        ids.dedup();
        let mut out = BTreeMap::new();
        match self {
            SplitSpec::Lists {
                train,
                validation,
                test,
            } => {
                let known: std::collections::HashSet<&str> =
                    ids.iter().map(String::as_str).collect();
                for (split, path) in [
                    (Split::Train, Some(train)),
                    (Split::Validation, validation.as_ref()),
                    (Split::Test, test.as_ref()),
                ] {
                    let Some(path) = path else { continue };
                    let listed = read_ids(path)?;
                    if listed.is_empty() {
                        return Err(Error::Inputs(format!(
                            "{}: the {split} list names no query",
                            path.display()
                        )));
                    }
                    for (qid, line) in listed {
                        if !known.contains(qid.as_str()) {
                            return Err(Error::Data {
                                path: path.clone(),
                                line,
                                message: format!(
                                    "query '{qid}' of the {split} split has no relevance \
                                     judgements (or no topic); remove it or add its judgements \
                                     to the qrels"
                                ),
                            });
                        }
                        if let Some(other) = out.insert(qid.clone(), split) {
                            return Err(Error::Data {
                                path: path.clone(),
                                line,
                                message: format!(
                                    "query '{qid}' is in the {other} split already; a query can be \
                                     in one split only"
                                ),
                            });
                        }
                    }
                }
            }
            SplitSpec::Fraction {
                validation,
                test,
                seed,
            } => {
                for (name, f) in [("validation", validation), ("test", test)] {
                    if !(0.0..1.0).contains(f) {
                        return Err(Error::Config(format!(
                            "the {name} fraction must be at least 0 and below 1, got {f}"
                        )));
                    }
                }
                if validation + test >= 1.0 {
                    return Err(Error::Config(format!(
                        "validation ({validation}) and test ({test}) fractions leave nothing to train on"
                    )));
                }
                ids.shuffle(&mut ChaCha8Rng::seed_from_u64(*seed));
                let n = ids.len();
                let n_test = (test * n as f64).round() as usize;
                let n_val = (validation * n as f64).round() as usize;
                for (name, f, count) in [("test", test, n_test), ("validation", validation, n_val)]
                {
                    if *f > 0.0 && count == 0 {
                        return Err(Error::Inputs(format!(
                            "a {name} fraction of {f} of {n} labelled queries is no query; raise it \
                             or set it to 0"
                        )));
                    }
                }
                if n_test + n_val >= n {
                    return Err(Error::Inputs(format!(
                        "of {n} labelled queries, {n_test} go to test and {n_val} to validation, \
                         which leaves none to train on"
                    )));
                }
                for (i, qid) in ids.into_iter().enumerate() {
                    let split = if i < n_test {
                        Split::Test
                    } else if i < n_test + n_val {
                        Split::Validation
                    } else {
                        Split::Train
                    };
                    out.insert(qid, split);
                }
            }
        }
        Ok(out)
    }
}

/// Query ids of a list file, with their line numbers.
pub fn read_ids(path: &Path) -> Result<Vec<(String, u64)>> {
    let text = std::fs::read_to_string(path).map_err(|cause| Error::Io {
        path: path.to_path_buf(),
        cause,
    })?;
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let l = line.trim();
        if l.is_empty() || l.starts_with('#') {
            continue;
        }
        if l.split_whitespace().count() != 1 {
            return Err(Error::Data {
                path: path.to_path_buf(),
                line: i as u64 + 1,
                message: "expected one query id per line".into(),
            });
        }
        out.push((l.to_owned(), i as u64 + 1));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fractions_are_seeded_and_disjoint() {
        let ids: Vec<String> = (1..=93).map(|i| i.to_string()).collect();
        let spec = SplitSpec::Fraction {
            validation: 0.1,
            test: 0.45,
            seed: 7,
        };
        let a = spec.assign(&ids).unwrap();
        let mut shuffled = ids.clone();
        shuffled.reverse();
        assert_eq!(a, spec.assign(&shuffled).unwrap(), "order-independent");
        let count = |s| a.values().filter(|&&x| x == s).count();
        assert_eq!((count(Split::Test), count(Split::Validation)), (42, 9));
        assert_eq!(count(Split::Train), 93 - 42 - 9);
        let other = SplitSpec::Fraction {
            validation: 0.1,
            test: 0.45,
            seed: 8,
        }
        .assign(&ids)
        .unwrap();
        assert_ne!(a, other);
    }

    #[test]
    fn empty_splits_are_refused() {
        let ids = ["1", "2", "3"];
        let e = SplitSpec::Fraction {
            validation: 0.1,
            test: 0.3,
            seed: 1,
        }
        .assign(&ids)
        .unwrap_err()
        .to_string();
        assert_eq!(
            e,
            "a validation fraction of 0.1 of 3 labelled queries is no query; raise it or set it to 0"
        );
        let e = SplitSpec::Fraction {
            validation: 0.4,
            test: 0.5,
            seed: 1,
        }
        .assign(&ids)
        .unwrap_err()
        .to_string();
        assert!(e.contains("leaves none to train on"), "{e}");
    }
}
