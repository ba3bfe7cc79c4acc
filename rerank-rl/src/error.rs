//! The crate's error type.

use std::path::{Path, PathBuf};

/// Errors of `rerank-rl`.
///
/// Each message is complete on its own (it goes into logs as it is): a variant with an
/// underlying cause puts it in the message and keeps it in a `cause` field, and does
/// not also return it from `source()`, so a printed error chain names each cause once.
/// Every error about input names the file and, where there is one, the line.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file could not be read or written.
    #[error("{}: {cause}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// What the system said.
        cause: std::io::Error,
    },
    /// A line of an input file is malformed.
    #[error("{}:{line}: {message}", path.display())]
    Data {
        /// The file.
        path: PathBuf,
        /// Line number, from 1.
        line: u64,
        /// What is wrong and what to do.
        message: String,
    },
    /// The inputs do not fit together (a split without a labelled query, a run whose
    /// documents are not in the corpus, …).
    #[error("{0}")]
    Inputs(String),
    /// A setting cannot work.
    #[error("invalid setting: {0}")]
    Config(String),
    /// Writing an export file (parquet) failed.
    #[error("{}: {message}", path.display())]
    Export {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// From `rerank-model` (loading or running the model, adapters).
    #[error(transparent)]
    Model(#[from] rerank_model::Error),
    /// A tensor operation of training failed.
    #[error("training: {0}")]
    Tensor(String),
    /// From `rerank-core` (topics and corpus files).
    #[error(transparent)]
    Core(#[from] rerank_core::Error),
    /// From `rerank-eval` (qrels and runs).
    #[error(transparent)]
    Eval(#[from] rerank_eval::Error),
    /// From `rerank-prompt` (templates).
    #[error(transparent)]
    Prompt(#[from] rerank_prompt::Error),
}

impl From<candle_core::Error> for Error {
    fn from(e: candle_core::Error) -> Self {
        Error::Tensor(rerank_model::candle::candle_message(&e))
    }
}

/// Maps an I/O error on `path` to [`Error::Io`] (for `map_err`).
pub(crate) fn io_error(path: &Path) -> impl Fn(std::io::Error) -> Error + '_ {
    move |cause| Error::Io {
        path: path.to_path_buf(),
        cause,
    }
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
