//! Helpers shared by the examples (each example is a folder with its own README).

use std::path::PathBuf;

/// The repository root (the examples find bundled data relative to it).
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}
