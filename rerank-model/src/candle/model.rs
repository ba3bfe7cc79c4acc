//! The decoder (llama / qwen2 / qwen3 family) on candle-core.
//!
//! Sequences of a batch are *packed*, not padded: the token rows of all sequences are
//! concatenated, so every projection and feed-forward matrix product runs once over
//! all of them, and attention runs per sequence over that sequence's own key/value
//! cache. Each sequence therefore computes exactly what it would compute alone — a
//! batch gives the same greedy text as its prompts one at a time — and no work is
//! spent on padding. A cache can be cloned to reuse a shared prompt prefix.

use std::fs::File;
use std::path::Path;
use std::sync::Arc;

use candle_core::quantized::gguf_file::Content;
use candle_core::quantized::{QMatMul, QTensor};
use candle_core::{DType, Device, Module, Tensor};

use super::causal_softmax::causal_softmax;
use super::decode_attention::{decode_attention, decode_attention_batch};
use super::lora::{Adapter, Target};
use super::ops::{rms_norm, softmax_last, OpsMode, Rope, RopeStyle};
use crate::error::{candle_error as ce, candle_message, Error, Result};
use crate::gguf::{GgufFile, ModelInfo};

/// In [`Decoder::forward`], sequences with at least this many new tokens go through a
/// dense f32 product with the weight dequantized on the fly, shorter ones through a
/// quantized product (8-bit activations: this crate's kernels for Q4_1, Q5_0 and Q8_0,
/// candle's for other types; [`Decoder::prefill`] always takes the dense one). Dense
/// is several times faster for many rows (an optimised f32 GEMM against per-element
/// quantized dot products) and exact; quantized moves less memory for a few rows. The
/// choice is made per sequence, never by batch size, so a batch still computes exactly
/// what its prompts compute alone.
pub const DENSE_MIN_TOKENS: usize = 16;

/// Rows (new tokens, all sequences together) beyond which a forward pass over several
/// sequences is split into groups of sequences (a batch of sixteen 800-token prompts in
/// one pass was measured 12% slower per prompt than one prompt alone).
pub(crate) const PASS_ROWS: usize = 2048;

/// A weight matrix usable both ways.
struct Linear {
    q: QMatMul,
    /// The quantized weight, when the layer has one (to dequantize for prompts).
    w: Option<Arc<QTensor>>,
}

impl Linear {
    /// `x · wᵀ` with the weight as stored: this crate's kernels for the quantized types
    /// they cover ([`super::qmatvec`]), else candle's quantized product, or a dense
    /// product when the weight is dense. Every path computes each row on its own.
    fn quantized_product(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        match (&self.q, &self.w) {
            (QMatMul::Tensor(w), _) => row_independent_matmul(x, &w.t()?),
            (q, Some(w)) => match super::qmatvec::matmul(w, x)? {
                Some(y) => Ok(y),
                None => q.forward(x),
            },
            (q, None) => q.forward(x),
        }
    }

    /// The product for a few rows of decoding (not differentiable): a dense f32
    /// weight streams once for all rows ([`super::dense_matvec`]) instead of being
    /// packed for a GEMM; a quantized one takes [`Linear::quantized_product`].
    fn decode_product(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        match &self.q {
            QMatMul::Tensor(w)
                if w.dtype() == DType::F32 && x.dtype() == DType::F32 && x.device().is_cpu() =>
            {
                super::dense_matvec::matmul(x, w)
            }
            _ => self.quantized_product(x),
        }
    }

    /// `x` holds the packed rows of several sequences, `dense[i]` says how sequence
    /// `i`'s `lens[i]` rows go (the product of prompts, or of a few decoding rows,
    /// which is not differentiable: a pass that needs gradients marks every sequence
    /// dense).
    fn forward(&self, x: &Tensor, lens: &[usize], dense: &[bool]) -> candle_core::Result<Tensor> {
        if dense.iter().all(|d| !d) {
            return self.decode_product(x);
        }
        // A quantized weight dequantized for this product; a dense one is used as is.
        let dense_product = |rows: &Tensor| -> candle_core::Result<Tensor> {
            match (&self.q, &self.w) {
                (QMatMul::Tensor(_), _) | (_, None) => self.quantized_product(rows),
                (_, Some(q)) => row_independent_matmul(rows, &q.dequantize(rows.device())?.t()?),
            }
        };
        if dense.iter().all(|d| *d) {
            return dense_product(x);
        }
        // Mixed: each run of sequences with the same choice goes its own way.
        let mut parts = Vec::new();
        let mut off = 0;
        let mut i = 0;
        while i < lens.len() {
            let mut j = i;
            let mut n = 0;
            while j < lens.len() && dense[j] == dense[i] {
                n += lens[j];
                j += 1;
            }
            let rows = x.narrow(0, off, n)?;
            parts.push(if dense[i] {
                dense_product(&rows)?
            } else {
                self.decode_product(&rows.contiguous()?)?
            });
            off += n;
            i = j;
        }
        Tensor::cat(&parts, 0)
    }
}

/// `x · w` where each row of the result depends on that row of `x` only, so that a
/// sequence gets the same numbers alone as in any batch. The GEMM library sums in the
/// same order for any number of rows except one, which it sends to a matrix-vector
/// kernel that sums differently: a single row is therefore computed as two.
pub(crate) fn row_independent_matmul(x: &Tensor, w: &Tensor) -> candle_core::Result<Tensor> {
    if x.dim(0)? == 1 {
        Tensor::cat(&[x, x], 0)?.matmul(w)?.narrow(0, 0, 1)
    } else {
        x.matmul(w)
    }
}

struct Attention {
    q: Linear,
    k: Linear,
    v: Linear,
    o: Linear,
    q_bias: Option<Tensor>,
    k_bias: Option<Tensor>,
    v_bias: Option<Tensor>,
    q_norm: Option<Tensor>,
    k_norm: Option<Tensor>,
}

struct Block {
    attn_norm: Tensor,
    attn: Attention,
    ffn_norm: Tensor,
    gate: Linear,
    up: Linear,
    down: Linear,
}

