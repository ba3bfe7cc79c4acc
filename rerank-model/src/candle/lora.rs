//! LoRA adapters (Hu et al., 2021) on the decoder's projections, as PEFT defines them:
//!
//! ```text
//! y = x·Wᵀ + s·(dropout(x)·Aᵀ)·Bᵀ        A: (r, in), B: (out, r), s = α / r  (α / √r with rsLoRA)
//! ```
//!
//! `W` stays frozen; `A` starts as PEFT's `kaiming_uniform_(a = √5)` (uniform in
//! ±1/√in) and `B` at zero, so a new adapter changes nothing until it is trained. The
//! factors are candle [`Var`]s: a trainer differentiates through them and updates them
//! in place, and every [`Decoder`] holding a clone of the [`Adapter`] (the training
//! decoder in f32, the quantized one that samples rollouts) sees the update, because
//! clones share storage.
//!
//! ```
//! use candle_core::Device;
//! use rerank_model::candle::{Adapter, Decoder, LoraConfig, Target};
//! use rerank_model::ModelInfo;
//!
//! let decoder = Decoder::random(&ModelInfo::tiny("qwen2"), 7, &Device::Cpu)?;
//! let config = LoraConfig { rank: 4, alpha: 8.0, targets: vec![Target::Q, Target::V], ..LoraConfig::default() };
//! let adapter = Adapter::new(config, &decoder, 1)?;
//! assert_eq!(adapter.vars().len(), 2 * 2 * decoder.info().layers); // A and B, two targets per layer
//! # Ok::<(), rerank_model::Error>(())
//! ```
//!
//! [`Decoder`]: super::Decoder

use candle_core::{DType, Device, Tensor, Var};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use super::model::Decoder;
use crate::error::{candle_error as ce, Error, Result};

/// A projection of a decoder block that an adapter can modify.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Target {
    /// Attention query projection (`q_proj`).
    Q,
    /// Attention key projection (`k_proj`).
    K,
    /// Attention value projection (`v_proj`).
    V,
    /// Attention output projection (`o_proj`).
    O,
    /// Feed-forward gate (`gate_proj`).
    Gate,
    /// Feed-forward up projection (`up_proj`).
    Up,
    /// Feed-forward down projection (`down_proj`).
    Down,
}

impl Target {
    /// All seven, in the order of a block's forward pass.
    pub const ALL: [Target; 7] = [
        Target::Q,
        Target::K,
        Target::V,
        Target::O,
        Target::Gate,
        Target::Up,
        Target::Down,
    ];

    /// The module name PEFT's `target_modules` uses (`q_proj`, …, `down_proj`).
    pub fn peft_name(self) -> &'static str {
        match self {
            Target::Q => "q_proj",
            Target::K => "k_proj",
            Target::V => "v_proj",
            Target::O => "o_proj",
            Target::Gate => "gate_proj",
            Target::Up => "up_proj",
            Target::Down => "down_proj",
        }
    }

    /// The module's path inside a Hugging Face decoder layer (`self_attn.q_proj`).
    pub fn hf_path(self) -> &'static str {
        match self {
            Target::Q => "self_attn.q_proj",
            Target::K => "self_attn.k_proj",
            Target::V => "self_attn.v_proj",
            Target::O => "self_attn.o_proj",
            Target::Gate => "mlp.gate_proj",
            Target::Up => "mlp.up_proj",
            Target::Down => "mlp.down_proj",
        }
    }

    /// Reads `q`, `q_proj`, …, `down` or `down_proj`.
    pub fn parse(name: &str) -> Option<Target> {
        let short = name.strip_suffix("_proj").unwrap_or(name);
        Target::ALL
            .into_iter()
            .find(|t| t.peft_name().strip_suffix("_proj") == Some(short))
    }

    pub(crate) fn index(self) -> usize {
        self as usize
    }

    /// `(in, out)` features of this projection in a model of this shape.
    pub fn features(self, info: &crate::ModelInfo) -> (usize, usize) {
        let (h, q, kv, ffn) = (
            info.hidden,
            info.heads * info.head_dim,
            info.kv_heads * info.head_dim,
            info.feed_forward,
        );
        match self {
            Target::Q => (h, q),
            Target::K | Target::V => (h, kv),
            Target::O => (q, h),
            Target::Gate | Target::Up => (h, ffn),
            Target::Down => (ffn, h),
        }
    }
}

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.peft_name())
    }
}

/// An adapter's shape: PEFT's `r`, `lora_alpha`, `lora_dropout`, `target_modules`
/// and `use_rslora`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LoraConfig {
    /// Rank `r` of the update.
    pub rank: usize,
    /// `α`: the update is scaled by `α / r` (or `α / √r` with `rslora`).
    pub alpha: f64,
    /// Dropout on the adapter's input while training (0 to 1; never at inference).
    pub dropout: f64,
    /// The projections adapted in every block.
    pub targets: Vec<Target>,
    /// Rank-stabilised scaling `α / √r` (Kalajdzievski, 2023).
    pub rslora: bool,
}

