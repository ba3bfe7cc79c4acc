//! One GRPO update of the adapter from sampled completions.
//!
//! For a batch of completions with rewards and group ids: the group-relative
//! advantages ([`crate::grpo::advantages`]); per micro-batch, each completion's token
//! log-probabilities under the policy (the differentiable forward of
//! `rerank_model::candle`, adapter on) and, when β > 0, under the reference (the same
//! weights, adapter off, no graph); part 1's [`policy_loss`] and its per-token gradient;
//! back-propagation of `Σ ∂loss/∂logp · logp` into the adapter, one block at a time
//! (gradient checkpointing, `Decoder::logprob_gradients`); the gradients summed over
//! micro-batches, clipped to a global norm, and one AdamW step at the schedule's
//! learning rate.
//!
//! The update is on-policy (TRL's `num_iterations = 1`): the sampling policy's
//! log-probabilities are the current ones, detached, so every ratio is exactly 1 and
//! the gradient is `−A` spread over the tokens as the aggregation says, plus β times
//! the KL's. The loss aggregates over the whole batch, not per micro-batch: each
//! micro-batch's loss and gradient are rescaled by its share of the batch (its
//! completions for the per-completion means, its tokens for the token mean), so the
//! step does not depend on how the batch is split.

use std::time::Instant;

use candle_core::{DType, Tensor};

use rerank_model::candle::{ops::OpsMode, Decoder, Scored};
use serde::Serialize;

use super::optim::{AdamW, Grads, Schedule};
use crate::error::{Error, Result};
use crate::grpo::{
    advantages, policy_loss, AdvantageConfig, Aggregation, PolicyLoss, SequenceLogProbs,
};

/// A sampled completion.
#[derive(Clone, Debug, PartialEq)]
pub struct Completion {
    /// The prompt's token ids.
    pub prompt: Vec<u32>,
    /// The completion's token ids (what was sampled, end-of-turn token included).
    pub tokens: Vec<u32>,
    /// Its reward.
    pub reward: f64,
    /// Its group (completions of one prompt share one).
    pub group: usize,
}

/// The update's settings.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct UpdateConfig {
    /// The loss (clip ranges, β, KL estimator, aggregation).
    pub loss: PolicyLoss,
    /// The advantages (ε, scaling).
    pub advantage: AdvantageConfig,
    /// Completions per forward/backward pass (memory, not results).
    pub micro_batch: usize,
    /// Global gradient norm bound (`max_grad_norm`; TRL's default 1.0).
    pub max_grad_norm: f64,
}

impl Default for UpdateConfig {
    fn default() -> Self {
        UpdateConfig {
            loss: PolicyLoss::trl(),
            advantage: AdvantageConfig::trl(),
            micro_batch: 1,
            max_grad_norm: 1.0,
        }
    }
}

/// What one update did, for the metrics file.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct UpdateStats {
    /// The aggregated loss.
    pub loss: f64,
    /// Mean k3 KL to the reference per token.
    pub kl: f64,
    /// Share of tokens with a clipped ratio.
    pub clip_ratio: f64,
    /// Gradient norm before clipping.
    pub grad_norm: f64,
    /// The learning rate of this step.
    pub lr: f64,
    /// Mean and standard deviation of the rewards.
    pub reward_mean: f64,
    /// Population standard deviation of the rewards.
    pub reward_std: f64,
    /// Share of completions whose advantage is 0 (groups with equal rewards).
    pub zero_advantage: f64,
    /// Completion tokens.
    pub tokens: usize,
    /// Seconds spent.
    pub seconds: f64,
}

/// The policy being trained: the dense decoder with its adapter, the optimizer over
/// the adapter's factors, and the schedule.
pub struct Updater {
    decoder: Decoder,
    optimizer: AdamW,
    schedule: Schedule,
    config: UpdateConfig,
}

impl Updater {
    /// `decoder` must hold dense weights and an adapter (whose factors `optimizer`
    /// updates).
    pub fn new(
        mut decoder: Decoder,
        optimizer: AdamW,
        schedule: Schedule,
        config: UpdateConfig,
    ) -> Result<Updater> {
        if !decoder.is_dense() {
            return Err(Error::Config(
                "training needs the model's weights dense (quantized products have no backward pass)".into(),
            ));
        }
        let Some(adapter) = decoder.adapter() else {
            return Err(Error::Config("the decoder has no adapter to train".into()));
        };
        let ids = |vars: &[candle_core::Var]| vars.iter().map(|v| v.id()).collect::<Vec<_>>();
        if ids(&adapter.vars()) != ids(optimizer.vars()) {
            return Err(Error::Config(
                "the optimizer must update the decoder's adapter, in Adapter::vars' order".into(),
            ));
        }
        if config.micro_batch == 0 {
            return Err(Error::Config("micro_batch must be at least 1".into()));
        }
        decoder.set_adapter_enabled(true);
        Ok(Updater {
            decoder,
            optimizer,
            schedule,
            config,
        })
    }

    /// The decoder (its adapter holds the trained factors).
    pub fn decoder(&self) -> &Decoder {
        &self.decoder
    }

    /// The optimizer (for checkpoints).
    pub fn optimizer(&self) -> &AdamW {
        &self.optimizer
    }

    /// The optimizer, to restore its state.
    pub fn optimizer_mut(&mut self) -> &mut AdamW {
        &mut self.optimizer
    }

