//! What a trainer logs about a step's rewards.

use serde::Serialize;

use super::advantage::mean_std;

/// Reward statistics of a batch of groups.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct GroupStats {
    /// Groups (prompts).
    pub groups: usize,
    /// Completions.
    pub completions: usize,
    /// Mean reward over completions.
    pub reward_mean: f64,
    /// Sample std of the rewards over completions.
    pub reward_std: f64,
    /// Mean over groups of each group's sample std.
    pub group_std_mean: f64,
    /// Share of groups whose rewards are all equal: their advantages are 0 and they
    /// teach nothing (when it nears 1, the task is too hard or too easy for the model).
    pub all_equal: f64,
    /// Each group's (mean, sample std), by group id.
    pub per_group: Vec<(usize, f64, f64)>,
}

/// Statistics of `rewards`, `group[i]` naming completion `i`'s prompt.
///
/// ```
/// let s = rerank_rl::grpo::group_stats(&[1.0, 1.0, 0.0, 1.0], &[0, 0, 1, 1]);
/// assert_eq!((s.groups, s.all_equal, s.reward_mean), (2, 0.5, 0.75));
/// ```
pub fn group_stats(rewards: &[f64], group: &[usize]) -> GroupStats {
    let mut members: std::collections::BTreeMap<usize, Vec<f64>> = Default::default();
    for (r, &g) in rewards.iter().zip(group) {
        members.entry(g).or_default().push(*r);
    }
    let (reward_mean, reward_std) = mean_std(rewards);
    let per_group: Vec<(usize, f64, f64)> = members
        .iter()
        .map(|(&g, v)| {
            let (m, s) = mean_std(v);
            (g, m, s)
        })
        .collect();
    let equal = members
        .values()
        .filter(|v| v.iter().all(|x| *x == v[0]))
        .count();
    let n = members.len().max(1) as f64;
    GroupStats {
        groups: members.len(),
        completions: rewards.len(),
        reward_mean,
        reward_std,
        group_std_mean: per_group.iter().map(|p| p.2).sum::<f64>() / n,
        all_equal: equal as f64 / n,
        per_group,
    }
}