impl Default for LoraConfig {
    /// Rank 16, α 32, no dropout, all seven projections: the setting TRL's and
    /// verl's GRPO examples use for small models.
    fn default() -> Self {
        LoraConfig {
            rank: 16,
            alpha: 32.0,
            dropout: 0.0,
            targets: Target::ALL.to_vec(),
            rslora: false,
        }
    }
}

impl LoraConfig {
    /// The factor `s` of the update.
    pub fn scale(&self) -> f64 {
        if self.rslora {
            self.alpha / (self.rank as f64).sqrt()
        } else {
            self.alpha / self.rank as f64
        }
    }

    /// Checks the values: rank at least 1, α finite and positive, dropout in [0, 1),
    /// at least one target, none twice.
    pub fn validate(&self) -> std::result::Result<(), String> {
        if self.rank == 0 {
            return Err("rank must be at least 1".into());
        }
        if !(self.alpha.is_finite() && self.alpha > 0.0) {
            return Err(format!(
                "alpha must be a positive number, not {}",
                self.alpha
            ));
        }
        if !(0.0..1.0).contains(&self.dropout) {
            return Err(format!(
                "dropout must be at least 0 and below 1, not {}",
                self.dropout
            ));
        }
        if self.targets.is_empty() {
            return Err("targets is empty: name at least one of q, k, v, o, gate, up, down".into());
        }
        let mut seen = self.targets.clone();
        seen.sort();
        seen.dedup();
        if seen.len() != self.targets.len() {
            return Err("a target is named twice".into());
        }
        Ok(())
    }
}

/// One projection's factors.
#[derive(Clone, Debug)]
pub struct LoraPair {
    /// `A`, shape `(r, in)`.
    pub a: Var,
    /// `B`, shape `(out, r)`.
    pub b: Var,
}

/// LoRA factors for some projections of every block of one decoder; see the module
/// documentation. Clones share the factors.
#[derive(Clone, Debug)]
pub struct Adapter {
    config: LoraConfig,
    /// Per block, per [`Target::index`].
    layers: Vec<[Option<LoraPair>; 7]>,
}

impl Adapter {
    /// A fresh adapter for `decoder`'s shape and dtype: `A` drawn from `seed`, `B`
    /// zero.
    pub fn new(config: LoraConfig, decoder: &Decoder, seed: u64) -> Result<Adapter> {
        config.validate().map_err(Error::Unsupported)?;
        let info = decoder.info();
        let (dtype, device) = (decoder.dtype(), decoder.device());
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut layers = Vec::with_capacity(info.layers);
        for _ in 0..info.layers {
            let mut row: [Option<LoraPair>; 7] = Default::default();
            for t in Target::ALL {
                if !config.targets.contains(&t) {
                    continue;
                }
                let (fan_in, out) = t.features(info);
                let bound = 1.0 / (fan_in as f64).sqrt();
                let a: Vec<f64> = (0..config.rank * fan_in)
                    .map(|_| rng.gen_range(-bound..bound))
                    .collect();
                let a = Tensor::from_vec(a, (config.rank, fan_in), device)
                    .and_then(|t| t.to_dtype(dtype))
                    .and_then(|t| Var::from_tensor(&t))
                    .map_err(ce)?;
                let b = Var::zeros((out, config.rank), dtype, device).map_err(ce)?;
                row[t.index()] = Some(LoraPair { a, b });
            }
            layers.push(row);
        }
        Ok(Adapter { config, layers })
    }

    /// An adapter from given factors (`layers[i][t]` for block `i`, target `t`); the
    /// shapes are checked against `decoder`.
    pub(crate) fn from_pairs(
        config: LoraConfig,
        layers: Vec<[Option<LoraPair>; 7]>,
        decoder: &Decoder,
    ) -> std::result::Result<Adapter, String> {
        let info = decoder.info();
        if layers.len() != info.layers {
            return Err(format!(
                "{} blocks of factors for a model of {}",
                layers.len(),
                info.layers
            ));
        }
        for (i, row) in layers.iter().enumerate() {
            for t in Target::ALL {
                let Some(p) = &row[t.index()] else { continue };
                let (fan_in, out) = t.features(info);
                let (ad, bd) = (p.a.dims(), p.b.dims());
                if ad != [config.rank, fan_in] || bd != [out, config.rank] {
                    return Err(format!(
                        "layer {i} {t}: lora_A {ad:?} and lora_B {bd:?}, but this model needs [{}, {fan_in}] and [{out}, {}]",
                        config.rank, config.rank
                    ));
                }
            }
        }
        Ok(Adapter { config, layers })
    }

    /// The configuration.
    pub fn config(&self) -> &LoraConfig {
        &self.config
    }

    /// Blocks covered (the decoder's layer count).
    pub fn layers(&self) -> usize {
        self.layers.len()
    }

    /// The factors of block `layer`'s `target`, if adapted.
    pub fn pair(&self, layer: usize, target: Target) -> Option<&LoraPair> {
        self.layers.get(layer)?[target.index()].as_ref()
    }

