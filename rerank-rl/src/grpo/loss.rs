//! GRPO's policy loss and its gradient with respect to each token's log-probability.
//!
//! Per completion token `t` of completion `i`, with `ρ = exp(logp − logp_old)`:
//!
//! ```text
//! ℓ_it = −min(ρ·A_i, clip(ρ, 1 − ε_low, 1 + ε_high)·A_i) + β·KL_it
//! KL_it = exp(ref − logp) − (ref − logp) − 1          (k3, Schulman 2020)
//! ```
//!
//! then aggregated ([`Aggregation`]): TRL's `grpo` (each completion's mean, then the
//! mean over completions), `bnpo`/`dapo`/verl's `token-mean` (the mean over every
//! token), `dr_grpo`/verl's `seq-mean-token-sum-norm` (the sum over tokens, divided by
//! the number of completions and the longest completion allowed), and verl's
//! `token-sum` and `seq-mean-token-sum`.
//!
//! As in TRL (1.16.0, `_compute_loss`), with [`RatioLevel::Sequence`] the ratio is one
//! per completion, `exp(mean_t(logp − logp_old))` (GSPO). As in verl (0.9.1,
//! `compute_policy_loss_vanilla`, `kl_penalty`), [`PolicyLoss::verl`] clamps the log
//! ratio to ±20, the k3 log ratio to ±20 and the k3 value to ±10, and applies dual-clip
//! (for a negative advantage the loss is at most `−A·c`, `c = 3`).
//!
//! [`LossOutput::grad`] is `∂loss/∂logp_it`: a trainer multiplies it into the model's
//! log-probabilities and back-propagates. Where a clamp or a clip holds, the gradient
//! through it is 0, as autograd gives.

use serde::Serialize;

use crate::error::{Error, Result};

/// One completion's token log-probabilities.
#[derive(Clone, Debug, PartialEq)]
pub struct SequenceLogProbs {
    /// Under the policy being trained.
    pub logp: Vec<f64>,
    /// Under the policy that sampled the completion (equal to `logp` on the first
    /// update after sampling).
    pub old: Vec<f64>,
    /// Under the reference policy (needed when `beta` is not 0).
    pub reference: Option<Vec<f64>>,
    /// The completion's advantage.
    pub advantage: f64,
}

/// Whether the importance ratio is per token or per completion.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum RatioLevel {
    /// One ratio per token (GRPO).
    #[default]
    Token,
    /// One per completion, from the mean token log-ratio (GSPO, TRL's
    /// `importance_sampling_level="sequence"`).
    Sequence,
}

/// How the KL to the reference is estimated.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum KlPenalty {
    /// k3, as TRL computes it.
    #[default]
    K3,
    /// k3 with verl's clamps (`low_var_kl`): the log ratio to ±20, the value to ±10.
    K3Clamped,
}

/// How per-token losses become one number.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Aggregation {
    /// Each completion's token mean, then the mean over completions (TRL `grpo`; verl
    /// `seq-mean-token-mean`).
    #[default]
    SequenceMean,
    /// The mean over every token of the batch (TRL `bnpo`, and `dapo` on one process;
    /// verl `token-mean`).
    TokenMean,
    /// The sum over tokens divided by completions × `max_completion_length` (TRL
    /// `dr_grpo`; verl `seq-mean-token-sum-norm` with that horizon).
    SequenceSumNorm {
        /// The longest completion allowed (the horizon).
        max_completion_length: usize,
    },
    /// The sum over every token (verl `token-sum`).
    TokenSum,
    /// Each completion's token sum, then the mean over completions (verl
    /// `seq-mean-token-sum`).
    SequenceMeanTokenSum,
}

/// The policy loss's settings; see the module documentation.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PolicyLoss {
    /// Lower clip range (0.2).
    pub epsilon_low: f64,
    /// Upper clip range (0.2; DAPO's clip-higher uses 0.28).
    pub epsilon_high: f64,
    /// Weight of the KL term (0: no reference needed).
    pub beta: f64,
    /// The KL estimator.
    pub kl: KlPenalty,
    /// Per-token or per-completion ratio.
    pub ratio: RatioLevel,
    /// Clamp of the log ratio before `exp` (verl: 20).
    pub log_ratio_clamp: Option<f64>,
    /// Dual-clip bound `c` for negative advantages (verl: 3).
    pub dual_clip: Option<f64>,
    /// The aggregation.
    pub aggregation: Aggregation,
}

impl Default for PolicyLoss {
    fn default() -> Self {
        PolicyLoss::trl()
    }
}

