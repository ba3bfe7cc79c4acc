//! The crate's error type.

/// Errors of `rerank-core`.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A ranking algorithm's configuration cannot work.
    #[error("invalid configuration: {0}")]
    Config(String),
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
