//! The training loop: rollouts with the current policy, rewards, the GRPO update,
//! metrics, evaluation and checkpoints, resumable after any interruption.
//!
//! Two decoders share one [`Adapter`]: the model's weights as stored (quantized,
//! the fast path) sample the completions, and the same weights dequantized to f32
//! (with a backward pass) are trained; the adapter's factors are shared, so every
//! update is seen by the next rollouts. The data order, the adapter's initialisation
//! and every sample's seed are functions of `run.seed` and the step, so a run resumed
//! from its checkpoint takes the same steps as one that never stopped.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use candle_core::Device;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rerank_model::candle::{Adapter, CandleBackend, Weights};
use rerank_model::{Backend, FinishReason, GenerationRequest, ModelSource, Prompt, SamplingParams};
use serde::Serialize;

use super::checkpoint;
use super::config::TrainConfig;
use super::optim::{AdamW, Schedule};
use super::update::{Completion, UpdateConfig, UpdateStats, Updater};
use crate::data::{io as data_io, Example};
use crate::error::{io_error as io, Error, Result};
use crate::evaluate::{evaluate, EvalOptions, EvalSummary, Rewards};

/// The metrics of one step (a line of `metrics.jsonl`).
#[derive(Clone, Debug, Serialize)]
pub struct StepRecord {
    /// The step (from 1).
    pub step: u64,
    /// The update.
    #[serde(flatten)]
    pub update: UpdateStats,
    /// Mean completion length in tokens.
    pub completion_tokens: f64,
    /// Share of completions whose answer is in the method's format.
    pub parsed: f64,
    /// Seconds sampling.
    pub rollout_seconds: f64,
    /// Sampled tokens per second.
    pub rollout_tokens_per_s: f64,
}

/// One sampled completion and its reward (a line of `completions.jsonl`, TRL's
/// `log_completions`): what the policy wrote at each step, for reading a run.
#[derive(Clone, Debug, Serialize)]
pub struct SampleRecord {
    /// The step (from 1).
    pub step: u64,
    /// The training example's id.
    pub example: String,
    /// The completion's place in its group.
    pub sample: usize,
    /// Its reward, and the reward's parts.
    pub reward: f64,
    /// The reward's parts by name.
    pub parts: std::collections::BTreeMap<String, f64>,
    /// In the method's format.
    pub parsed: bool,
    /// Why sampling ended (`end_of_text`, `stop`, `length`).
    pub finish: &'static str,
    /// Tokens sampled.
    pub tokens: usize,
    /// The text.
    pub text: String,
}

/// A validation pass (a line of `eval.jsonl`): the steps done, the means of
/// [`crate::evaluate`] over the validation examples, and the time taken.
#[derive(Clone, Debug, Serialize)]
pub struct EvalRecord {
    /// Steps done when it ran.
    pub step: u64,
    /// Examples, mean reward, share in format, answer length, nDCG@10 (greedy answers).
    #[serde(flatten)]
    pub summary: EvalSummary,
    /// Seconds spent.
    pub seconds: f64,
}

/// A training run in its output folder; see the module documentation.
pub struct Trainer {
    config: TrainConfig,
    out: PathBuf,
    rollout: CandleBackend,
    updater: Updater,
    adapter: Adapter,
    train: Vec<Example>,
    validation: Vec<Example>,
    rewards: Rewards,
    step: u64,
}

const CONFIG_FILE: &str = "train-config.json";
/// Per-step metrics in the output folder.
pub const METRICS_FILE: &str = "metrics.jsonl";
/// Validation passes in the output folder.
pub const EVAL_FILE: &str = "eval.jsonl";
/// Every sampled completion, in the output folder.
pub const COMPLETIONS_FILE: &str = "completions.jsonl";

