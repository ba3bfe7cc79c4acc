//! Training with GRPO on the candle decoder: the configuration file ([`config`]), the
//! optimizer ([`optim`]), the update ([`update`]) that turns sampled completions, their
//! rewards and part 1's loss into a step of the adapter, checkpoints
//! ([`checkpoint`]), the chart ([`chart`]), and the loop ([`trainer`]) with rollouts, metrics and
//! evaluation, resumable after any interruption.

pub mod chart;
pub mod checkpoint;
pub mod config;
pub mod optim;
pub mod trainer;
pub mod update;

pub use config::TrainConfig;
pub use optim::{AdamW, AdamWConfig, Decay, Grads, Schedule};
pub use trainer::{EvalRecord, StepRecord, Trainer};
pub use update::{Completion, UpdateConfig, UpdateStats, Updater};
