//! `rerank train`'s configuration: one TOML file with the whole run.
//!
//! ```toml
//! model = "qwen2.5-0.5b"            # a known name, a GGUF file or a safetensors folder
//! train = "rl-rearank/train.jsonl"  # from `rerank rl build-data`
//! validation = "rl-rearank/validation.jsonl"
//!
//! [lora]
//! rank = 16
//! alpha = 32.0
//! targets = ["q", "k", "v", "o", "gate", "up", "down"]
//!
//! [rollout]
//! group = 4                         # completions per prompt (GRPO's G)
//! temperature = 1.0
//! max_new_tokens = 256
//!
//! [grpo]
//! beta = 0.04
//! aggregation = "sequence_mean"
//!
//! [optim]
//! lr = 1e-4
//! warmup_steps = 2
//!
//! [reward]
//! gain = "normalized"               # REARANK's rank term (or raw, difference)
//!
//! [run]
//! steps = 40
//! prompts_per_step = 2
//! checkpoint_every = 5
//! eval_every = 10
//! ```
//!
//! Every table and key is optional but `model` and `train`; an unknown key or a bad
//! value is an error naming the file and the key.

use std::path::{Path, PathBuf};

use rerank_model::candle::LoraConfig;
use serde::{Deserialize, Serialize};

use super::optim::{AdamWConfig, Decay};
use crate::error::{Error, Result};
use crate::evaluate::Rewards;
use crate::grpo::{AdvantageConfig, Aggregation, KlPenalty, PolicyLoss, RatioLevel, RewardScaling};
use crate::reward::{RankGain, RankR1Reward, RankR1Rule, RearankReward, RearankWeights};

/// The whole run; see the module documentation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainConfig {
    /// The base model.
    pub model: String,
    /// Training examples (JSON lines of [`crate::data::Example`]).
    pub train: PathBuf,
    /// Validation examples, reranked every `run.eval_every` steps.
    #[serde(default)]
    pub validation: Option<PathBuf>,
    /// The adapter.
    #[serde(default)]
    pub lora: LoraConfig,
    /// Sampling.
    #[serde(default)]
    pub rollout: RolloutConfig,
    /// The loss.
    #[serde(default)]
    pub grpo: GrpoConfig,
    /// The optimizer.
    #[serde(default)]
    pub optim: OptimConfig,
    /// Steps, batches, checkpoints.
    #[serde(default)]
    pub run: RunConfig,
    /// The reward's variant and weights.
    #[serde(default)]
    pub reward: RewardConfig,
}

/// Which reward, with which weights (REARANK's defaults; see
/// [`crate::reward::RearankReward`] and [`crate::reward::RankR1Reward`]).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RewardConfig {
    /// REARANK's rank term: `normalized` (the paper's gain over the initial order,
    /// divided by the most there was to gain), `raw` (nDCG@10 of the answer) or
    /// `difference` (its gain over the initial order), the paper's ablations.
    pub gain: String,
    /// Weight of the rank term (0.8).
    pub rank: f64,
    /// Weight of `r_format1`, reasoning and answer blocks (0.1).
    pub think_answer: f64,
    /// Weight of `r_format2`, the `[a] > [b]` answer (0.1).
    pub answer_format: f64,
    /// Rank-R1: `exact` (the published rule) or `lenient`.
    pub setwise_rule: String,
}

impl Default for RewardConfig {
    fn default() -> Self {
        let w = RearankWeights::default();
        RewardConfig {
            gain: "normalized".into(),
            rank: w.rank,
            think_answer: w.think_answer,
            answer_format: w.answer_format,
            setwise_rule: "exact".into(),
        }
    }
}

impl RewardConfig {
    /// The rewards this configuration describes.
    pub fn rewards(&self) -> std::result::Result<Rewards, String> {
        let gain = match self.gain.as_str() {
            "normalized" => RankGain::Normalized,
            "raw" => RankGain::Raw,
            "difference" => RankGain::Difference,
            other => {
                return Err(format!(
                    "reward.gain is '{other}': use normalized, raw or difference"
                ))
            }
        };
        let rule = match self.setwise_rule.as_str() {
            "exact" => RankR1Rule::Exact,
            "lenient" => RankR1Rule::Lenient,
            other => {
                return Err(format!(
                    "reward.setwise_rule is '{other}': use exact or lenient"
                ))
            }
        };
        for (key, v) in [
            ("reward.rank", self.rank),
            ("reward.think_answer", self.think_answer),
            ("reward.answer_format", self.answer_format),
        ] {
            if !v.is_finite() {
                return Err(format!("{key} is {v}: a weight must be a finite number"));
            }
        }
        Ok(Rewards {
            rearank: RearankReward::new(
                gain,
                RearankWeights {
                    rank: self.rank,
                    think_answer: self.think_answer,
                    answer_format: self.answer_format,
                },
            ),
            rank_r1: RankR1Reward::new(rule),
        })
    }
}