/// One sequence's key/value cache: per layer, key and value buffers of shape
/// `(1, kv_heads, capacity, head_dim)`, written in place as tokens arrive (capacity
/// doubles when full), so a decoding step copies one token's keys, not the whole cache.
/// Cloning copies the buffers, so a shared prefix can be forked safely.
#[derive(Debug, Default)]
pub struct SeqCache {
    kv: Vec<Option<(Tensor, Tensor)>>,
    len: usize,
}

impl Clone for SeqCache {
    fn clone(&self) -> Self {
        let kv = self
            .kv
            .iter()
            .map(|l| {
                l.as_ref().map(|(k, v)| {
                    (
                        k.copy().expect("copying a cache buffer"),
                        v.copy().expect("copying a cache buffer"),
                    )
                })
            })
            .collect();
        SeqCache { kv, len: self.len }
    }
}

impl SeqCache {
    /// Appends `k`, `v` of shape `(1, kv_heads, n, head_dim)` to layer `li` and returns
    /// views of the keys and values of all `len + n` tokens.
    fn append(
        &mut self,
        li: usize,
        k: &Tensor,
        v: &Tensor,
    ) -> candle_core::Result<(Tensor, Tensor)> {
        let past = self.len;
        let n = k.dim(2)?;
        let need = past + n;
        let grow = |old: Option<&Tensor>, t: &Tensor| -> candle_core::Result<Tensor> {
            let (b, h, _, d) = t.dims4()?;
            let cap = need.next_power_of_two().max(256);
            let buf = Tensor::zeros((b, h, cap, d), t.dtype(), t.device())?;
            if let Some(old) = old {
                buf.slice_set(&old.narrow(2, 0, past)?.contiguous()?, 2, 0)?;
            }
            Ok(buf)
        };
        let (kb, vb) = match self.kv[li].take() {
            Some((kb, vb)) if kb.dim(2)? >= need => (kb, vb),
            Some((kb, vb)) => (grow(Some(&kb), k)?, grow(Some(&vb), v)?),
            None => (grow(None, k)?, grow(None, v)?),
        };
        kb.slice_set(&k.contiguous()?, 2, past)?;
        vb.slice_set(&v.contiguous()?, 2, past)?;
        let views = (kb.narrow(2, 0, need)?, vb.narrow(2, 0, need)?);
        self.kv[li] = Some((kb, vb));
        Ok(views)
    }
}

impl SeqCache {
    /// Tokens cached.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when nothing is cached.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

/// A loaded decoder.
pub struct Decoder {
    pub(crate) info: ModelInfo,
    embed: Tensor,
    blocks: Vec<Block>,
    norm: Tensor,
    output: Linear,
    rope: Rope,
    device: Device,
    /// Fused kernels (default) or differentiable compositions.
    pub ops: OpsMode,
    /// The dtype activations are computed in (f32, or f64 for gradient checks).
    dtype: DType,
    /// llama GGUF files store q/k rows permuted for adjacent-pair rope.
    qk_permuted: bool,
    adapter: Option<Adapter>,
    adapter_enabled: bool,
    dropout_seed: Option<u64>,
}

impl Decoder {
    /// Loads the weights of a GGUF file onto `device`, keeping them quantized.
    pub fn from_gguf(file: &GgufFile, device: &Device) -> Result<Decoder> {
        Self::load(file, device, false)
    }

    /// Loads the weights of a GGUF file dequantized to f32: slower and larger, but
    /// exact products (a reference for accuracy, and the starting point for training).
    pub fn from_gguf_dense(file: &GgufFile, device: &Device) -> Result<Decoder> {
        Self::load(file, device, true)
    }

    fn load(file: &GgufFile, device: &Device, dense_weights: bool) -> Result<Decoder> {
        let info = file.info()?;
        let path = file.path().to_path_buf();
        let style = match info.architecture.as_str() {
            // llama.cpp's converter permutes llama's q/k rows for adjacent-pair rope.
            "llama" => RopeStyle::Interleaved,
            "qwen2" | "qwen3" => RopeStyle::Halves,
            other => {
                return Err(Error::Unsupported(format!(
                    "{}: architecture '{other}' is not supported (llama, qwen2, qwen3 are)",
                    path.display()
                )))
            }
        };
        let reader = File::open(&path).map_err(|cause| Error::Io {
            path: path.clone(),
            cause,
        })?;
        let mut src = GgufSource {
            content: file.content(),
            reader,
            path: path.clone(),
            device: device.clone(),
        };
        Self::build(info, style, &mut src, device, dense_weights)
    }

    /// A decoder of the given shape with random weights drawn from `seed` (rope on
    /// halves, f32, dense): for tests and benchmarks of code that needs a model but
    /// not a trained one. `qwen2` gets q/k/v biases, `qwen3` per-head q/k norms.
    pub fn random(info: &ModelInfo, seed: u64, device: &Device) -> Result<Decoder> {
        let mut src = RandomSource {
            info: info.clone(),
            state: seed,
            device: device.clone(),
        };
        Self::build(info.clone(), RopeStyle::Halves, &mut src, device, true)
    }

