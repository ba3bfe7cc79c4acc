//! Rewards: what one completion earns for one training example, as the published
//! recipes define it, with its parts for logging.
//!
//! | reward | for | total | parts |
//! | --- | --- | --- | --- |
//! | [`RearankReward`] | listwise windows ([`ListwiseTruth`]: graded labels) | `0.8·r_rank + 0.1·r_think_answer + 0.1·r_answer_format` | `rank`, `ndcg`, `think_answer`, `answer_format` |
//! | [`RankR1Reward`] | setwise sets ([`SetwiseTruth`]: the positive) | 1 when the pick is the positive, else 0 | `exact`, `lenient` |
//!
//! Every reward is a total function: any string gets a finite value inside
//! [`Reward::bounds`], and never a panic.
//!
//! To add a reward, implement [`Reward`]: its `Truth` is what an example carries for
//! it, `score` the value of one completion with its parts, `bounds` the range the
//! value can take for that truth (the trainer logs it; property tests check it).

mod rank_r1;
mod rearank;
pub(crate) mod text;

use serde::{Deserialize, Serialize};

pub use rank_r1::{RankR1Reward, RankR1Rule};
pub use rearank::{RankGain, RearankReward, RearankWeights};

/// The ground truth of a listwise example: each passage's relevance label, in prompt
/// order (`labels[0]` is passage `[1]`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListwiseTruth {
    /// Graded labels (0: not relevant).
    pub labels: Vec<i32>,
}

/// The ground truth of a setwise example: which passage is the labelled positive.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SetwiseTruth {
    /// The positive, 0-based in prompt order (`[positive + 1]` in the prompt).
    pub positive: usize,
    /// Passages in the set.
    pub n: usize,
}

impl SetwiseTruth {
    /// The answer Rank-R1's rule accepts: `[k]`, counting from 1.
    pub fn label(&self) -> String {
        format!("[{}]", self.positive + 1)
    }
}

/// One named part of a reward.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Part {
    /// Its name (`rank`, `think_answer`, …).
    pub name: &'static str,
    /// Its value, before weighting.
    pub value: f64,
}

/// A completion's reward: the total and its parts.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Scored {
    /// What the trainer optimises.
    pub total: f64,
    /// The parts, for logging.
    pub parts: Vec<Part>,
}

impl Scored {
    /// A part's value by name.
    pub fn part(&self, name: &str) -> Option<f64> {
        self.parts.iter().find(|p| p.name == name).map(|p| p.value)
    }
}

/// A reward a trainer calls per completion. See the module documentation.
pub trait Reward {
    /// What an example carries for this reward.
    type Truth;

    /// A short name for logs (`rearank`, `rank-r1`).
    fn name(&self) -> &'static str;

    /// The reward of one completion (the model's whole output, reasoning included).
    fn score(&self, completion: &str, truth: &Self::Truth) -> Scored;

    /// The smallest and largest total `score` can return for this truth.
    fn bounds(&self, truth: &Self::Truth) -> (f64, f64);

    /// Scores a group of completions of one example.
    fn score_all<S: AsRef<str>>(&self, completions: &[S], truth: &Self::Truth) -> Vec<Scored> {
        completions
            .iter()
            .map(|c| self.score(c.as_ref(), truth))
            .collect()
    }
}