    /// Every trainable tensor, in a fixed order (block, target, `A` then `B`): what
    /// an optimizer updates and a checkpoint stores.
    pub fn vars(&self) -> Vec<Var> {
        self.named_vars().into_iter().map(|(_, v)| v).collect()
    }

    /// [`Adapter::vars`] with PEFT's tensor names
    /// (`base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight`).
    pub fn named_vars(&self) -> Vec<(String, Var)> {
        let mut out = Vec::new();
        for (i, row) in self.layers.iter().enumerate() {
            for t in Target::ALL {
                if let Some(p) = &row[t.index()] {
                    let base = format!("base_model.model.model.layers.{i}.{}", t.hf_path());
                    out.push((format!("{base}.lora_A.weight"), p.a.clone()));
                    out.push((format!("{base}.lora_B.weight"), p.b.clone()));
                }
            }
        }
        out
    }

    /// Number of trainable parameters.
    pub fn parameters(&self) -> usize {
        self.vars().iter().map(|v| v.elem_count()).sum()
    }

    /// `s·(dropout(x)·Aᵀ)·Bᵀ` for block `layer`'s `target`, or `None` when it is not
    /// adapted. With `track`, gradients flow to the factors; `dropout` is the seed of
    /// this call's dropout mask (training only).
    pub(crate) fn delta(
        &self,
        layer: usize,
        target: Target,
        x: &Tensor,
        track: bool,
        dropout: Option<u64>,
    ) -> Option<candle_core::Result<Tensor>> {
        let p = self.pair(layer, target)?;
        Some((|| {
            let (a, b) = if track {
                (p.a.as_tensor().clone(), p.b.as_tensor().clone())
            } else {
                (p.a.as_tensor().detach(), p.b.as_tensor().detach())
            };
            let x = match dropout {
                Some(seed) if self.config.dropout > 0.0 => {
                    let mixed = seed ^ ((layer as u64) << 8 | target.index() as u64);
                    let mask = dropout_mask(x.dims(), self.config.dropout, mixed, x.device())?;
                    x.broadcast_mul(&mask.to_dtype(x.dtype())?)?
                }
                _ => x.clone(),
            };
            let low = super::model::row_independent_matmul(&x, &a.t()?)?;
            super::model::row_independent_matmul(&low, &b.t()?)? * self.config.scale()
        })())
    }

    /// Sets every `B` to seeded values uniform in `±scale`, so that the update is
    /// not zero (a fresh adapter's is): for tests, benchmarks and interoperability
    /// checks with an adapter that does something.
    pub fn randomize_b(&self, seed: u64, scale: f64) -> Result<()> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        for row in &self.layers {
            for p in row.iter().flatten() {
                let b = &p.b;
                let v: Vec<f64> = (0..b.elem_count())
                    .map(|_| rng.gen_range(-scale..scale))
                    .collect();
                let t = Tensor::from_vec(v, b.dims(), b.device())
                    .and_then(|t| t.to_dtype(b.dtype()))
                    .map_err(ce)?;
                b.set(&t).map_err(ce)?;
            }
        }
        Ok(())
    }

    /// The factors converted to `dtype` (new variables, not shared with `self`).
    pub fn to_dtype(&self, dtype: DType) -> Result<Adapter> {
        let conv = |v: &Var| -> Result<Var> {
            Var::from_tensor(&v.as_tensor().to_dtype(dtype).map_err(ce)?).map_err(ce)
        };
        let mut layers = Vec::with_capacity(self.layers.len());
        for row in &self.layers {
            let mut new: [Option<LoraPair>; 7] = Default::default();
            for (slot, p) in new.iter_mut().zip(row) {
                if let Some(p) = p {
                    *slot = Some(LoraPair {
                        a: conv(&p.a)?,
                        b: conv(&p.b)?,
                    });
                }
            }
            layers.push(new);
        }
        Ok(Adapter {
            config: self.config.clone(),
            layers,
        })
    }

    /// Copies the values of `other` (same shape) into this adapter's factors.
    pub fn assign(&self, other: &Adapter) -> Result<()> {
        let (mine, theirs) = (self.vars(), other.vars());
        if mine.len() != theirs.len() {
            return Err(Error::Unsupported(format!(
                "cannot assign an adapter of {} tensors to one of {}",
                theirs.len(),
                mine.len()
            )));
        }
        for (m, t) in mine.iter().zip(&theirs) {
            m.set(&t.as_tensor().to_dtype(m.dtype()).map_err(ce)?)
                .map_err(ce)?;
        }
        Ok(())
    }
}

/// Inverted dropout: each element kept with probability `1 − p` and scaled by
/// `1 / (1 − p)`, drawn from `seed`.
fn dropout_mask(dims: &[usize], p: f64, seed: u64, device: &Device) -> candle_core::Result<Tensor> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let n: usize = dims.iter().product();
    let keep = (1.0 / (1.0 - p)) as f32;
    let v: Vec<f32> = (0..n)
        .map(|_| if rng.gen::<f64>() < p { 0.0 } else { keep })
        .collect();
    Tensor::from_vec(v, dims, device)
}