    /// Loads a Hugging Face model folder: `config.json` and `*.safetensors` (f32, f16
    /// or bf16 weights, computed in f32).
    pub fn from_safetensors(dir: &Path, device: &Device) -> Result<Decoder> {
        let info = info_from_config(dir)?;
        let mut files: Vec<std::path::PathBuf> = std::fs::read_dir(dir)
            .map_err(|cause| Error::Io {
                path: dir.to_path_buf(),
                cause,
            })?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "safetensors"))
            .collect();
        files.sort();
        if files.is_empty() {
            return Err(Error::Unsupported(format!(
                "{}: no .safetensors files",
                dir.display()
            )));
        }
        let mut tensors = std::collections::HashMap::new();
        for f in &files {
            let t = candle_core::safetensors::load(f, device)
                .map_err(|e| Error::Unsupported(format!("{}: {e}", f.display())))?;
            tensors.extend(t);
        }
        // Weights in Hugging Face's own layout: rope on halves for every architecture.
        let mut src = SafetensorsSource {
            tensors,
            dir: dir.to_path_buf(),
        };
        Self::build(info, RopeStyle::Halves, &mut src, device, true)
    }

    fn build(
        info: ModelInfo,
        style: RopeStyle,
        src: &mut dyn WeightSource,
        device: &Device,
        dense_weights: bool,
    ) -> Result<Decoder> {
        let dense = |w: Weight| -> Result<Tensor> {
            match w {
                Weight::Quant(t) => t
                    .dequantize(device)
                    .and_then(|t| t.to_dtype(DType::F32))
                    .map_err(ce),
                Weight::Dense(t) => t.to_dtype(DType::F32).map_err(ce),
            }
        };
        let mm = |w: Weight| -> Result<Linear> {
            match w {
                Weight::Quant(t) => {
                    let q = if dense_weights {
                        QMatMul::Tensor(t.dequantize(device).map_err(ce)?)
                    } else {
                        QMatMul::from_arc(t.clone()).map_err(ce)?
                    };
                    Ok(Linear { q, w: Some(t) })
                }
                Weight::Dense(t) => Ok(Linear {
                    q: QMatMul::Tensor(t.to_dtype(DType::F32).map_err(ce)?),
                    w: None,
                }),
            }
        };
        let embed_w = src.get("token_embd.weight")?;
        let embed = dense(embed_w.clone())?;
        // The vocabulary projection runs on few rows (the last token of each
        // sequence) in generation: the quantized product when the weights are.
        let output = if src.has("output.weight") {
            mm(src.get("output.weight")?)?
        } else {
            mm(embed_w)?
        };
        let norm = dense(src.get("output_norm.weight")?)?;
        let mut blocks = Vec::with_capacity(info.layers);
        for i in 0..info.layers {
            let p = |s: &str| format!("blk.{i}.{s}");
            let mut opt = |s: &str| -> Result<Option<Tensor>> {
                if src.has(&p(s)) {
                    Ok(Some(dense(src.get(&p(s))?)?))
                } else {
                    Ok(None)
                }
            };
            let (q_bias, k_bias, v_bias) = (
                opt("attn_q.bias")?,
                opt("attn_k.bias")?,
                opt("attn_v.bias")?,
            );
            let (q_norm, k_norm) = (opt("attn_q_norm.weight")?, opt("attn_k_norm.weight")?);
            let attn = Attention {
                q: mm(src.get(&p("attn_q.weight"))?)?,
                k: mm(src.get(&p("attn_k.weight"))?)?,
                v: mm(src.get(&p("attn_v.weight"))?)?,
                o: mm(src.get(&p("attn_output.weight"))?)?,
                q_bias,
                k_bias,
                v_bias,
                q_norm,
                k_norm,
            };
            blocks.push(Block {
                attn_norm: dense(src.get(&p("attn_norm.weight"))?)?,
                attn,
                ffn_norm: dense(src.get(&p("ffn_norm.weight"))?)?,
                gate: mm(src.get(&p("ffn_gate.weight"))?)?,
                up: mm(src.get(&p("ffn_up.weight"))?)?,
                down: mm(src.get(&p("ffn_down.weight"))?)?,
            });
        }
        let rope = Rope::new(
            info.head_dim,
            info.rope_base,
            info.context_length,
            style,
            device,
        )
        .map_err(ce)?;
        Ok(Decoder {
            info,
            embed,
            blocks,
            norm,
            output,
            rope,
            device: device.clone(),
            ops: OpsMode::default(),
            dtype: DType::F32,
            qk_permuted: style == RopeStyle::Interleaved,
            adapter: None,
            adapter_enabled: true,
            dropout_seed: None,
        })
    }

    /// The dtype activations are computed in.
    pub fn dtype(&self) -> DType {
        self.dtype
    }

    /// The device the weights are on.
    pub fn device(&self) -> &Device {
        &self.device
    }

    /// True when every weight is held dense (dequantized or loaded dense): the
    /// condition for gradients to flow through the frozen base, as quantized
    /// products have no backward pass.
    pub fn is_dense(&self) -> bool {
        let dense = |l: &Linear| matches!(l.q, QMatMul::Tensor(_));
        dense(&self.output)
            && self.blocks.iter().all(|b| {
                [
                    &b.attn.q, &b.attn.k, &b.attn.v, &b.attn.o, &b.gate, &b.up, &b.down,
                ]
                .into_iter()
                .all(dense)
            })
    }

    /// True when the query and key rows are in llama.cpp's permuted order (llama GGUF
    /// files): adapters for `q_proj` and `k_proj` in Hugging Face's order are
    /// permuted the same way on load and back on save.
    pub fn qk_permuted(&self) -> bool {
        self.qk_permuted
    }

    /// Applies `adapter` to every forward pass from now on (`None` removes it).
    pub fn set_adapter(&mut self, adapter: Option<Adapter>) -> Result<()> {
        if let Some(a) = &adapter {
            if a.layers() != self.blocks.len() {
                return Err(Error::Unsupported(format!(
                    "the adapter covers {} blocks, the model has {}",
                    a.layers(),
                    self.blocks.len()
                )));
            }
        }
        self.adapter = adapter;
        Ok(())
    }

    /// The adapter, if one is set.
    pub fn adapter(&self) -> Option<&Adapter> {
        self.adapter.as_ref()
    }

    /// True when the adapter (if any) is applied.
    pub fn adapter_enabled(&self) -> bool {
        self.adapter_enabled
    }

    /// Switches the adapter off (`false`: the base model, GRPO's reference policy)
    /// or back on, without removing it.
    pub fn set_adapter_enabled(&mut self, enabled: bool) {
        self.adapter_enabled = enabled;
    }

    /// Seeds the adapter's dropout for the next forward passes (`None`: no dropout,
    /// as at inference). Only [`OpsMode::Differentiable`] passes apply it.
    pub fn set_dropout_seed(&mut self, seed: Option<u64>) {
        self.dropout_seed = seed;
    }

    /// A copy computing in `dtype` (f64 for finite-difference checks): every weight
    /// dequantized and converted; the adapter, if any, converted too (new
    /// variables).
    pub fn to_dtype(&self, dtype: DType) -> Result<Decoder> {
        let c = |t: &Tensor| t.to_dtype(dtype).map_err(ce);
        let opt = |t: &Option<Tensor>| t.as_ref().map(c).transpose();
        let lin = |l: &Linear| -> Result<Linear> {
            let w = match (&l.q, &l.w) {
                (QMatMul::Tensor(w), _) => w.clone(),
                (_, Some(q)) => q.dequantize(&self.device).map_err(ce)?,
                (_, None) => {
                    return Err(Error::Unsupported(
                        "a weight has neither a dense nor a quantized form".into(),
                    ))
                }
            };
            Ok(Linear {
                q: QMatMul::Tensor(c(&w)?),
                w: None,
            })
        };
        let mut blocks = Vec::with_capacity(self.blocks.len());
        for b in &self.blocks {
            let a = &b.attn;
            blocks.push(Block {
                attn_norm: c(&b.attn_norm)?,
                attn: Attention {
                    q: lin(&a.q)?,
                    k: lin(&a.k)?,
                    v: lin(&a.v)?,
                    o: lin(&a.o)?,
                    q_bias: opt(&a.q_bias)?,
                    k_bias: opt(&a.k_bias)?,
                    v_bias: opt(&a.v_bias)?,
                    q_norm: opt(&a.q_norm)?,
                    k_norm: opt(&a.k_norm)?,
                },
                ffn_norm: c(&b.ffn_norm)?,
                gate: lin(&b.gate)?,
                up: lin(&b.up)?,
                down: lin(&b.down)?,
            });
        }
        Ok(Decoder {
            info: self.info.clone(),
            embed: c(&self.embed)?,
            blocks,
            norm: c(&self.norm)?,
            output: lin(&self.output)?,
            rope: self.rope.to_dtype(dtype).map_err(ce)?,
            device: self.device.clone(),
            ops: self.ops,
            dtype,
            qk_permuted: self.qk_permuted,
            adapter: self
                .adapter
                .as_ref()
                .map(|a| a.to_dtype(dtype))
                .transpose()?,
            adapter_enabled: self.adapter_enabled,
            dropout_seed: self.dropout_seed,
        })
    }

    /// The model's hyper-parameters.
    pub fn info(&self) -> &ModelInfo {
        &self.info
    }

    /// A fresh cache for one sequence.
    pub fn new_cache(&self) -> SeqCache {
        SeqCache {
            kv: vec![None; self.blocks.len()],
            len: 0,
        }
    }

    /// Runs new tokens of several sequences at once: `tokens[i]` continues the
    /// sequence cached in `caches[i]` (updated). Returns, per sequence, the logits of
    /// its last new token (`all_logits = false`, shape `(vocab,)`) or of every new
    /// token (`(new_tokens, vocab)`).
    pub fn forward(
        &self,
        tokens: &[&[u32]],
        caches: &mut [SeqCache],
        all_logits: bool,
    ) -> Result<Vec<Tensor>> {
        let dense: Vec<bool> = tokens.iter().map(|t| t.len() >= DENSE_MIN_TOKENS).collect();
        self.forward_inner(tokens, caches, all_logits, &dense)
            .map_err(ce)
    }

    /// [`Decoder::forward`] for prompt tokens, however few: every product is the exact
    /// dense one, so a prompt gives the same result whether it is run whole or as a
    /// shared prefix plus a remainder.
    pub fn prefill(
        &self,
        tokens: &[&[u32]],
        caches: &mut [SeqCache],
        all_logits: bool,
    ) -> Result<Vec<Tensor>> {
        let dense = vec![true; tokens.len()];
        self.forward_inner(tokens, caches, all_logits, &dense)
            .map_err(ce)
    }

    fn forward_inner(
        &self,
        tokens: &[&[u32]],
        caches: &mut [SeqCache],
        all_logits: bool,
        dense: &[bool],
    ) -> candle_core::Result<Vec<Tensor>> {
        // Long prompts go through in groups of at most `PASS_ROWS` rows (or one prompt):
        // rows are independent in every product, so a sequence's numbers are the same
        // in any group, and a group's activations stay in cache where a whole batch's
        // do not.
        let mut out = Vec::with_capacity(tokens.len());
        let mut start = 0;
        while start < tokens.len() {
            let (mut end, mut rows) = (start + 1, tokens[start].len());
            while end < tokens.len() && rows + tokens[end].len() <= PASS_ROWS {
                rows += tokens[end].len();
                end += 1;
            }
            out.extend(self.forward_pass(
                &tokens[start..end],
                &mut caches[start..end],
                all_logits,
                &dense[start..end],
            )?);
            start = end;
        }
        Ok(out)
    }

    /// One pass of [`Decoder::forward_inner`] over all of `tokens`.
    fn forward_pass(
        &self,
        tokens: &[&[u32]],
        caches: &mut [SeqCache],
        all_logits: bool,
        dense: &[bool],
    ) -> candle_core::Result<Vec<Tensor>> {
        let lens: Vec<usize> = tokens.iter().map(|t| t.len()).collect();
        let x = self.hidden_states(tokens, caches, dense)?;
        let mut out = Vec::with_capacity(lens.len());
        let mut off = 0;
        if all_logits {
            let logits = self.head(&x, &lens, dense)?;
            for &n in &lens {
                out.push(logits.narrow(0, off, n)?);
                off += n;
            }
        } else {
            let last: Vec<u32> = lens
                .iter()
                .map(|&n| {
                    off += n;
                    (off - 1) as u32
                })
                .collect();
            let idx = Tensor::from_vec(last, lens.len(), &self.device)?;
            let ones = vec![1; lens.len()];
            let logits = self.head(&x.index_select(&idx, 0)?, &ones, dense)?;
            for i in 0..lens.len() {
                out.push(logits.get(i)?);
            }
        }
        Ok(out)
    }

    /// The vocabulary logits of hidden-state rows (after the final norm).
    pub(crate) fn lm_head(&self, rows: &Tensor) -> candle_core::Result<Tensor> {
        self.output.quantized_product(rows)
    }

    /// The inference head over packed rows (`lens[i]` of sequence `i`): quantized
    /// weights as stored for every row; a dense weight through the GEMM for prompt
    /// rows and through [`Linear::decode_product`] for decoding rows.
    fn head(&self, rows: &Tensor, lens: &[usize], dense: &[bool]) -> candle_core::Result<Tensor> {
        match self.output.q {
            QMatMul::Tensor(_) => self.output.forward(rows, lens, dense),
            _ => self.output.quantized_product(rows),
        }
    }

    /// A projection, plus the adapter's update when one is set and enabled (with
    /// `track`, differentiable with respect to the adapter's factors).
    #[allow(clippy::too_many_arguments)]
    fn project(
        &self,
        layer: usize,
        target: Target,
        linear: &Linear,
        x: &Tensor,
        lens: &[usize],
        dense: &[bool],
        track: bool,
    ) -> candle_core::Result<Tensor> {
        let y = linear.forward(x, lens, dense)?;
        let adapter = self.adapter.as_ref().filter(|_| self.adapter_enabled);
        let dropout = self
            .dropout_seed
            .filter(|_| self.ops == OpsMode::Differentiable);
        match adapter.and_then(|a| a.delta(layer, target, x, track, dropout)) {
            Some(delta) => y + delta?,
            None => Ok(y),
        }
    }

    /// The final-norm hidden states of every new token, packed `(total, hidden)`;
    /// caches updated.
    pub(crate) fn hidden_states(
        &self,
        tokens: &[&[u32]],
        caches: &mut [SeqCache],
        dense: &[bool],
    ) -> candle_core::Result<Tensor> {
        let lens: Vec<usize> = tokens.iter().map(|t| t.len()).collect();
        let mut x = self.embed_tokens(tokens)?;
        let track = self.ops == OpsMode::Differentiable;
        for li in 0..self.blocks.len() {
            x = self.block(li, &x, &lens, dense, Keys::Caches(&mut *caches), track)?;
        }
        for (cache, &n) in caches.iter_mut().zip(&lens) {
            cache.len += n;
        }
        self.final_norm(&x)
    }

    /// The embeddings of packed token sequences, `(total, hidden)`.
    pub(crate) fn embed_tokens(&self, tokens: &[&[u32]]) -> candle_core::Result<Tensor> {
        let flat: Vec<u32> = tokens.iter().flat_map(|t| t.iter().copied()).collect();
        let total = flat.len();
        let ids = Tensor::from_vec(flat, total, &self.device)?;
        self.embed.index_select(&ids, 0)
    }

    /// The final RMSNorm.
    pub(crate) fn final_norm(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        rms_norm(x, &self.norm, self.info.rms_eps, self.ops)
    }

    /// Blocks in the model.
    pub(crate) fn block_count(&self) -> usize {
        self.blocks.len()
    }

    /// Block `li` over packed rows `x` of segments `lens` long. With
    /// [`Keys::Caches`], each segment continues its sequence's cache (which is
    /// appended to; its length is advanced by the caller after the last block); with
    /// [`Keys::Packed`], each is a fresh sequence or continues the keys of an earlier
    /// segment (a prompt shared by a group of completions), without caches
    /// (training). `track`: differentiable in the adapter.
    pub(crate) fn block(
        &self,
        li: usize,
        x: &Tensor,
        lens: &[usize],
        dense: &[bool],
        keys: Keys<'_>,
        track: bool,
    ) -> candle_core::Result<Tensor> {
        let (mut caches, parents) = match keys {
            Keys::Caches(c) => (Some(c), None),
            Keys::Packed(p) => (None, Some(p)),
        };
        // Packed: each segment's keys and values after rope, for the segments that
        // continue it.
        let mut segment_kv: Vec<(usize, Tensor, Tensor)> = Vec::new();
        let b = &self.blocks[li];
        let (h, kvh, hd) = (self.info.heads, self.info.kv_heads, self.info.head_dim);
        let eps = self.info.rms_eps;
        let xn = rms_norm(x, &b.attn_norm, eps, self.ops)?;
        let a = &b.attn;
        let mut q = self.project(li, Target::Q, &a.q, &xn, lens, dense, track)?;
        let mut k = self.project(li, Target::K, &a.k, &xn, lens, dense, track)?;
        let mut v = self.project(li, Target::V, &a.v, &xn, lens, dense, track)?;
        if let Some(bias) = &a.q_bias {
            q = q.broadcast_add(bias)?;
        }
        if let Some(bias) = &a.k_bias {
            k = k.broadcast_add(bias)?;
        }
        if let Some(bias) = &a.v_bias {
            v = v.broadcast_add(bias)?;
        }
        let mut outs: Vec<Option<Tensor>> = vec![None; lens.len()];
        // Packed: per segment that continues another, its queries, keys and values
        // (attended below, together with the other continuations of its parent).
        let mut children: Vec<(usize, usize, Tensor, Tensor, Tensor)> = Vec::new();
        // Cached sequences decoding one token: their queries and cached keys and values.
        let mut decoding: Vec<(usize, (Tensor, Tensor, Tensor))> = Vec::new();
        let mut off = 0;
        for (s, &n) in lens.iter().enumerate() {
            let parent = parents.and_then(|p| p[s]);
            let past = match (&caches, parent) {
                (Some(c), _) => c[s].len,
                (None, Some(p)) => lens[p],
                (None, None) => 0,
            };
            // (n, heads*hd) -> (1, heads, n, hd)
            let at = off;
            off += n;
            let shape = |t: &Tensor, heads: usize| -> candle_core::Result<Tensor> {
                t.narrow(0, at, n)?
                    .reshape((1, n, heads, hd))?
                    .transpose(1, 2)?
                    .contiguous()
            };
            let mut qs = shape(&q, h)?;
            let mut ks = shape(&k, kvh)?;
            let vs = shape(&v, kvh)?;
            if let Some(w) = &a.q_norm {
                qs = rms_norm(&qs, w, eps, self.ops)?;
            }
            if let Some(w) = &a.k_norm {
                ks = rms_norm(&ks, w, eps, self.ops)?;
            }
            let qs = self.rope.apply(&qs, past, self.ops)?;
            let ks = self.rope.apply(&ks, past, self.ops)?;
            let (kc, vc) = match (caches.as_deref_mut(), parent) {
                (Some(c), _) => {
                    let (kc, vc) = c[s].append(li, &ks, &vs)?;
                    // The cache is written in place, which gradients cannot pass: a
                    // differentiable pass over a fresh sequence attends to its own keys.
                    if self.ops == OpsMode::Differentiable && past == 0 {
                        (ks, vs)
                    } else {
                        (kc, vc)
                    }
                }
                (None, Some(p)) => {
                    children.push((s, p, qs, ks, vs));
                    continue;
                }
                (None, None) => {
                    segment_kv.push((s, ks.clone(), vs.clone()));
                    (ks, vs)
                }
            };
            if n == 1 && fused_cpu(self.ops, &self.device, &qs) {
                decoding.push((s, (qs, kc, vc)));
                continue;
            }
            let o = attend(&qs, &kc, &vc, past, h, kvh, hd, &self.device, self.ops)?; // (1, h, n, hd)
            outs[s] = Some(o.transpose(1, 2)?.reshape((n, h * hd))?);
        }
        // The sequences decoding one token attend in one call.
        if !decoding.is_empty() {
            let (seqs, items): (Vec<usize>, Vec<_>) = decoding.into_iter().unzip();
            let scale = 1.0 / (hd as f32).sqrt();
            for (s, o) in seqs.into_iter().zip(decode_attention_batch(&items, scale)?) {
                outs[s] = Some(o.transpose(1, 2)?.reshape((1, h * hd))?);
            }
        }
        // The continuations of one prompt attend together: their queries stacked, the
        // keys the prompt's and then all of theirs, each row masked to the prompt and
        // its own segment's earlier positions. One pass per prompt instead of one per
        // continuation, with the prompt's keys concatenated once.
        let mut groups: Vec<(usize, Vec<usize>)> = Vec::new();
        for (i, c) in children.iter().enumerate() {
            match groups.iter_mut().find(|(p, _)| *p == c.1) {
                Some((_, members)) => members.push(i),
                None => groups.push((c.1, vec![i])),
            }
        }
        for (p, members) in groups {
            let (_, pk, pv) = segment_kv
                .iter()
                .find(|(s, _, _)| *s == p)
                .expect("a continued segment comes first");
            let prompt = lens[p];
            let rows: usize = members.iter().map(|&i| lens[children[i].0]).sum();
            let q_all = Tensor::cat(
                &members.iter().map(|&i| &children[i].2).collect::<Vec<_>>(),
                2,
            )?;
            let mut ks_all = vec![pk];
            ks_all.extend(members.iter().map(|&i| &children[i].3));
            let mut vs_all = vec![pv];
            vs_all.extend(members.iter().map(|&i| &children[i].4));
            let (k_all, v_all) = (Tensor::cat(&ks_all, 2)?, Tensor::cat(&vs_all, 2)?);
            let keys = prompt + rows;
            let mut mask = vec![f32::NEG_INFINITY; rows * keys];
            let mut row = 0;
            for &i in &members {
                let n = lens[children[i].0];
                for a in 0..n {
                    let m = &mut mask[(row + a) * keys..(row + a + 1) * keys];
                    m[..prompt].fill(0.0);
                    m[prompt + row..prompt + row + a + 1].fill(0.0);
                }
                row += n;
            }
            let o = attend_masked(
                &q_all,
                &k_all,
                &v_all,
                Mask::Given(mask),
                h,
                kvh,
                hd,
                &self.device,
                self.ops,
            )?;
            let o = o.transpose(1, 2)?.reshape((rows, h * hd))?;
            let mut at = 0;
            for &i in &members {
                let (s, n) = (children[i].0, lens[children[i].0]);
                outs[s] = Some(o.narrow(0, at, n)?);
                at += n;
            }
        }
        let mut outs: Vec<Tensor> = outs
            .into_iter()
            .map(|o| o.expect("every segment attended"))
            .collect();
        let attn = if outs.len() == 1 {
            outs.pop().expect("one")
        } else {
            Tensor::cat(&outs, 0)?
        };
        let x = (x + self.project(li, Target::O, &a.o, &attn, lens, dense, track)?)?;
        let xn = rms_norm(&x, &b.ffn_norm, eps, self.ops)?;
        let gate = self.project(li, Target::Gate, &b.gate, &xn, lens, dense, track)?;
        let up = self.project(li, Target::Up, &b.up, &xn, lens, dense, track)?;
        let ff = (gate.silu()? * up)?;
        x + self.project(li, Target::Down, &b.down, &ff, lens, dense, track)?
    }
}

