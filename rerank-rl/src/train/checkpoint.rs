//! Checkpoints: everything a run needs to carry on exactly where it stopped.
//!
//! `OUT/checkpoint/` holds the adapter in PEFT's format, the optimizer's moments
//! (`optimizer.safetensors`, f32 as trained, so a resumed run computes with the very
//! same numbers) and `state.json` (the step). It is written as `checkpoint.partial/`
//! and swapped in with renames, so a `kill -9` at any moment leaves either the old
//! checkpoint or the new one, never half of one. Nothing else is needed: the data
//! order and every sample's seed are functions of the run's seed and the step.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use candle_core::Tensor;
use rerank_model::candle::{Adapter, Decoder};
use serde::{Deserialize, Serialize};

use crate::error::{io_error as io, Error, Result};

/// The checkpoint folder's name inside a run's output folder.
pub const CHECKPOINT_DIR: &str = "checkpoint";
const OPTIMIZER_FILE: &str = "optimizer.safetensors";
const STATE_FILE: &str = "state.json";

/// What `state.json` records.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct State {
    /// Steps done.
    pub step: u64,
}

/// Writes a checkpoint of `adapter` and the optimizer `state` after `step` steps.
pub fn save(
    out: &Path,
    step: u64,
    adapter: &Adapter,
    decoder: &Decoder,
    base_model: &str,
    optimizer: (u64, Vec<(String, Tensor)>),
) -> Result<()> {
    let dir = out.join(CHECKPOINT_DIR);
    let partial = out.join(format!("{CHECKPOINT_DIR}.partial"));
    let old = out.join(format!("{CHECKPOINT_DIR}.old"));
    if partial.exists() {
        std::fs::remove_dir_all(&partial).map_err(io(&partial))?;
    }
    adapter.save_peft(&partial, base_model, decoder)?;
    let (steps, moments) = optimizer;
    if steps != step {
        return Err(Error::Inputs(format!(
            "the optimizer took {steps} steps, the run {step}"
        )));
    }
    let tensors: HashMap<String, Tensor> = moments.into_iter().collect();
    let opt = partial.join(OPTIMIZER_FILE);
    candle_core::safetensors::save(&tensors, &opt)?;
    let state = partial.join(STATE_FILE);
    let text = serde_json::to_string_pretty(&State { step }).expect("serialises");
    std::fs::write(&state, text + "\n").map_err(io(&state))?;
    // Swap: the old one aside, the new one in, the old one away.
    if dir.exists() {
        if old.exists() {
            std::fs::remove_dir_all(&old).map_err(io(&old))?;
        }
        std::fs::rename(&dir, &old).map_err(io(&dir))?;
    }
    std::fs::rename(&partial, &dir).map_err(io(&partial))?;
    if old.exists() {
        std::fs::remove_dir_all(&old).map_err(io(&old))?;
    }
    Ok(())
}

/// The checkpoint to resume from, if any: `checkpoint/`, or `checkpoint.old/` when
/// the run was killed between the two renames of [`save`].
pub fn find(out: &Path) -> Option<PathBuf> {
    [CHECKPOINT_DIR.to_string(), format!("{CHECKPOINT_DIR}.old")]
        .into_iter()
        .map(|n| out.join(n))
        .find(|d| d.join(STATE_FILE).is_file())
}

/// A loaded checkpoint.
pub struct Loaded {
    /// Steps done.
    pub step: u64,
    /// The adapter, for `decoder`.
    pub adapter: Adapter,
    /// The optimizer's moments by name.
    pub optimizer: HashMap<String, Tensor>,
}

/// Reads the checkpoint in `dir` for `decoder`.
pub fn load(dir: &Path, decoder: &Decoder) -> Result<Loaded> {
    let state_path = dir.join(STATE_FILE);
    let text = std::fs::read_to_string(&state_path).map_err(io(&state_path))?;
    let state: State = serde_json::from_str(&text).map_err(|e| Error::Data {
        path: state_path.clone(),
        line: e.line() as u64,
        message: e.to_string(),
    })?;
    let adapter = Adapter::load_peft(dir, decoder)?;
    let opt = dir.join(OPTIMIZER_FILE);
    let optimizer =
        candle_core::safetensors::load(&opt, decoder.device()).map_err(|e| Error::Data {
            path: opt.clone(),
            line: 0,
            message: rerank_model::candle::candle_message(&e),
        })?;
    Ok(Loaded {
        step: state.step,
        adapter,
        optimizer,
    })
}