impl PolicyLoss {
    /// TRL's defaults (`loss_type="grpo"` is not TRL's own default any more, which is
    /// `dapo`; choose the aggregation you want): ε 0.2, β 0, per-token ratio, no clamps.
    pub fn trl() -> Self {
        PolicyLoss {
            epsilon_low: 0.2,
            epsilon_high: 0.2,
            beta: 0.0,
            kl: KlPenalty::K3,
            ratio: RatioLevel::Token,
            log_ratio_clamp: None,
            dual_clip: None,
            aggregation: Aggregation::SequenceMean,
        }
    }

    /// verl's vanilla policy loss: ε 0.2, log ratio clamped to ±20, dual-clip 3,
    /// `low_var_kl` (k3 clamped), token-mean.
    pub fn verl() -> Self {
        PolicyLoss {
            kl: KlPenalty::K3Clamped,
            log_ratio_clamp: Some(20.0),
            dual_clip: Some(3.0),
            aggregation: Aggregation::TokenMean,
            ..PolicyLoss::trl()
        }
    }
}

/// The loss, its per-token terms and gradient, and what a trainer logs.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LossOutput {
    /// The aggregated loss.
    pub loss: f64,
    /// `ℓ_it` before aggregation.
    pub per_token: Vec<Vec<f64>>,
    /// `∂loss/∂logp_it`.
    pub grad: Vec<Vec<f64>>,
    /// The k3 estimate per token (zeros when `beta` is 0 and no reference is given).
    pub kl: Vec<Vec<f64>>,
    /// Share of tokens (of completions, with [`RatioLevel::Sequence`], as TRL counts)
    /// whose ratio was clipped below (`ρ < 1 − ε_low` with `A < 0`).
    pub clip_low: f64,
    /// Share clipped above (`ρ > 1 + ε_high` with `A > 0`).
    pub clip_high: f64,
    /// Share clipped either way (TRL's `clip_ratio/region_mean`).
    pub clip_region: f64,
    /// Mean k3 KL over tokens.
    pub kl_mean: f64,
    /// Completion tokens.
    pub tokens: usize,
}

fn clamp_grad(x: f64, lo: f64, hi: f64) -> (f64, f64) {
    // Value, and the derivative of clamp (1 inside, 0 where it clamps; autograd passes
    // the gradient at the bounds).
    if x < lo {
        (lo, 0.0)
    } else if x > hi {
        (hi, 0.0)
    } else {
        (x, 1.0)
    }
}

/// k3 and its derivative in `logp`.
fn k3(logp: f64, reference: f64, clamped: bool) -> (f64, f64) {
    let (x, dx) = if clamped {
        clamp_grad(reference - logp, -20.0, 20.0)
    } else {
        (reference - logp, 1.0)
    };
    // d x / d logp = −dx
    let value = x.exp() - x - 1.0;
    let dvalue_dx = x.exp() - 1.0;
    let (value, dclamp) = if clamped {
        clamp_grad(value, -10.0, 10.0)
    } else {
        (value, 1.0)
    };
    (value, dclamp * dvalue_dx * -dx)
}