impl Trainer {
    /// Opens the run in `out`: a new one, or the one there, resumed from its last
    /// checkpoint (its configuration must be the same).
    pub fn open(config: TrainConfig, out: &Path) -> Result<Trainer> {
        let train = data_io::read_examples(&config.train)?;
        if train.is_empty() {
            return Err(Error::Inputs(format!(
                "{}: no training examples",
                config.train.display()
            )));
        }
        let validation = match &config.validation {
            Some(p) => data_io::read_examples(p)?,
            None => Vec::new(),
        };
        for (file, examples) in [
            (Some(&config.train), &train),
            (config.validation.as_ref(), &validation),
        ] {
            if let Some(e) = examples.iter().find(|e| e.method() != train[0].method()) {
                return Err(Error::Inputs(format!(
                    "{}: example {} is a {} example, the training set's first is {}: one run trains one method",
                    file.map_or("".into(), |f| f.display().to_string()),
                    e.id,
                    e.method(),
                    train[0].method()
                )));
            }
        }
        std::fs::create_dir_all(out).map_err(io(out))?;
        let recorded = out.join(CONFIG_FILE);
        let this = serde_json::to_string_pretty(&config).expect("serialises") + "\n";
        if recorded.is_file() {
            let then = std::fs::read_to_string(&recorded).map_err(io(&recorded))?;
            // Compared as configurations, so a setting added since (at its default)
            // does not stop an older run from resuming.
            let same = serde_json::from_str::<TrainConfig>(&then).is_ok_and(|c| c == config);
            if !same {
                return Err(Error::Config(format!(
                    "{} holds a run with another configuration ({}); choose another output folder or remove it",
                    out.display(),
                    recorded.display()
                )));
            }
        } else {
            std::fs::write(&recorded, &this).map_err(io(&recorded))?;
        }

        let source = ModelSource::resolve(&config.model)?;
        let device = Device::Cpu;
        let weights = if config.rollout.weights == "dense" {
            Weights::Dense
        } else {
            Weights::Quantized
        };
        let mut rollout = CandleBackend::load_with(&source, &device, weights)?;
        // The trained copy: the same weights dequantized to f32 (not read again).
        let mut dense = rollout.decoder().to_dtype(candle_core::DType::F32)?;
        let found = checkpoint::find(out);
        let (adapter, step, moments) = match &found {
            Some(dir) => {
                let c = checkpoint::load(dir, &dense)?;
                (c.adapter, c.step, Some(c.optimizer))
            }
            None => (
                Adapter::new(config.lora.clone(), &dense, config.run.seed)?,
                0,
                None,
            ),
        };
        dense.set_adapter(Some(adapter.clone()))?;
        rollout.decoder_mut().set_adapter(Some(adapter.clone()))?;
        let mut optimizer = AdamW::new(adapter.vars(), config.optim.adamw())?;
        if let Some(m) = &moments {
            optimizer.restore(step, m)?;
        }
        let schedule = Schedule {
            lr: config.optim.lr,
            warmup_steps: config.optim.warmup_steps,
            total_steps: config.run.steps,
            decay: config.optim.decay,
        };
        let update = UpdateConfig {
            loss: config.policy_loss().map_err(Error::Config)?,
            advantage: config.advantage().map_err(Error::Config)?,
            micro_batch: config.run.micro_batch,
            max_grad_norm: config.optim.max_grad_norm,
        };
        let updater = Updater::new(dense, optimizer, schedule, update)?;
        let rewards = config.reward.rewards().map_err(Error::Config)?;
        // Metrics written after the checkpoint belong to steps that will be redone
        // (all of them when there is no checkpoint).
        for file in [METRICS_FILE, EVAL_FILE, COMPLETIONS_FILE] {
            let path = out.join(file);
            match &found {
                Some(_) => truncate_after(&path, step)?,
                None if path.exists() => std::fs::remove_file(&path).map_err(io(&path))?,
                None => {}
            }
        }
        Ok(Trainer {
            config,
            out: out.to_path_buf(),
            rollout,
            updater,
            adapter,
            train,
            validation,
            rewards,
            step,
        })
    }

    /// Steps done.
    pub fn step(&self) -> u64 {
        self.step
    }

    /// The configuration.
    pub fn config(&self) -> &TrainConfig {
        &self.config
    }

    /// True when every step of the run is done.
    pub fn finished(&self) -> bool {
        self.step >= self.config.run.steps
    }

    /// The training examples of step `step` (from 0): consecutive slices of one
    /// seeded permutation of the training set per epoch.
    fn examples_of(&self, step: u64) -> Vec<usize> {
        let n = self.train.len();
        let per = self.config.run.prompts_per_step;
        let mut out = Vec::with_capacity(per);
        let mut perm: Option<(u64, Vec<usize>)> = None;
        for k in 0..per {
            let flat = step as usize * per + k;
            let epoch = (flat / n) as u64;
            if perm.as_ref().is_none_or(|(e, _)| *e != epoch) {
                let mut order: Vec<usize> = (0..n).collect();
                order.shuffle(&mut ChaCha8Rng::seed_from_u64(mix(
                    self.config.run.seed,
                    epoch,
                    0,
                )));
                perm = Some((epoch, order));
            }
            out.push(perm.as_ref().expect("set above").1[flat % n]);
        }
        out
    }

