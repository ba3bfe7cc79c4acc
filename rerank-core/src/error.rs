//! The crate's error type.

use std::path::PathBuf;

/// Errors of `rerank-core`.
///
/// Each message is complete on its own (it goes into traces and logs as it is): a
/// variant with an underlying cause, such as the operating system's I/O error, puts
/// it in the message and keeps it in a `cause` field, and does not also return it
/// from `source()`, so a printed error chain names each cause once.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A ranking algorithm's configuration cannot work.
    #[error("invalid configuration: {0}")]
    Config(String),
    /// A file could not be read.
    #[error("{}: {cause}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// What the system said.
        cause: std::io::Error,
    },
    /// A topics or corpus file is malformed.
    #[error("{}:{line}: {message}", path.display())]
    Data {
        /// The file.
        path: PathBuf,
        /// Line number, from 1.
        line: u64,
        /// What is wrong and what to do.
        message: String,
    },
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