/// Where a block's attention finds the keys before each packed segment's own.
pub(crate) enum Keys<'a> {
    /// Each segment continues the sequence cached in its `SeqCache` (inference).
    Caches(&'a mut [SeqCache]),
    /// No caches: segment `s` is a fresh sequence (`None`) or continues segment
    /// `p < s` (`Some(p)`, a fresh one), at the positions after it (training, with
    /// a group's shared prompt computed once).
    Packed(&'a [Option<usize>]),
}

/// A weight as stored.
#[derive(Clone)]
enum Weight {
    Quant(Arc<QTensor>),
    Dense(Tensor),
}

/// Where weights come from, by their GGUF names.
trait WeightSource {
    fn get(&mut self, name: &str) -> Result<Weight>;
    fn has(&self, name: &str) -> bool;
}

struct GgufSource<'a> {
    content: &'a Content,
    reader: File,
    path: std::path::PathBuf,
    device: Device,
}

impl WeightSource for GgufSource<'_> {
    fn get(&mut self, name: &str) -> Result<Weight> {
        self.content
            .tensor(&mut self.reader, name, &self.device)
            .map(|t| Weight::Quant(Arc::new(t)))
            .map_err(|e| Error::Gguf {
                path: self.path.clone(),
                message: format!("tensor {name}: {}", candle_message(&e)),
            })
    }
    fn has(&self, name: &str) -> bool {
        self.content.tensor_infos.contains_key(name)
    }
}

