//! Training with GRPO on the candle decoder: the optimizer ([`optim`]) and the update
//! ([`update`]) that turns sampled completions, their rewards and part 1's loss into
//! a step of the adapter.

pub mod optim;
pub mod update;

pub use optim::{AdamW, AdamWConfig, Decay, Grads, Schedule};
pub use update::{Completion, UpdateConfig, UpdateStats, Updater};
