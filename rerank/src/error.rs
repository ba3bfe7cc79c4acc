//! The facade's error type: every crate's errors, with context.

use std::path::PathBuf;

/// Errors of the `rerank` facade.
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
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// What the system said.
        source: std::io::Error,
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
