//! TRL: `GRPOTrainer` takes a conversational dataset (a `prompt` column of chat
//! messages) and passes every other column to the reward functions as lists. The JSON
//! lines `rerank rl build-data` writes are that dataset as they are:
//!
//! ```python
//! from datasets import load_dataset
//! from trl import GRPOConfig, GRPOTrainer
//! from rerank_reward import reward_func
//! train = load_dataset("json", data_files="data/train.jsonl", split="train")
//! trainer = GRPOTrainer(model="Qwen/Qwen2.5-3B-Instruct", reward_funcs=reward_func,
//!                       args=GRPOConfig(num_generations=8, beta=0.001), train_dataset=train)
//! ```

use std::path::Path;

use crate::data::{io, Example};
use crate::error::Result;

/// Writes `dir/{split}.jsonl` for every split that has examples; returns the files.
pub fn write_splits(dir: &Path, examples: &[Example]) -> Result<Vec<std::path::PathBuf>> {
    let mut out = Vec::new();
    for (split, rows) in super::by_split(examples) {
        let path = dir.join(format!("{split}.jsonl"));
        io::write_jsonl(&path, rows)?;
        out.push(path);
    }
    Ok(out)
}