/// Random weights by GGUF name, shaped from [`ModelInfo`] ([`Decoder::random`]).
struct RandomSource {
    info: ModelInfo,
    state: u64,
    device: Device,
}

impl RandomSource {
    fn shape(&self, name: &str) -> Option<Vec<usize>> {
        let i = &self.info;
        let (q, kv) = (i.heads * i.head_dim, i.kv_heads * i.head_dim);
        let rest = match name.strip_prefix("blk.") {
            Some(r) => r.split_once('.')?.1,
            None => name,
        };
        Some(match rest {
            "token_embd.weight" | "output.weight" => vec![i.vocab, i.hidden],
            "output_norm.weight" | "attn_norm.weight" | "ffn_norm.weight" => vec![i.hidden],
            "attn_q.weight" => vec![q, i.hidden],
            "attn_k.weight" | "attn_v.weight" => vec![kv, i.hidden],
            "attn_output.weight" => vec![i.hidden, q],
            "attn_q.bias" if i.architecture == "qwen2" => vec![q],
            "attn_k.bias" | "attn_v.bias" if i.architecture == "qwen2" => vec![kv],
            "attn_q_norm.weight" | "attn_k_norm.weight" if i.architecture == "qwen3" => {
                vec![i.head_dim]
            }
            "ffn_gate.weight" | "ffn_up.weight" => vec![i.feed_forward, i.hidden],
            "ffn_down.weight" => vec![i.hidden, i.feed_forward],
            _ => return None,
        })
    }
}

