//! The training forward: log-probabilities of given tokens, as a tensor that
//! gradients flow back from (with [`OpsMode::Differentiable`] and dense weights).

use candle_core::{Tensor, D};

use super::model::Decoder;
use super::ops::OpsMode;
use crate::error::{candle_message, Error, Result};

/// One sequence to score: all its tokens, and where the scored part starts.
#[derive(Clone, Copy, Debug)]
pub struct Scored<'a> {
    /// Prompt and completion tokens.
    pub ids: &'a [u32],
    /// Index of the first scored token (the completion's start); at least 1.
    pub from: usize,
}

impl Decoder {
    /// For each sequence, `log p(ids[t] | ids[..t])` for `t` in `from..ids.len()`, a
    /// tensor of that many values. The sequences run packed in one pass, each from an
    /// empty cache; the vocabulary projection is applied only at the rows whose
    /// next-token distribution is scored.
    ///
    /// With [`OpsMode::Differentiable`] and [`Decoder::is_dense`], the result
    /// back-propagates to the adapter's factors; with the fused kernels it equals
    /// [`crate::Backend::logprobs`] of the same tokens (up to summation order).
    ///
    /// ```
    /// use candle_core::Device;
    /// use rerank_model::candle::{Decoder, Scored};
    /// use rerank_model::ModelInfo;
    ///
    /// let decoder = Decoder::random(&ModelInfo::tiny("llama"), 1, &Device::Cpu)?;
    /// let lp = decoder.token_logprobs(&[Scored { ids: &[5, 9, 2, 7], from: 2 }])?;
    /// let v: Vec<f32> = lp[0].to_vec1().unwrap();
    /// assert!(v.len() == 2 && v.iter().all(|x| *x < 0.0));
    /// # Ok::<(), rerank_model::Error>(())
    /// ```
    pub fn token_logprobs(&self, seqs: &[Scored<'_>]) -> Result<Vec<Tensor>> {
        for (i, s) in seqs.iter().enumerate() {
            if s.from == 0 || s.from > s.ids.len() {
                return Err(Error::Unsupported(format!(
                    "sequence {i}: scored part starts at {} of {} tokens (it must start after the first token)",
                    s.from,
                    s.ids.len()
                )));
            }
            if s.ids.len() > self.info().context_length {
                return Err(Error::Unsupported(format!(
                    "sequence {i}: {} tokens exceed the model's context of {}",
                    s.ids.len(),
                    self.info().context_length
                )));
            }
        }
        if self.ops == OpsMode::Differentiable && !self.is_dense() {
            return Err(Error::Unsupported(
                "a differentiable pass needs dense weights (load with Weights::Dense): quantized products have no backward pass".into(),
            ));
        }
        self.scored_inner(seqs)
            .map_err(|e| Error::Unsupported(format!("candle: {}", candle_message(&e))))
    }

    fn scored_inner(&self, seqs: &[Scored<'_>]) -> candle_core::Result<Vec<Tensor>> {
        let tokens: Vec<&[u32]> = seqs.iter().map(|s| s.ids).collect();
        let mut caches: Vec<_> = seqs.iter().map(|_| self.new_cache()).collect();
        let dense = vec![true; seqs.len()];
        let hidden = self.hidden_states(&tokens, &mut caches, &dense)?;
        // Rows predicting the scored tokens: positions from-1 .. len-1 of each sequence.
        let mut rows = Vec::new();
        let mut targets = Vec::new();
        let mut off = 0u32;
        for s in seqs {
            for t in s.from..s.ids.len() {
                rows.push(off + t as u32 - 1);
                targets.push(s.ids[t]);
            }
            off += s.ids.len() as u32;
        }
        let n = rows.len();
        let device = hidden.device();
        let picked = hidden.index_select(&Tensor::from_vec(rows, n, device)?, 0)?;
        let logits = self.lm_head(&picked)?;
        let max = logits.max_keepdim(D::Minus1)?.detach();
        let shifted = logits.broadcast_sub(&max)?;
        let lse = shifted.exp()?.sum_keepdim(D::Minus1)?.log()?;
        let targets = Tensor::from_vec(targets, (n, 1), device)?;
        let lp = shifted
            .gather(&targets, 1)?
            .broadcast_sub(&lse)?
            .squeeze(1)?;
        let mut out = Vec::with_capacity(seqs.len());
        let mut start = 0;
        for s in seqs {
            let m = s.ids.len() - s.from;
            out.push(lp.narrow(0, start, m)?);
            start += m;
        }
        Ok(out)
    }
}
