//! Judges that answer without a model: from relevance labels (an oracle, for upper
//! bounds and for testing algorithms), in reverse, at random, or never.

use std::collections::HashMap;

use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::judge::{
    JudgeError, JudgeRequest, ListwiseAnswer, ListwiseJudge, SetwiseAnswer, SetwiseJudge,
};

/// Answers from relevance labels: orders a window by label (ties keep their order)
/// and picks the first candidate with the highest label. Unlabelled documents count
/// as 0. The perfect judge, for upper bounds and algorithm tests.
#[derive(Clone, Debug, Default)]
pub struct LabelJudge {
    labels: HashMap<String, HashMap<String, i32>>,
}

impl LabelJudge {
    /// A judge from `(query id, doc id, label)` triples.
    pub fn new<Q: Into<String>, D: Into<String>>(
        labels: impl IntoIterator<Item = (Q, D, i32)>,
    ) -> Self {
        let mut map: HashMap<String, HashMap<String, i32>> = HashMap::new();
        for (q, d, l) in labels {
            map.entry(q.into()).or_default().insert(d.into(), l);
        }
        LabelJudge { labels: map }
    }

    fn label(&self, req: &JudgeRequest<'_>, i: usize) -> i32 {
        self.labels
            .get(&req.query.id)
            .and_then(|m| m.get(&req.candidates[i].doc.id))
            .copied()
            .unwrap_or(0)
    }
}

impl ListwiseJudge for LabelJudge {
    fn rank_windows(
        &mut self,
        requests: &[JudgeRequest<'_>],
    ) -> Vec<Result<ListwiseAnswer, JudgeError>> {
        requests
            .iter()
            .map(|r| {
                let mut order: Vec<usize> = (0..r.candidates.len()).collect();
                order.sort_by_key(|&i| std::cmp::Reverse(self.label(r, i)));
                Ok(ListwiseAnswer {
                    order,
                    ..Default::default()
                })
            })
            .collect()
    }
}

impl SetwiseJudge for LabelJudge {
    fn pick_best(
        &mut self,
        requests: &[JudgeRequest<'_>],
    ) -> Vec<Result<SetwiseAnswer, JudgeError>> {
        requests
            .iter()
            .map(|r| {
                let best = (0..r.candidates.len())
                    .max_by_key(|&i| (self.label(r, i), std::cmp::Reverse(i)));
                Ok(SetwiseAnswer {
                    best,
                    ..Default::default()
                })
            })
            .collect()
    }
}

/// Reverses every window; picks the last candidate of every set.
#[derive(Clone, Copy, Debug, Default)]
pub struct ReverseJudge;

impl ListwiseJudge for ReverseJudge {
    fn rank_windows(
        &mut self,
        requests: &[JudgeRequest<'_>],
    ) -> Vec<Result<ListwiseAnswer, JudgeError>> {
        requests
            .iter()
            .map(|r| {
                Ok(ListwiseAnswer {
                    order: (0..r.candidates.len()).rev().collect(),
                    ..Default::default()
                })
            })
            .collect()
    }
}

impl SetwiseJudge for ReverseJudge {
    fn pick_best(
        &mut self,
        requests: &[JudgeRequest<'_>],
    ) -> Vec<Result<SetwiseAnswer, JudgeError>> {
        requests
            .iter()
            .map(|r| {
                Ok(SetwiseAnswer {
                    best: r.candidates.len().checked_sub(1),
                    ..Default::default()
                })
            })
            .collect()
    }
}

/// Answers at random (seeded): a random order, a random pick, and with probability
/// `invalid` a malformed answer (an order that is not a permutation, a pick out of
/// range, or no pick).
#[derive(Clone, Debug)]
pub struct RandomJudge {
    rng: ChaCha8Rng,
    invalid: f64,
}

impl RandomJudge {
    /// A random judge with the given seed and rate of malformed answers.
    pub fn new(seed: u64, invalid: f64) -> Self {
        RandomJudge {
            rng: ChaCha8Rng::seed_from_u64(seed),
            invalid,
        }
    }
}

impl ListwiseJudge for RandomJudge {
    fn rank_windows(
        &mut self,
        requests: &[JudgeRequest<'_>],
    ) -> Vec<Result<ListwiseAnswer, JudgeError>> {
        requests
            .iter()
            .map(|r| {
                let n = r.candidates.len();
                let mut order: Vec<usize> = (0..n).collect();
                order.shuffle(&mut self.rng);
                if self.rng.gen_bool(self.invalid) {
                    order.push(n + 3);
                    order.swap(0, n);
                }
                Ok(ListwiseAnswer {
                    order,
                    ..Default::default()
                })
            })
            .collect()
    }
}

impl SetwiseJudge for RandomJudge {
    fn pick_best(
        &mut self,
        requests: &[JudgeRequest<'_>],
    ) -> Vec<Result<SetwiseAnswer, JudgeError>> {
        requests
            .iter()
            .map(|r| {
                let n = r.candidates.len();
                let best = if self.rng.gen_bool(self.invalid) {
                    if self.rng.gen_bool(0.5) {
                        Some(n + 7)
                    } else {
                        None
                    }
                } else {
                    Some(self.rng.gen_range(0..n.max(1)))
                };
                Ok(SetwiseAnswer {
                    best,
                    ..Default::default()
                })
            })
            .collect()
    }
}

/// Fails every request (an unreachable server, say).
#[derive(Clone, Debug, Default)]
pub struct FailingJudge;

impl ListwiseJudge for FailingJudge {
    fn rank_windows(
        &mut self,
        requests: &[JudgeRequest<'_>],
    ) -> Vec<Result<ListwiseAnswer, JudgeError>> {
        requests
            .iter()
            .map(|_| Err(JudgeError::new("the judge is down")))
            .collect()
    }
}

impl SetwiseJudge for FailingJudge {
    fn pick_best(
        &mut self,
        requests: &[JudgeRequest<'_>],
    ) -> Vec<Result<SetwiseAnswer, JudgeError>> {
        requests
            .iter()
            .map(|_| Err(JudgeError::new("the judge is down")))
            .collect()
    }
}

/// Wraps a judge and counts its calls and requests.
#[derive(Clone, Debug, Default)]
pub struct Counting<J> {
    /// The wrapped judge.
    pub inner: J,
    /// Batch calls made.
    pub batches: usize,
    /// Requests answered.
    pub requests: usize,
    /// Largest batch seen.
    pub max_batch: usize,
}

impl<J> Counting<J> {
    /// Wraps `inner`.
    pub fn new(inner: J) -> Self {
        Counting {
            inner,
            batches: 0,
            requests: 0,
            max_batch: 0,
        }
    }

    fn count(&mut self, n: usize) {
        self.batches += 1;
        self.requests += n;
        self.max_batch = self.max_batch.max(n);
    }
}

impl<J: ListwiseJudge> ListwiseJudge for Counting<J> {
    fn rank_windows(
        &mut self,
        requests: &[JudgeRequest<'_>],
    ) -> Vec<Result<ListwiseAnswer, JudgeError>> {
        self.count(requests.len());
        self.inner.rank_windows(requests)
    }
}

impl<J: SetwiseJudge> SetwiseJudge for Counting<J> {
    fn pick_best(
        &mut self,
        requests: &[JudgeRequest<'_>],
    ) -> Vec<Result<SetwiseAnswer, JudgeError>> {
        self.count(requests.len());
        self.inner.pick_best(requests)
    }
}