impl WeightSource for RandomSource {
    fn get(&mut self, name: &str) -> Result<Weight> {
        let shape = self
            .shape(name)
            .ok_or_else(|| Error::Unsupported(format!("no random weight named {name}")))?;
        let n: usize = shape.iter().product();
        let norm = name.ends_with("norm.weight");
        let fan_in = *shape.last().unwrap_or(&1) as f32;
        let scale = if norm || name.ends_with(".bias") {
            0.1
        } else {
            1.0 / fan_in.sqrt()
        };
        let v: Vec<f32> = (0..n)
            .map(|_| {
                self.state = self
                    .state
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                let u = (self.state >> 33) as f32 / (1u64 << 31) as f32 - 0.5;
                2.0 * scale * u + if norm { 1.0 } else { 0.0 }
            })
            .collect();
        Tensor::from_vec(v, shape, &self.device)
            .map(Weight::Dense)
            .map_err(ce)
    }
    fn has(&self, name: &str) -> bool {
        self.shape(name).is_some()
    }
}

struct SafetensorsSource {
    tensors: std::collections::HashMap<String, Tensor>,
    dir: std::path::PathBuf,
}

/// The Hugging Face name of a GGUF tensor name.
fn hf_name(gguf: &str) -> String {
    fn map(s: &str) -> &str {
        match s {
            "attn_norm.weight" => "input_layernorm.weight",
            "attn_q.weight" => "self_attn.q_proj.weight",
            "attn_k.weight" => "self_attn.k_proj.weight",
            "attn_v.weight" => "self_attn.v_proj.weight",
            "attn_q.bias" => "self_attn.q_proj.bias",
            "attn_k.bias" => "self_attn.k_proj.bias",
            "attn_v.bias" => "self_attn.v_proj.bias",
            "attn_output.weight" => "self_attn.o_proj.weight",
            "attn_q_norm.weight" => "self_attn.q_norm.weight",
            "attn_k_norm.weight" => "self_attn.k_norm.weight",
            "ffn_norm.weight" => "post_attention_layernorm.weight",
            "ffn_gate.weight" => "mlp.gate_proj.weight",
            "ffn_up.weight" => "mlp.up_proj.weight",
            "ffn_down.weight" => "mlp.down_proj.weight",
            other => other,
        }
    }
    match gguf {
        "token_embd.weight" => "model.embed_tokens.weight".into(),
        "output_norm.weight" => "model.norm.weight".into(),
        "output.weight" => "lm_head.weight".into(),
        _ => match gguf.strip_prefix("blk.").and_then(|r| r.split_once('.')) {
            Some((i, rest)) => format!("model.layers.{i}.{}", map(rest)),
            None => gguf.into(),
        },
    }
}