/// How completions are sampled.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RolloutConfig {
    /// Completions per prompt (GRPO's group size G; at least 2).
    pub group: usize,
    /// Sampling temperature (above 0).
    pub temperature: f32,
    /// Nucleus sampling threshold.
    pub top_p: f32,
    /// Most tokens per completion.
    pub max_new_tokens: usize,
    /// Sampling stops when a completion contains one of these (kept in it), as
    /// inference stops at `</answer>`; empty by default.
    pub stop: Vec<String>,
    /// The weights completions are sampled with: `quantized` (as the GGUF file
    /// stores them, the fast path; the default) or `dense` (dequantized to f32, the
    /// weights the update trains, as a PyTorch trainer samples).
    pub weights: String,
    /// The end of generation is not sampled before this many tokens (0: no minimum;
    /// for benchmarks that need completions of one length, as TRL's
    /// `generation_kwargs = {"min_new_tokens": …}`).
    pub min_new_tokens: usize,
}

impl Default for RolloutConfig {
    fn default() -> Self {
        RolloutConfig {
            group: 4,
            temperature: 1.0,
            top_p: 1.0,
            max_new_tokens: 256,
            stop: Vec::new(),
            weights: "quantized".into(),
            min_new_tokens: 0,
        }
    }
}

/// GRPO's loss and advantages.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GrpoConfig {
    /// Weight of the k3 KL to the base model (0: no reference pass).
    pub beta: f64,
    /// Lower clip range.
    pub epsilon_low: f64,
    /// Upper clip range.
    pub epsilon_high: f64,
    /// `sequence_mean` (TRL `grpo`), `token_mean` (`bnpo`/`dapo`), `sequence_sum_norm`
    /// (`dr_grpo`), `token_sum`, `sequence_mean_token_sum`.
    pub aggregation: String,
    /// `group` (TRL's default), `batch` or `none` (Dr. GRPO).
    pub scale_rewards: String,
}

impl Default for GrpoConfig {
    fn default() -> Self {
        GrpoConfig {
            beta: 0.04,
            epsilon_low: 0.2,
            epsilon_high: 0.2,
            aggregation: "sequence_mean".into(),
            scale_rewards: "group".into(),
        }
    }
}

/// The optimizer and its schedule.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OptimConfig {
    /// Peak learning rate.
    pub lr: f64,
    /// Linear warm-up steps.
    pub warmup_steps: u64,
    /// `linear`, `cosine` or `constant` after the warm-up.
    pub decay: Decay,
    /// AdamW's β₁.
    pub beta1: f64,
    /// AdamW's β₂.
    pub beta2: f64,
    /// AdamW's ε.
    pub eps: f64,
    /// Decoupled weight decay (TRL's GRPO default: 0).
    pub weight_decay: f64,
    /// Global gradient norm bound.
    pub max_grad_norm: f64,
}

impl Default for OptimConfig {
    fn default() -> Self {
        OptimConfig {
            lr: 1e-4,
            warmup_steps: 0,
            decay: Decay::Linear,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: 0.0,
            max_grad_norm: 1.0,
        }
    }
}

impl OptimConfig {
    /// AdamW's settings.
    pub fn adamw(&self) -> AdamWConfig {
        AdamWConfig {
            beta1: self.beta1,
            beta2: self.beta2,
            eps: self.eps,
            weight_decay: self.weight_decay,
        }
    }
}

/// Steps, batches, checkpoints and evaluation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RunConfig {
    /// Optimizer steps.
    pub steps: u64,
    /// Prompts per step (each sampled `rollout.group` times).
    pub prompts_per_step: usize,
    /// Completions per forward/backward pass. Completions of one prompt in the same
    /// pass share the computation of their prompt, so a multiple of `rollout.group`
    /// is fastest; memory grows with it.
    pub micro_batch: usize,
    /// Seed of the data order, the adapter's initialisation and every sample.
    pub seed: u64,
    /// Save a checkpoint every this many steps (and at the end).
    pub checkpoint_every: u64,
    /// Rerank the validation examples every this many steps (0: only before and after).
    pub eval_every: u64,
    /// At most this many validation examples (the first ones).
    pub eval_examples: usize,
}

impl Default for RunConfig {
    fn default() -> Self {
        RunConfig {
            steps: 20,
            prompts_per_step: 2,
            micro_batch: 4,
            seed: 1,
            checkpoint_every: 5,
            eval_every: 0,
            eval_examples: 32,
        }
    }
}