    /// One step: sample, score, update; appends to `metrics.jsonl`.
    pub fn train_step(&mut self) -> Result<StepRecord> {
        let step = self.step;
        let picked = self.examples_of(step);
        let group = self.config.rollout.group;
        let started = Instant::now();
        let mut completions = Vec::new();
        let mut samples = Vec::new();
        let (mut parsed, mut tokens) = (0usize, 0usize);
        for (g, &ei) in picked.iter().enumerate() {
            let e = &self.train[ei];
            let prompt = Prompt::Chat(e.prompt.clone());
            let ids = self.rollout.prompt_token_ids(&prompt)?;
            // One request for the group: sample j is seeded `seed + j`.
            let request = GenerationRequest {
                prompt: prompt.clone(),
                params: SamplingParams {
                    max_new_tokens: self.config.rollout.max_new_tokens,
                    temperature: self.config.rollout.temperature,
                    top_p: self.config.rollout.top_p,
                    min_new_tokens: self.config.rollout.min_new_tokens,
                    stop: self.config.rollout.stop.clone(),
                    seed: mix(self.config.run.seed, step + 1, g as u64 + 1),
                    ..Default::default()
                },
            };
            let eos = self.rollout.end_of_generation_ids().first().copied();
            for (j, r) in self
                .rollout
                .generate_n(&request, group)
                .into_iter()
                .enumerate()
            {
                let gen = r?;
                let s = self.rewards.score(e, &gen.text);
                let in_format = self.rewards.in_format(e, &gen.text, &s);
                parsed += in_format as usize;
                tokens += gen.token_ids.len();
                samples.push(SampleRecord {
                    step: step + 1,
                    example: e.id.clone(),
                    sample: j,
                    reward: s.total,
                    parts: s
                        .parts
                        .iter()
                        .map(|p| (p.name.to_string(), p.value))
                        .collect(),
                    parsed: in_format,
                    finish: match gen.finish {
                        FinishReason::EndOfText => "end_of_text",
                        FinishReason::Stop(_) => "stop",
                        FinishReason::Length => "length",
                    },
                    tokens: gen.token_ids.len(),
                    text: gen.text.clone(),
                });
                let mut sampled = gen.token_ids;
                // The end-of-turn token was sampled too: train on it, so the model
                // learns where to stop.
                if let (FinishReason::EndOfText, Some(eos)) = (&gen.finish, eos) {
                    sampled.push(eos);
                }
                if sampled.is_empty() {
                    continue;
                }
                completions.push(Completion {
                    prompt: ids.clone(),
                    tokens: sampled,
                    reward: s.total,
                    group: g,
                });
            }
        }
        let rollout_seconds = started.elapsed().as_secs_f64();
        let n = (picked.len() * group) as f64;
        let update = self.updater.step(&completions)?;
        self.step += 1;
        let record = StepRecord {
            step: self.step,
            update,
            completion_tokens: tokens as f64 / n,
            parsed: parsed as f64 / n,
            rollout_seconds,
            rollout_tokens_per_s: tokens as f64 / rollout_seconds.max(1e-9),
        };
        append_lines(&self.out.join(COMPLETIONS_FILE), &samples)?;
        append_line(&self.out.join(METRICS_FILE), &record)?;
        Ok(record)
    }

    /// Reranks the validation examples (the first `run.eval_examples`) with greedy
    /// answers; appends to `eval.jsonl`. `None` without validation examples.
    pub fn evaluate(&mut self) -> Result<Option<EvalRecord>> {
        if self.validation.is_empty() {
            return Ok(None);
        }
        let started = Instant::now();
        let take = self
            .validation
            .len()
            .min(self.config.run.eval_examples.max(1));
        let options = EvalOptions {
            max_new_tokens: self.config.rollout.max_new_tokens,
            batch: 8,
            stop: self.config.rollout.stop.clone(),
        };
        let (summary, _) = evaluate(
            &mut self.rollout,
            &self.validation[..take],
            &options,
            &self.rewards,
            |_| {},
        )?;
        let record = EvalRecord {
            step: self.step,
            summary,
            seconds: started.elapsed().as_secs_f64(),
        };
        append_line(&self.out.join(EVAL_FILE), &record)?;
        Ok(Some(record))
    }

    /// Writes the checkpoint of the steps done.
    pub fn checkpoint(&self) -> Result<()> {
        checkpoint::save(
            &self.out,
            self.step,
            &self.adapter,
            self.updater.decoder(),
            &self.config.model,
            self.updater.optimizer().state(),
        )
    }

    /// Writes the trained adapter in PEFT's format to `dir`.
    pub fn save_adapter(&self, dir: &Path) -> Result<()> {
        Ok(self
            .adapter
            .save_peft(dir, &self.config.model, self.updater.decoder())?)
    }

    /// The trained adapter.
    pub fn adapter(&self) -> &Adapter {
        &self.adapter
    }
}

/// A seed from a run seed and two counters (splitmix64 steps).
fn mix(seed: u64, a: u64, b: u64) -> u64 {
    let mut z =
        seed ^ a.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ b.wrapping_mul(0xC2B2_AE3D_27D4_EB4F);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn append_line<T: Serialize>(path: &Path, record: &T) -> Result<()> {
    append_lines(path, std::slice::from_ref(record))
}

fn append_lines<T: Serialize>(path: &Path, records: &[T]) -> Result<()> {
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(io(path))?;
    let mut text = String::new();
    for r in records {
        text += &(serde_json::to_string(r).expect("serialises") + "\n");
    }
    f.write_all(text.as_bytes()).map_err(io(path))?;
    f.sync_data().map_err(io(path))
}

/// Keeps the lines of a metrics file whose `step` is at most `step` (and drops a
/// last line cut short by an interruption).
fn truncate_after(path: &Path, step: u64) -> Result<()> {
    if !path.is_file() {
        return Ok(());
    }
    let text = std::fs::read_to_string(path).map_err(io(path))?;
    let kept: String = text
        .lines()
        .filter(|l| {
            serde_json::from_str::<serde_json::Value>(l)
                .ok()
                .and_then(|v| v["step"].as_u64())
                .is_some_and(|s| s <= step)
        })
        .map(|l| format!("{l}\n"))
        .collect();
    if kept != text {
        std::fs::write(path, kept).map_err(io(path))?;
    }
    Ok(())
}
