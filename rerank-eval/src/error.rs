//! The crate's error type.

use std::path::PathBuf;

/// Where a piece of input came from: a file path, or a name for in-memory data
/// (`"<stdin>"`, `"<memory>"`), so that every error can say where to look.
pub type Source = PathBuf;

/// Everything that can go wrong in `rerank-eval`.
///
/// Every variant that concerns input says which file (or in-memory source) and, where
/// there is one, which line (1-based, counting every physical line, comments included),
/// so that a user can open the file at the right place.
///
/// Each message is complete on its own (it goes into traces and logs as it is): a
/// variant with an underlying cause, such as the operating system's I/O error, puts
/// it in the message and keeps it in a `cause` field, and does not also return it
/// from `source()`, so a printed error chain names each cause once.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The file could not be opened or read.
    #[error("cannot read {}: {cause}", path.display())]
    Io {
        /// The file.
        path: Source,
        /// The operating-system error.
        cause: std::io::Error,
    },

    /// A line does not have the shape the format requires.
    #[error("{}:{line}: {message}", path.display())]
    Parse {
        /// The file.
        path: Source,
        /// 1-based line number.
        line: u64,
        /// What was expected and what was found.
        message: String,
    },

    /// The file holds no content line at all.
    #[error("{} has no {what} lines (it is empty or holds only comments)", path.display())]
    Empty {
        /// The file.
        path: Source,
        /// `"qrels"` or `"run"`.
        what: &'static str,
    },

    /// The same document appears twice in one query's ranking (trec_eval refuses this
    /// too), or twice in one query's judgements.
    #[error("{}: document '{docno}' appears twice for query '{qid}'{}", path.display(), line.map(|l| format!(" (second time at line {l})")).unwrap_or_default())]
    DuplicateDocument {
        /// The file (or in-memory source).
        path: Source,
        /// The query.
        qid: String,
        /// The repeated document.
        docno: String,
        /// Line of the second occurrence, where known.
        line: Option<u64>,
    },

    /// `-m` named a measure or nickname that does not exist.
    #[error("unknown measure '{0}' (try `rerank eval --list-measures`)")]
    UnknownMeasure(String),

    /// A measure's parameters could not be used.
    #[error("measure '{measure}': {message}")]
    BadParameter {
        /// The measure name as given.
        measure: String,
        /// What is wrong.
        message: String,
    },

    /// Nothing to average over: no query has both judgements and results.
    #[error("no query has both relevance judgements and results (qrels {} queries, run {} queries); check that the query ids match", qrels_queries, run_queries)]
    NoQueriesInCommon {
        /// Number of queries in the qrels.
        qrels_queries: usize,
        /// Number of queries in the run.
        run_queries: usize,
    },

    /// A value given from Rust code cannot be used (for example a NaN score).
    #[error("invalid value: {0}")]
    InvalidValue(String),

    /// A statistical comparison was asked for inputs that do not allow it.
    #[error("cannot compare: {0}")]
    Compare(String),
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
