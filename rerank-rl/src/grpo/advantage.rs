//! Group-relative advantages.
//!
//! TRL (`trl/trainer/grpo_trainer.py`, `_generate_and_score_completions`, 1.16.0):
//! rewards grouped by prompt, `A = (r − mean) / (std + 1e-4)` with the sample standard
//! deviation (Bessel's correction); `scale_rewards` = `group` (the group's std),
//! `batch` (the whole batch's std) or `none` (no division, Dr. GRPO). A group of one
//! has std 0, so its advantage is 0.
//!
//! verl (`verl/trainer/ppo/core_algos.py`, `compute_grpo_outcome_advantage`, 0.9.1):
//! `A = (r − mean) / (std + 1e-6)` (`torch.std`, Bessel's correction), or `r − mean`
//! without `norm_adv_by_std_in_grpo` (Dr. GRPO); a group of one gets mean 0 and std 1.

/// Which standard deviation divides the centred rewards.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RewardScaling {
    /// The group's (GRPO).
    Group,
    /// The whole batch's (TRL's `scale_rewards="batch"`).
    Batch,
    /// None: `A = r − mean_group` (Dr. GRPO).
    None,
}

/// What a group of a single completion gets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SingletonGroup {
    /// Its std is 0 (TRL): the advantage is 0.
    ZeroStd,
    /// Mean 0 and std 1 (verl): the advantage is `r / (1 + ε)`.
    UnitStd,
}

/// How advantages are computed.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AdvantageConfig {
    /// Which std divides.
    pub scaling: RewardScaling,
    /// Added to the std.
    pub epsilon: f64,
    /// Groups of one completion.
    pub singleton: SingletonGroup,
}

impl AdvantageConfig {
    /// TRL's default: the group's std, ε = 1e-4.
    pub fn trl() -> Self {
        AdvantageConfig {
            scaling: RewardScaling::Group,
            epsilon: 1e-4,
            singleton: SingletonGroup::ZeroStd,
        }
    }

    /// verl's GRPO: the group's std, ε = 1e-6, a group of one has mean 0 and std 1.
    pub fn verl() -> Self {
        AdvantageConfig {
            scaling: RewardScaling::Group,
            epsilon: 1e-6,
            singleton: SingletonGroup::UnitStd,
        }
    }

    /// Dr. GRPO: centred rewards, not divided.
    pub fn dr_grpo() -> Self {
        AdvantageConfig {
            scaling: RewardScaling::None,
            ..AdvantageConfig::trl()
        }
    }
}

impl Default for AdvantageConfig {
    fn default() -> Self {
        AdvantageConfig::trl()
    }
}

/// Mean and sample standard deviation (n − 1); std 0 for fewer than two values.
pub(crate) fn mean_std(v: &[f64]) -> (f64, f64) {
    let n = v.len() as f64;
    if v.is_empty() {
        return (0.0, 0.0);
    }
    let mean = v.iter().sum::<f64>() / n;
    if v.len() < 2 {
        return (mean, 0.0);
    }
    let var = v.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / (n - 1.0);
    (mean, var.sqrt())
}

/// The advantage of every completion; `group[i]` says which prompt completion `i`
/// answers (groups need not be contiguous).
///
/// ```
/// use rerank_rl::grpo::{advantages, AdvantageConfig};
/// let a = advantages(&[1.0, 0.0, 0.0, 1.0], &[0, 0, 1, 1], &AdvantageConfig::trl());
/// let s = (0.5f64).sqrt(); // each group's sample std
/// assert!((a[0] - 0.5 / (s + 1e-4)).abs() < 1e-12 && (a[1] + a[0]).abs() < 1e-12);
/// // A group whose rewards are all equal teaches nothing.
/// assert_eq!(advantages(&[0.3, 0.3], &[0, 0], &AdvantageConfig::trl()), vec![0.0, 0.0]);
/// ```
pub fn advantages(rewards: &[f64], group: &[usize], cfg: &AdvantageConfig) -> Vec<f64> {
    assert_eq!(rewards.len(), group.len(), "one group id per reward");
    let mut members: std::collections::BTreeMap<usize, Vec<usize>> = Default::default();
    for (i, &g) in group.iter().enumerate() {
        members.entry(g).or_default().push(i);
    }
    let (_, batch_std) = mean_std(rewards);
    let mut out = vec![0.0; rewards.len()];
    for idx in members.values() {
        let values: Vec<f64> = idx.iter().map(|&i| rewards[i]).collect();
        let (mut mean, mut std) = mean_std(&values);
        if idx.len() == 1 && cfg.singleton == SingletonGroup::UnitStd {
            (mean, std) = (0.0, 1.0);
        }
        for &i in idx {
            let centred = rewards[i] - mean;
            out[i] = match cfg.scaling {
                RewardScaling::None => centred,
                RewardScaling::Group => centred / (std + cfg.epsilon),
                RewardScaling::Batch => centred / (batch_std + cfg.epsilon),
            };
        }
    }
    out
}