impl TrainConfig {
    /// Reads and checks a configuration file; relative data paths are taken from the
    /// file's folder.
    pub fn from_file(path: &Path) -> Result<TrainConfig> {
        let text = std::fs::read_to_string(path).map_err(|cause| Error::Io {
            path: path.to_path_buf(),
            cause,
        })?;
        let mut c: TrainConfig = toml::from_str(&text).map_err(|e| Error::Data {
            path: path.to_path_buf(),
            line: e
                .span()
                .map_or(0, |s| text[..s.start].matches('\n').count() as u64 + 1),
            message: e.message().to_string(),
        })?;
        let base = path.parent().unwrap_or(Path::new("."));
        for p in std::iter::once(&mut c.train).chain(c.validation.as_mut()) {
            if p.is_relative() {
                *p = base.join(&*p);
            }
        }
        c.validate()
            .map_err(|m| Error::Config(format!("{}: {m}", path.display())))?;
        Ok(c)
    }

    /// Checks the values; the message names the key.
    pub fn validate(&self) -> std::result::Result<(), String> {
        self.lora.validate().map_err(|m| format!("lora: {m}"))?;
        let r = &self.rollout;
        if r.group < 2 {
            return Err(format!(
                "rollout.group is {}: GRPO compares completions of one prompt, so it needs at least 2",
                r.group
            ));
        }
        if !(r.temperature.is_finite() && r.temperature > 0.0) {
            return Err(format!(
                "rollout.temperature is {}: sampling needs a temperature above 0",
                r.temperature
            ));
        }
        if !(r.top_p > 0.0 && r.top_p <= 1.0) {
            return Err(format!(
                "rollout.top_p is {}: it must be in (0, 1]",
                r.top_p
            ));
        }
        if r.max_new_tokens == 0 {
            return Err("rollout.max_new_tokens must be at least 1".into());
        }
        if !matches!(r.weights.as_str(), "quantized" | "dense") {
            return Err(format!(
                "rollout.weights is '{}': use quantized or dense",
                r.weights
            ));
        }
        self.policy_loss()?;
        self.advantage()?;
        self.reward.rewards()?;
        let o = &self.optim;
        if !(o.lr.is_finite() && o.lr > 0.0) {
            return Err(format!("optim.lr is {}: it must be above 0", o.lr));
        }
        if !(0.0..1.0).contains(&o.beta1) || !(0.0..1.0).contains(&o.beta2) {
            return Err("optim.beta1 and optim.beta2 must be in [0, 1)".into());
        }
        if !(o.max_grad_norm.is_finite() && o.max_grad_norm > 0.0) {
            return Err(format!(
                "optim.max_grad_norm is {}: it must be above 0",
                o.max_grad_norm
            ));
        }
        let run = &self.run;
        for (key, v) in [
            ("run.steps", run.steps as usize),
            ("run.prompts_per_step", run.prompts_per_step),
            ("run.micro_batch", run.micro_batch),
            ("run.checkpoint_every", run.checkpoint_every as usize),
        ] {
            if v == 0 {
                return Err(format!("{key} must be at least 1"));
            }
        }
        Ok(())
    }

    /// The loss settings.
    pub fn policy_loss(&self) -> std::result::Result<PolicyLoss, String> {
        let g = &self.grpo;
        let aggregation = match g.aggregation.as_str() {
            "sequence_mean" => Aggregation::SequenceMean,
            "token_mean" => Aggregation::TokenMean,
            "sequence_sum_norm" => Aggregation::SequenceSumNorm {
                max_completion_length: self.rollout.max_new_tokens,
            },
            "token_sum" => Aggregation::TokenSum,
            "sequence_mean_token_sum" => Aggregation::SequenceMeanTokenSum,
            other => {
                return Err(format!(
                    "grpo.aggregation is '{other}': use sequence_mean, token_mean, sequence_sum_norm, token_sum or sequence_mean_token_sum"
                ))
            }
        };
        if !(g.beta >= 0.0 && g.beta.is_finite()) {
            return Err(format!("grpo.beta is {}: it must be 0 or more", g.beta));
        }
        if !(g.epsilon_low > 0.0 && g.epsilon_low < 1.0 && g.epsilon_high > 0.0) {
            return Err("grpo.epsilon_low must be in (0, 1) and grpo.epsilon_high above 0".into());
        }
        Ok(PolicyLoss {
            epsilon_low: g.epsilon_low,
            epsilon_high: g.epsilon_high,
            beta: g.beta,
            kl: KlPenalty::K3,
            ratio: RatioLevel::Token,
            log_ratio_clamp: None,
            dual_clip: None,
            aggregation,
        })
    }

    /// The advantage settings (TRL's, with the chosen scaling).
    pub fn advantage(&self) -> std::result::Result<AdvantageConfig, String> {
        let scaling = match self.grpo.scale_rewards.as_str() {
            "group" => RewardScaling::Group,
            "batch" => RewardScaling::Batch,
            "none" => RewardScaling::None,
            other => {
                return Err(format!(
                    "grpo.scale_rewards is '{other}': use group, batch or none"
                ))
            }
        };
        Ok(AdvantageConfig {
            scaling,
            ..AdvantageConfig::trl()
        })
    }
}
