//! GRPO's arithmetic on plain arrays, without a model, as TRL's `GRPOTrainer` and
//! verl's `core_algos.py` compute it:
//!
//! - [`advantage`]: group-relative advantages `A = (r − mean_group) / (std_group + ε)`,
//!   with TRL's and verl's conventions ([`AdvantageConfig::trl`],
//!   [`AdvantageConfig::verl`], [`AdvantageConfig::dr_grpo`]);
//! - [`loss`]: the clipped surrogate with a per-token (or TRL's per-sequence) ratio,
//!   the k3 estimator of the KL to a reference policy, every loss aggregation, and the
//!   gradient of the loss with respect to each token's log-probability (what a trainer
//!   back-propagates through its model);
//! - [`stats`]: what a trainer logs per step (reward mean and std per group, the share
//!   of groups whose rewards are all equal and so teach nothing, clip fractions, KL).
//!
//! Checked against both projects' own code on committed fixtures
//! (`tests/grpo_reference.rs`, `tests/reference/grpo_reference.py`).

pub mod advantage;
pub mod loss;
pub mod stats;

pub use advantage::{advantages, AdvantageConfig, RewardScaling, SingletonGroup};
pub use loss::{
    policy_loss, Aggregation, KlPenalty, LossOutput, PolicyLoss, RatioLevel, SequenceLogProbs,
};
pub use stats::{group_stats, GroupStats};