/// The loss over a batch of completions; see the module documentation.
///
/// ```
/// use rerank_rl::grpo::{policy_loss, PolicyLoss, SequenceLogProbs};
/// // On-policy (old = logp): ρ = 1, the loss is −mean(A), its gradient −A / n_i / B.
/// let seqs = vec![
///     SequenceLogProbs { logp: vec![-1.0, -2.0], old: vec![-1.0, -2.0], reference: None, advantage: 1.0 },
///     SequenceLogProbs { logp: vec![-0.5], old: vec![-0.5], reference: None, advantage: -1.0 },
/// ];
/// let out = policy_loss(&seqs, &PolicyLoss::trl())?;
/// assert_eq!(out.loss, 0.0);
/// assert_eq!(out.grad, vec![vec![-0.25, -0.25], vec![0.5]]);
/// # Ok::<(), rerank_rl::Error>(())
/// ```
///
/// Fails when a completion's `old` or `reference` has another length than its
/// `logp`, or when `beta` is not 0 and a completion has no `reference`.
pub fn policy_loss(seqs: &[SequenceLogProbs], cfg: &PolicyLoss) -> Result<LossOutput> {
    for (i, s) in seqs.iter().enumerate() {
        let n = s.logp.len();
        if s.old.len() != n || s.reference.as_ref().is_some_and(|r| r.len() != n) {
            return Err(Error::Config(format!(
                "completion {i}: {n} log-probabilities but {} old and {} reference ones",
                s.old.len(),
                s.reference.as_ref().map_or(0, Vec::len)
            )));
        }
        if cfg.beta != 0.0 && s.reference.is_none() {
            return Err(Error::Config(format!(
                "completion {i} has no reference log-probabilities, which beta = {} needs",
                cfg.beta
            )));
        }
    }
    let b = seqs.len();
    let total_tokens: usize = seqs.iter().map(|s| s.logp.len()).sum();
    let nonempty = seqs.iter().filter(|s| !s.logp.is_empty()).count();
    let mut per_token = Vec::with_capacity(b);
    let mut grad = Vec::with_capacity(b);
    let mut kls = Vec::with_capacity(b);
    let (mut low, mut high, mut kl_sum) = (0usize, 0usize, 0.0);
    let mut loss = 0.0;
    for s in seqs {
        let n = s.logp.len();
        let a = s.advantage;
        // Each token's aggregation weight.
        let w = match cfg.aggregation {
            Aggregation::SequenceMean => 1.0 / (n.max(1) as f64 * b.max(1) as f64),
            Aggregation::TokenMean => 1.0 / total_tokens.max(1) as f64,
            Aggregation::SequenceSumNorm {
                max_completion_length,
            } => 1.0 / (b.max(1) as f64 * max_completion_length.max(1) as f64),
            Aggregation::TokenSum => 1.0,
            Aggregation::SequenceMeanTokenSum => 1.0 / nonempty.max(1) as f64,
        };
        // Log ratios (and d/d logp of each), per token or shared.
        let log_ratio = |t: usize| -> (f64, f64) {
            let x = s.logp[t] - s.old[t];
            match cfg.log_ratio_clamp {
                Some(c) => clamp_grad(x, -c, c),
                None => (x, 1.0),
            }
        };
        let seq_log_ratio = match cfg.ratio {
            RatioLevel::Sequence if n > 0 => {
                let sum: f64 = (0..n).map(|t| s.logp[t] - s.old[t]).sum();
                Some(sum / n as f64)
            }
            _ => None,
        };
        let mut row = Vec::with_capacity(n);
        let mut grow = vec![0.0; n];
        let mut krow = Vec::with_capacity(n);
        // With a sequence-level ratio the surrogate's derivative in logp_t is the same
        // for every t: accumulated here, spread after the loop.
        let mut seq_dsurrogate = 0.0;
        for t in 0..n {
            let (lr, dlr) = match seq_log_ratio {
                Some(m) => (m, 1.0 / n as f64),
                None => log_ratio(t),
            };
            let rho = lr.exp();
            let lo_bound = 1.0 - cfg.epsilon_low;
            let hi_bound = 1.0 + cfg.epsilon_high;
            let clipped_high = rho > hi_bound && a > 0.0;
            let clipped_low = rho < lo_bound && a < 0.0;
            // With one ratio per completion, TRL counts completions, not tokens.
            if seq_log_ratio.is_none() || t == 0 {
                low += clipped_low as usize;
                high += clipped_high as usize;
            }
            // −min(ρA, clip(ρ)A): the clipped branch is constant in ρ.
            let clip_rho = rho.clamp(lo_bound, hi_bound);
            let (mut surrogate, mut dsurrogate) = if clipped_high || clipped_low {
                (-(clip_rho * a), 0.0)
            } else {
                (-(rho * a), -(a * rho) * dlr)
            };
            if let Some(c) = cfg.dual_clip {
                if a < 0.0 && surrogate > -a * c {
                    surrogate = -a * c;
                    dsurrogate = 0.0;
                }
            }
            let (kl, dkl) = match &s.reference {
                Some(r) => k3(s.logp[t], r[t], cfg.kl == KlPenalty::K3Clamped),
                None => (0.0, 0.0),
            };
            kl_sum += kl;
            let l = surrogate + cfg.beta * kl;
            loss += w * l;
            row.push(l);
            krow.push(kl);
            if seq_log_ratio.is_some() {
                seq_dsurrogate += w * dsurrogate;
                grow[t] = w * cfg.beta * dkl;
            } else {
                grow[t] = w * (dsurrogate + cfg.beta * dkl);
            }
        }
        if seq_log_ratio.is_some() {
            for g in &mut grow {
                *g += seq_dsurrogate;
            }
        }
        per_token.push(row);
        grad.push(grow);
        kls.push(krow);
    }
    let tokens = total_tokens.max(1) as f64;
    let counted = match cfg.ratio {
        RatioLevel::Token => tokens,
        RatioLevel::Sequence => nonempty.max(1) as f64,
    };
    Ok(LossOutput {
        loss,
        per_token,
        grad,
        kl: kls,
        clip_low: low as f64 / counted,
        clip_high: high as f64 / counted,
        clip_region: (low + high) as f64 / counted,
        kl_mean: kl_sum / tokens,
        tokens: total_tokens,
    })
}
