//! The facade's error type: every crate's errors, with context.

use std::path::PathBuf;

/// Errors of the `rerank` facade.
///
/// Each message is complete on its own (it goes into traces and logs as it is): a
/// variant with an underlying cause, such as the operating system's I/O error, puts
/// it in the message and keeps it in a `cause` field, and does not also return it
/// from `source()`, so a printed error chain names each cause once.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// From `rerank-core` (algorithm configuration, topics and corpus files).
    #[error(transparent)]
    Core(#[from] rerank_core::Error),
    /// From `rerank-prompt` (templates).
    #[error(transparent)]
    Prompt(#[from] rerank_prompt::Error),
    /// From `rerank-model` (loading or running a model).
    #[error(transparent)]
    Model(#[from] rerank_model::Error),
    /// From `rerank-eval` (runs and qrels).
    #[error(transparent)]
    Eval(#[from] rerank_eval::Error),
    /// The reranker was configured inconsistently.
    #[error("{0}")]
    Config(String),
    /// The BM25 index.
    #[error("BM25 index: {0}")]
    Index(String),
    /// A file could not be read or written.
    #[error("{}: {cause}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// What the system said.
        cause: std::io::Error,
    },
    /// An output cannot be resumed (written by another configuration, or not by a
    /// resumable run).
    #[error("{}: {message}", path.display())]
    Resume {
        /// The output file.
        path: PathBuf,
        /// What is wrong and what to do.
        message: String,
    },
}

/// `Result` with the facade's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
