//! The decoder's elementwise and normalising operations, written with candle's basic
//! tensor ops so that every one of them has a backward pass (candle's fused
//! `rms_norm`, `rope` and `softmax` kernels have none): the same forward can later run
//! in f32 with gradients for training.

use candle_core::{DType, Result, Tensor, D};

/// Which implementation of the operations a decoder uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum OpsMode {
    /// candle-nn's fused kernels: fewer, larger operations (inference).
    #[default]
    Fused,
    /// Basic tensor ops only: differentiable (training).
    Differentiable,
}

/// The fused kernels cover f32, f16 and bf16; other dtypes (f64, for gradient checks)
/// take the compositions, which compute the same function.
fn effective(mode: OpsMode, x: &Tensor) -> OpsMode {
    if x.dtype() == DType::F64 {
        OpsMode::Differentiable
    } else {
        mode
    }
}

/// RMSNorm over the last dimension: `x / sqrt(mean(x²) + eps) * weight`.
pub fn rms_norm(x: &Tensor, weight: &Tensor, eps: f64, mode: OpsMode) -> Result<Tensor> {
    match effective(mode, x) {
        OpsMode::Fused => candle_nn::ops::rms_norm(&x.contiguous()?, weight, eps as f32),
        OpsMode::Differentiable => {
            let ms = x.sqr()?.mean_keepdim(D::Minus1)?;
            x.broadcast_div(&(ms + eps)?.sqrt()?)?.broadcast_mul(weight)
        }
    }
}

/// Softmax over the last dimension, shifted by the maximum for stability.
pub fn softmax_last(x: &Tensor, mode: OpsMode) -> Result<Tensor> {
    match effective(mode, x) {
        OpsMode::Fused => candle_nn::ops::softmax_last_dim(&x.contiguous()?),
        OpsMode::Differentiable => {
            let max = x.max_keepdim(D::Minus1)?;
            let e = x.broadcast_sub(&max)?.exp()?;
            e.broadcast_div(&e.sum_keepdim(D::Minus1)?)
        }
    }
}

/// How query and key dimensions are paired for rotation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RopeStyle {
    /// Adjacent pairs `(x[2i], x[2i+1])`: llama.cpp's "normal" rope, used by GGUF
    /// llama models (whose converter permutes the weights to match).
    Interleaved,
    /// Halves `(x[i], x[i + d/2])`: "NeoX" rope (Qwen2, Qwen3, Gemma 3).
    Halves,
}

/// Rotary embedding tables: `cos` and `sin` of shape `(positions, head_dim / 2)`.
#[derive(Clone, Debug)]
pub struct Rope {
    cos: Tensor,
    sin: Tensor,
    style: RopeStyle,
}

impl Rope {
    /// Tables for `max_positions` positions.
    pub fn new(
        head_dim: usize,
        base: f64,
        max_positions: usize,
        style: RopeStyle,
        device: &candle_core::Device,
    ) -> Result<Self> {
        let half = head_dim / 2;
        let inv: Vec<f32> = (0..half)
            .map(|i| (1.0 / base.powf(2.0 * i as f64 / head_dim as f64)) as f32)
            .collect();
        let inv = Tensor::from_vec(inv, (1, half), device)?;
        let pos = Tensor::arange(0u32, max_positions as u32, device)?
            .to_dtype(DType::F32)?
            .reshape((max_positions, 1))?;
        let freqs = pos.broadcast_mul(&inv)?;
        Ok(Rope {
            cos: freqs.cos()?,
            sin: freqs.sin()?,
            style,
        })
    }

    /// The tables in `dtype`.
    pub fn to_dtype(&self, dtype: DType) -> Result<Self> {
        Ok(Rope {
            cos: self.cos.to_dtype(dtype)?,
            sin: self.sin.to_dtype(dtype)?,
            style: self.style,
        })
    }

    /// Rotates `x` of shape `(batch, heads, seq, head_dim)` whose tokens sit at
    /// positions `start..start + seq`.
    pub fn apply(&self, x: &Tensor, start: usize, mode: OpsMode) -> Result<Tensor> {
        let (_, _, seq, d) = x.dims4()?;
        let cos = self.cos.narrow(0, start, seq)?;
        let sin = self.sin.narrow(0, start, seq)?;
        if effective(mode, x) == OpsMode::Fused {
            let x = x.contiguous()?;
            let (cos, sin) = (cos.contiguous()?, sin.contiguous()?);
            return match self.style {
                RopeStyle::Halves => candle_nn::rotary_emb::rope(&x, &cos, &sin),
                RopeStyle::Interleaved => candle_nn::rotary_emb::rope_i(&x, &cos, &sin),
            };
        }
        match self.style {
            RopeStyle::Halves => {
                let x1 = x.narrow(D::Minus1, 0, d / 2)?;
                let x2 = x.narrow(D::Minus1, d / 2, d / 2)?;
                let r1 = (x1.broadcast_mul(&cos)? - x2.broadcast_mul(&sin)?)?;
                let r2 = (x2.broadcast_mul(&cos)? + x1.broadcast_mul(&sin)?)?;
                Tensor::cat(&[r1, r2], D::Minus1)
            }
            RopeStyle::Interleaved => {
                let (b, h, _, _) = x.dims4()?;
                let pairs = x.reshape((b, h, seq, d / 2, 2))?;
                let x0 = pairs.narrow(D::Minus1, 0, 1)?.squeeze(D::Minus1)?;
                let x1 = pairs.narrow(D::Minus1, 1, 1)?.squeeze(D::Minus1)?;
                let r0 = (x0.broadcast_mul(&cos)? - x1.broadcast_mul(&sin)?)?;
                let r1 = (x0.broadcast_mul(&sin)? + x1.broadcast_mul(&cos)?)?;
                Tensor::stack(&[r0, r1], D::Minus1)?.reshape((b, h, seq, d))
            }
        }
    }
}
