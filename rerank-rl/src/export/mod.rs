//! Export for the engines that train 7B–32B models on GPU clusters.
//!
//! - [`verl`]: one parquet file per split with verl's RL schema (`data_source`,
//!   `prompt` as chat messages, `ability`, `reward_model {style, ground_truth}`,
//!   `extra_info`), and the reward module with verl's `compute_score`.
//! - [`trl`]: TRL's conversational dataset is the JSON lines of
//!   [`crate::data::io`] as they are (`prompt` as chat messages, the other fields as
//!   columns), and the same module's `reward_func` has TRL's signature.
//!
//! [`REWARD_MODULE`] is that module: plain Python, computing exactly the Rust rewards.

pub mod trl;
pub mod verl;

use std::path::Path;

use crate::data::{Example, Split};
use crate::error::{Error, Result};

/// The examples of each split that has any, in split order.
pub(crate) fn by_split(examples: &[Example]) -> Vec<(Split, Vec<&Example>)> {
    Split::ALL
        .into_iter()
        .map(|s| {
            (
                s,
                examples.iter().filter(|e| e.split == s).collect::<Vec<_>>(),
            )
        })
        .filter(|(_, rows)| !rows.is_empty())
        .collect()
}

/// The Python reward module (`rerank_reward.py`): verl's `compute_score` and TRL's
/// `reward_func`, computing exactly [`crate::reward`]'s rewards.
pub const REWARD_MODULE: &str = include_str!("../../python/rerank_reward.py");

/// Writes [`REWARD_MODULE`] as `dir/rerank_reward.py`.
pub fn write_reward_module(dir: &Path) -> Result<std::path::PathBuf> {
    let path = dir.join("rerank_reward.py");
    std::fs::write(&path, REWARD_MODULE).map_err(|cause| Error::Io {
        path: path.clone(),
        cause,
    })?;
    Ok(path)
}
