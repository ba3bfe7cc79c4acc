//! The training forward: log-probabilities of given tokens, as a tensor that
//! gradients flow back from (with [`OpsMode::Differentiable`] and dense weights).

use candle_core::{DType, Tensor, Var, D};

use super::model::{Decoder, Keys};
use super::ops::OpsMode;
use crate::error::{candle_error as ce, Error, Result};

/// One sequence to score: all its tokens, and where the scored part starts.
#[derive(Clone, Copy, Debug)]
pub struct Scored<'a> {
    /// Prompt and completion tokens.
    pub ids: &'a [u32],
    /// Index of the first scored token (the completion's start); at least 1.
    pub from: usize,
}

/// What [`Decoder::logprob_gradients`] computes.
#[derive(Clone, Debug)]
pub struct LogprobGradients {
    /// Per sequence, the scored tokens' log-probabilities.
    pub logprobs: Vec<Vec<f64>>,
    /// Per factor of the adapter, in [`super::Adapter::vars`]' order, its gradient
    /// (`None` where it got none).
    pub grads: Vec<Option<Tensor>>,
}

impl Decoder {
    /// For each sequence, `log p(ids[t] | ids[..t])` for `t` in `from..ids.len()`, a
    /// tensor of that many values. The sequences run packed in one pass, each from an
    /// empty cache; sequences whose unscored parts (`ids[..from]`) are the same (a
    /// GRPO group's prompt) share one computation of it, which their scored parts
    /// attend to; the vocabulary projection is applied only at the rows whose
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
        self.scored_inner(seqs).map_err(ce)
    }

    fn scored_inner(&self, seqs: &[Scored<'_>]) -> candle_core::Result<Vec<Tensor>> {
        let plan = Packing::of(seqs);
        let track = self.ops == OpsMode::Differentiable;
        let mut x = self.embed_tokens(&plan.segments)?;
        for li in 0..self.block_count() {
            x = self.block(
                li,
                &x,
                &plan.lens,
                &plan.dense,
                Keys::Packed(&plan.parents),
                track,
            )?;
        }
        self.head_logprobs(&self.final_norm(&x)?, &plan)
    }

    /// From final-norm hidden states of the packed segments to the scored tokens'
    /// log-probabilities (the vocabulary projection at the scored rows only).
    fn head_logprobs(&self, hidden: &Tensor, plan: &Packing) -> candle_core::Result<Vec<Tensor>> {
        let n = plan.rows.len();
        let device = hidden.device();
        let picked = hidden.index_select(&Tensor::from_vec(plan.rows.clone(), n, device)?, 0)?;
        let logits = self.lm_head(&picked)?;
        let max = logits.max_keepdim(D::Minus1)?.detach();
        let shifted = logits.broadcast_sub(&max)?;
        let lse = shifted.exp()?.sum_keepdim(D::Minus1)?.log()?;
        let targets = Tensor::from_vec(plan.targets.clone(), (n, 1), device)?;
        let lp = shifted
            .gather(&targets, 1)?
            .broadcast_sub(&lse)?
            .squeeze(1)?;
        let mut out = Vec::with_capacity(plan.scored.len());
        let mut start = 0;
        for &m in &plan.scored {
            out.push(lp.narrow(0, start, m)?);
            start += m;
        }
        Ok(out)
    }

    /// The training step's forward and backward with gradient checkpointing: the
    /// scored tokens' log-probabilities (as [`Decoder::token_logprobs`] gives them),
    /// and the gradient of `Σ_t g_t · logp_t` with respect to every factor of the
    /// adapter, where `g = weights(logp)` is computed from the log-probabilities (a
    /// loss's gradient per token).
    ///
    /// Only each block's input is kept from the forward pass; the backward pass
    /// recomputes one block at a time with a graph and back-propagates through it, so
    /// memory holds one block's activations instead of all of them, for one more
    /// forward pass of time. The gradients are those of the plain backward pass
    /// (`tests/lora.rs` compares them).
    ///
    /// Needs dense weights, [`OpsMode::Differentiable`] and an
    /// enabled adapter.
    pub fn logprob_gradients(
        &self,
        seqs: &[Scored<'_>],
        weights: impl FnOnce(&[Vec<f64>]) -> Result<Vec<Vec<f64>>>,
    ) -> Result<LogprobGradients> {
        let Some(adapter) = self.adapter().filter(|_| self.adapter_enabled()) else {
            return Err(Error::Unsupported(
                "gradients need an adapter, switched on".into(),
            ));
        };
        if !self.is_dense() || self.ops != OpsMode::Differentiable {
            return Err(Error::Unsupported(
                "gradients need dense weights (load with Weights::Dense: quantized products have no backward pass) and OpsMode::Differentiable".into(),
            ));
        }
        let plan = Packing::of(seqs);
        let (lens, dense) = (&plan.lens, &plan.dense);
        let keys = || Keys::Packed(&plan.parents);
        // Forward without a graph, keeping each block's input.
        let mut inputs = vec![self.embed_tokens(&plan.segments).map_err(ce)?];
        for li in 0..self.block_count() {
            let x = inputs.last().expect("the embeddings");
            let y = self.block(li, x, lens, dense, keys(), false).map_err(ce)?;
            inputs.push(y);
        }
        // The head: log-probabilities, the caller's weights, and the gradient that
        // reaches the last block's output.
        let top = Var::from_tensor(inputs.last().expect("blocks")).map_err(ce)?;
        let hidden = self.final_norm(top.as_tensor()).map_err(ce)?;
        let lps = self.head_logprobs(&hidden, &plan).map_err(ce)?;
        let values: Vec<Vec<f64>> = lps
            .iter()
            .map(|t| t.to_dtype(DType::F64).and_then(|t| t.to_vec1()))
            .collect::<candle_core::Result<_>>()
            .map_err(ce)?;
        let g = weights(&values)?;
        if g.len() != values.len() || g.iter().zip(&values).any(|(a, b)| a.len() != b.len()) {
            return Err(Error::Unsupported(
                "one weight per scored token is needed".into(),
            ));
        }
        let mut surrogate = Tensor::zeros((), self.dtype(), self.device()).map_err(ce)?;
        for (lp, w) in lps.iter().zip(&g) {
            let w = Tensor::from_vec(w.clone(), w.len(), self.device())
                .and_then(|t| t.to_dtype(self.dtype()))
                .map_err(ce)?;
            surrogate =
                (surrogate + (lp * w).and_then(|t| t.sum_all()).map_err(ce)?).map_err(ce)?;
        }
        let store = surrogate.backward().map_err(ce)?;
        let mut upstream = store.get(top.as_tensor()).cloned();
        // Back through the blocks, one at a time.
        let vars = adapter.vars();
        let index: std::collections::HashMap<_, _> =
            vars.iter().enumerate().map(|(i, v)| (v.id(), i)).collect();
        let mut grads: Vec<Option<Tensor>> = vec![None; vars.len()];
        for li in (0..self.block_count()).rev() {
            let Some(up) = upstream.take() else { break };
            let input = Var::from_tensor(&inputs[li]).map_err(ce)?;
            let y = self
                .block(li, input.as_tensor(), lens, dense, keys(), true)
                .map_err(ce)?;
            let store = (y * up)
                .and_then(|t| t.sum_all())
                .and_then(|t| t.backward())
                .map_err(ce)?;
            for t in super::Target::ALL {
                if let Some(p) = adapter.pair(li, t) {
                    for v in [&p.a, &p.b] {
                        if let Some(g) = store.get(v.as_tensor()) {
                            grads[index[&v.id()]] = Some(g.clone());
                        }
                    }
                }
            }
            if li > 0 {
                upstream = store.get(input.as_tensor()).cloned();
            }
        }
        Ok(LogprobGradients {
            logprobs: values,
            grads,
        })
    }
}

/// How scored sequences run packed: each distinct unscored prefix once (a segment of
/// its own), then each sequence's scored tokens but the last (a segment continuing its
/// prefix's); the rows whose next-token distributions are scored, and their targets.
struct Packing<'a> {
    /// Tokens of each segment, in row order.
    segments: Vec<&'a [u32]>,
    lens: Vec<usize>,
    dense: Vec<bool>,
    /// Per segment, the prefix segment it continues.
    parents: Vec<Option<usize>>,
    /// Packed rows predicting the scored tokens, sequence by sequence.
    rows: Vec<u32>,
    targets: Vec<u32>,
    /// Scored tokens per sequence.
    scored: Vec<usize>,
}