impl WeightSource for SafetensorsSource {
    fn get(&mut self, name: &str) -> Result<Weight> {
        let hf = hf_name(name);
        self.tensors
            .get(&hf)
            .cloned()
            .map(Weight::Dense)
            .ok_or_else(|| {
                Error::Unsupported(format!(
                    "{}: no tensor {hf} in the safetensors files",
                    self.dir.display()
                ))
            })
    }
    fn has(&self, name: &str) -> bool {
        self.tensors.contains_key(&hf_name(name))
    }
}

/// Hyper-parameters from a Hugging Face `config.json`.
fn info_from_config(dir: &Path) -> Result<ModelInfo> {
    let path = dir.join("config.json");
    let text = std::fs::read_to_string(&path).map_err(|cause| Error::Io {
        path: path.clone(),
        cause,
    })?;
    let c: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| Error::Unsupported(format!("{}: {e}", path.display())))?;
    let arch = c["model_type"].as_str().unwrap_or_default().to_owned();
    if !matches!(arch.as_str(), "llama" | "qwen2" | "qwen3") {
        return Err(Error::Unsupported(format!(
            "{}: model_type '{arch}' is not supported (llama, qwen2, qwen3 are)",
            path.display()
        )));
    }
    let need = |k: &str| {
        c[k].as_u64()
            .map(|v| v as usize)
            .ok_or_else(|| Error::Unsupported(format!("{}: missing {k}", path.display())))
    };
    let heads = need("num_attention_heads")?;
    let hidden = need("hidden_size")?;
    Ok(ModelInfo {
        architecture: arch,
        name: c["_name_or_path"].as_str().map(str::to_owned),
        layers: need("num_hidden_layers")?,
        hidden,
        feed_forward: need("intermediate_size")?,
        heads,
        kv_heads: c["num_key_value_heads"]
            .as_u64()
            .map_or(heads, |v| v as usize),
        head_dim: c["head_dim"]
            .as_u64()
            .map_or(hidden / heads, |v| v as usize),
        context_length: c["max_position_embeddings"]
            .as_u64()
            .map_or(2048, |v| v as usize),
        rope_base: c["rope_theta"].as_f64().unwrap_or(10_000.0),
        rms_eps: c["rms_norm_eps"].as_f64().unwrap_or(1e-6),
        vocab: need("vocab_size")?,
        quantizations: Vec::new(),
    })
}