    /// One update from `batch`; see the module documentation.
    pub fn step(&mut self, batch: &[Completion]) -> Result<UpdateStats> {
        let start = Instant::now();
        if batch.is_empty() {
            return Err(Error::Inputs(
                "an update needs at least one completion".into(),
            ));
        }
        if let Some(i) = batch
            .iter()
            .position(|c| c.tokens.is_empty() || c.prompt.is_empty())
        {
            return Err(Error::Inputs(format!(
                "completion {i} has an empty prompt or no tokens"
            )));
        }
        let rewards: Vec<f64> = batch.iter().map(|c| c.reward).collect();
        let groups: Vec<usize> = batch.iter().map(|c| c.group).collect();
        let adv = advantages(&rewards, &groups, &self.config.advantage);
        let total_tokens: usize = batch.iter().map(|c| c.tokens.len()).sum();
        let vars = self.optimizer.vars().to_vec();
        let mut grads = Grads::empty(vars.len());
        let (mut loss, mut kl_tokens, mut clipped_tokens) = (0.0, 0.0, 0.0);
        let beta = self.config.loss.beta;
        for (mb, chunk) in batch.chunks(self.config.micro_batch).enumerate() {
            let ids: Vec<Vec<u32>> = chunk
                .iter()
                .map(|c| [c.prompt.as_slice(), c.tokens.as_slice()].concat())
                .collect();
            let scored: Vec<Scored> = ids
                .iter()
                .zip(chunk)
                .map(|(ids, c)| Scored {
                    ids,
                    from: c.prompt.len(),
                })
                .collect();
            let reference = if beta != 0.0 {
                self.decoder.ops = OpsMode::Fused;
                self.decoder.set_adapter_enabled(false);
                let r = self.decoder.token_logprobs(&scored);
                self.decoder.set_adapter_enabled(true);
                Some(r?.iter().map(to_f64).collect::<Result<Vec<_>>>()?)
            } else {
                None
            };
            let mb_tokens: usize = chunk.iter().map(|c| c.tokens.len()).sum();
            let share = batch_share(
                self.config.loss.aggregation,
                chunk.len(),
                batch.len(),
                mb_tokens,
                total_tokens,
            );
            let first = mb * self.config.micro_batch;
            let cfg = self.config.loss;
            let mut output = None;
            // The loss's gradient per token, from the log-probabilities of this pass
            // (on-policy: the sampling policy's are the same, detached).
            let weights = |values: &[Vec<f64>]| -> rerank_model::Result<Vec<Vec<f64>>> {
                let seqs: Vec<SequenceLogProbs> = values
                    .iter()
                    .enumerate()
                    .map(|(j, logp)| SequenceLogProbs {
                        old: logp.clone(),
                        logp: logp.clone(),
                        reference: reference.as_ref().map(|r| r[j].clone()),
                        advantage: adv[first + j],
                    })
                    .collect();
                let out = policy_loss(&seqs, &cfg)
                    .map_err(|e| rerank_model::Error::Unsupported(e.to_string()))?;
                let g = out
                    .grad
                    .iter()
                    .map(|g| g.iter().map(|x| x * share).collect())
                    .collect();
                output = Some(out);
                Ok(g)
            };
            // Gradient checkpointing: one block's activations in memory at a time.
            self.decoder.ops = OpsMode::Differentiable;
            let result = self.decoder.logprob_gradients(&scored, weights);
            self.decoder.ops = OpsMode::Fused;
            let mb_grads = result?.grads;
            let out = output.expect("the weights were computed");
            loss += out.loss * share;
            kl_tokens += out.kl_mean * mb_tokens as f64;
            clipped_tokens += out.clip_region * mb_tokens as f64;
            grads.add(mb_grads)?;
        }
        let grad_norm = grads.clip(self.config.max_grad_norm)?;
        let lr = self.schedule.at(self.optimizer.steps());
        self.optimizer.step(&grads, lr)?;
        let n = rewards.len() as f64;
        let mean = rewards.iter().sum::<f64>() / n;
        let var = rewards.iter().map(|r| (r - mean).powi(2)).sum::<f64>() / n;
        Ok(UpdateStats {
            loss,
            kl: kl_tokens / total_tokens as f64,
            clip_ratio: clipped_tokens / total_tokens as f64,
            grad_norm,
            lr,
            reward_mean: mean,
            reward_std: var.sqrt(),
            zero_advantage: adv.iter().filter(|a| **a == 0.0).count() as f64 / n,
            tokens: total_tokens,
            seconds: start.elapsed().as_secs_f64(),
        })
    }
}

fn to_f64(t: &Tensor) -> Result<Vec<f64>> {
    Ok(t.to_dtype(DType::F64)?.to_vec1()?)
}

/// The weight of a micro-batch's loss in the batch's: its share of the completions
/// for the aggregations that average over completions, of the tokens for the token
/// mean, and 1 for sums.
fn batch_share(
    aggregation: Aggregation,
    mb_completions: usize,
    completions: usize,
    mb_tokens: usize,
    tokens: usize,
) -> f64 {
    match aggregation {
        Aggregation::SequenceMean
        | Aggregation::SequenceSumNorm { .. }
        | Aggregation::SequenceMeanTokenSum => mb_completions as f64 / completions as f64,
        Aggregation::TokenMean => mb_tokens as f64 / tokens as f64,
        Aggregation::TokenSum => 1.0,
    }
}
