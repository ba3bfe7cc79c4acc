//! The crate's error type.

use std::path::PathBuf;

/// Errors of `rerank-prompt`.
///
/// Each message is complete on its own (it goes into traces and logs as it is): a
/// variant with an underlying cause, such as the operating system's I/O error, puts
/// it in the message and keeps it in a `cause` field, and does not also return it
/// from `source()`, so a printed error chain names each cause once.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file could not be read.
    #[error("cannot read {}: {cause}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The operating-system error.
        cause: std::io::Error,
    },
    /// No built-in template has this name.
    #[error("unknown prompt template '{name}'; built-in templates: {known} (or give a TOML file)")]
    UnknownTemplate {
        /// The name asked for.
        name: String,
        /// The built-in names.
        known: String,
    },
    /// A user template file cannot be used.
    #[error("prompt template {}: {message}", path.display())]
    BadTemplate {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// A chat template failed to compile or render.
    #[error("chat template: {0}")]
    ChatTemplate(String),
    /// Token truncation was asked for without a tokenizer.
    #[error("truncating by tokens needs the model's tokenizer (a TokenCounter)")]
    NeedsTokenizer,
    /// Even with empty passages the prompt exceeds the budget.
    #[error("the prompt does not fit in {budget} tokens even with empty passages (it needs {without_passages}); raise the context size or shorten the query")]
    DoesNotFit {
        /// The budget.
        budget: usize,
        /// The prompt's size with empty passages.
        without_passages: usize,
    },
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