/// Query rows per attention chunk: each chunk sees only the keys it may attend to, so
/// the masked half of a causal prompt's score matrix is never computed, and scores stay
/// small in memory.
const ATTENTION_CHUNK: usize = 256;

/// Whether attention goes to this crate's fused CPU kernels: [`decode_attention`] for
/// one new token, [`causal_softmax`] for a chunk of prompt rows.
fn fused_cpu(ops: OpsMode, device: &Device, q: &Tensor) -> bool {
    ops == OpsMode::Fused && device.is_cpu() && q.dtype() == DType::F32
}

/// Causal attention of one sequence: `q` is `(1, heads, n, hd)` for the tokens at
/// positions `past..past + n`, `k` and `v` are `(1, kv_heads, past + n, hd)`.
/// Grouped-query attention without copying keys and values per head: the queries of
/// the `heads / kv_heads` heads that share a key/value head are stacked as rows.
#[allow(clippy::too_many_arguments)]
fn attend(
    q: &Tensor,
    k: &Tensor,
    v: &Tensor,
    past: usize,
    h: usize,
    kvh: usize,
    hd: usize,
    device: &Device,
    ops: OpsMode,
) -> candle_core::Result<Tensor> {
    let n = q.dim(2)?;
    if n == 1 && fused_cpu(ops, device, q) {
        return decode_attention(q, k, v, 1.0 / (hd as f32).sqrt());
    }
    let mut chunks = Vec::new();
    let mut start = 0;
    while start < n {
        let end = (start + ATTENTION_CHUNK).min(n);
        let m = end - start;
        let keys = past + end;
        // Each row sees the keys up to its own position.
        let mask = Mask::Causal {
            first_visible: past + start + 1,
        };
        chunks.push(attend_masked(
            &q.narrow(2, start, m)?,
            &k.narrow(2, 0, keys)?,
            &v.narrow(2, 0, keys)?,
            mask,
            h,
            kvh,
            hd,
            device,
            ops,
        )?);
        start = end;
    }
    if chunks.len() == 1 {
        Ok(chunks.pop().expect("one"))
    } else {
        Tensor::cat(&chunks, 2)
    }
}

/// Which keys each query row of [`attend_masked`] may look at.
enum Mask {
    /// An additive mask (`m × keys`, row-major: 0 where a row may look, −∞ where not).
    Given(Vec<f32>),
    /// Consecutive positions: row `i` sees the first `first_visible + i` keys.
    Causal { first_visible: usize },
}

/// Attention of query rows `q` `(1, heads, m, hd)` over `k`, `v` `(1, kv_heads, keys,
/// hd)` with a [`Mask`]. Grouped-query attention without copying keys and values per
/// head: the queries of the `heads / kv_heads` heads that share a key/value head are
/// stacked as rows. A causal mask on the CPU in f32 with fused ops is applied by
/// [`causal_softmax`] in the softmax's pass (fewer passes, within a few ulp).
#[allow(clippy::too_many_arguments)]
fn attend_masked(
    q: &Tensor,
    k: &Tensor,
    v: &Tensor,
    mask: Mask,
    h: usize,
    kvh: usize,
    hd: usize,
    device: &Device,
    ops: OpsMode,
) -> candle_core::Result<Tensor> {
    let m = q.dim(2)?;
    let keys = k.dim(2)?;
    let rep = h / kvh;
    let scale = 1.0 / (hd as f64).sqrt();
    let qc = q.reshape((kvh, rep * m, hd))?;
    let kc = k.squeeze(0)?;
    let vc = v.squeeze(0)?;
    let scores = qc.matmul(&kc.t()?)?; // (kvh, rep*m, keys)
    let mask = match mask {
        // One row: it sees every key (as without a mask).
        Mask::Causal { .. } if m == 1 => None,
        Mask::Causal { first_visible } if fused_cpu(ops, device, q) => {
            let probs = causal_softmax(&scores, scale as f32, m, first_visible)?;
            return probs.matmul(&vc)?.reshape((1, h, m, hd));
        }
        Mask::Causal { first_visible } => Some(
            (0..m)
                .flat_map(|i| {
                    let visible = first_visible + i;
                    (0..keys).map(move |j| if j >= visible { f32::NEG_INFINITY } else { 0.0 })
                })
                .collect(),
        ),
        Mask::Given(mask) => Some(mask),
    };
    let scores = (scores * scale)?;
    let scores = match mask {
        Some(mask) => {
            let mask = Tensor::from_vec(mask, (1, 1, m, keys), device)?.to_dtype(q.dtype())?;
            scores
                .reshape((kvh, rep, m, keys))?
                .broadcast_add(&mask)?
                .reshape((kvh, rep * m, keys))?
        }
        None => scores,
    };
    let probs = softmax_last(&scores, ops)?;
    probs.matmul(&vc)?.reshape((1, h, m, hd))
}

/// Loads a GGUF decoder from a path (convenience).
pub fn load(path: &Path, device: &Device) -> Result<(GgufFile, Decoder)> {
    let file = GgufFile::open(path)?;
    let decoder = Decoder::from_gguf(&file, device)?;
    Ok((file, decoder))
}