impl<'a> Packing<'a> {
    fn of(seqs: &[Scored<'a>]) -> Packing<'a> {
        let mut p = Packing {
            segments: Vec::new(),
            lens: Vec::new(),
            dense: Vec::new(),
            parents: Vec::new(),
            rows: Vec::new(),
            targets: Vec::new(),
            scored: Vec::new(),
        };
        // Prefix tokens -> (its segment, its first row).
        let mut prefixes: std::collections::HashMap<&[u32], (usize, u32)> = Default::default();
        let mut total = 0u32;
        let mut push = |p: &mut Packing<'a>, tokens: &'a [u32], parent: Option<usize>| {
            let at = (p.segments.len(), total);
            p.segments.push(tokens);
            p.lens.push(tokens.len());
            p.dense.push(true);
            p.parents.push(parent);
            total += tokens.len() as u32;
            at
        };
        for s in seqs {
            let prefix = &s.ids[..s.from];
            let (seg, prefix_row) = match prefixes.get(prefix) {
                Some(&at) => at,
                None => {
                    let at = push(&mut p, prefix, None);
                    prefixes.insert(prefix, at);
                    at
                }
            };
            // Token `from` is predicted by the prefix's last row, each later one by
            // the row of the token before it in the continuation.
            let rest = &s.ids[s.from..s.ids.len().saturating_sub(1).max(s.from)];
            let rest_row = if rest.is_empty() {
                0
            } else {
                push(&mut p, rest, Some(seg)).1
            };
            for t in s.from..s.ids.len() {
                p.rows.push(if t == s.from {
                    prefix_row + s.from as u32 - 1
                } else {
                    rest_row + (t - 1 - s.from) as u32
                });
                p.targets.push(s.ids[t]);
            }
            p.scored.push(s.ids.len() - s.from);
        }
        p
    }
}
