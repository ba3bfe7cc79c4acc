//! The optimizer: AdamW with a warm-up and a schedule, and global-norm gradient
//! clipping, each as PyTorch and transformers define it (`torch.optim.AdamW`,
//! `torch.nn.utils.clip_grad_norm_`, `get_linear_schedule_with_warmup`,
//! `get_cosine_schedule_with_warmup`), so a run here and a TRL run with the same
//! settings take the same steps (`tests/optim_reference.rs` checks it against
//! PyTorch). The state is plain tensors, saved and restored with a checkpoint.

use candle_core::{backprop::GradStore, DType, Tensor, Var};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// How the learning rate changes over the run, after the warm-up.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Decay {
    /// Constant.
    Constant,
    /// Linear to 0 at the last step (transformers' and TRL's default).
    #[default]
    Linear,
    /// Half a cosine to 0 at the last step.
    Cosine,
}

/// The learning rate at each optimizer step.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Schedule {
    /// The peak learning rate.
    pub lr: f64,
    /// Steps of linear warm-up from 0.
    pub warmup_steps: u64,
    /// Optimizer steps in the run.
    pub total_steps: u64,
    /// After the warm-up.
    pub decay: Decay,
}

impl Schedule {
    /// The learning rate of optimizer step `step` (from 0), as transformers'
    /// `LambdaLR` schedules give it.
    ///
    /// ```
    /// use rerank_rl::train::{Decay, Schedule};
    /// let s = Schedule { lr: 1e-4, warmup_steps: 2, total_steps: 10, decay: Decay::Linear };
    /// assert_eq!(s.at(0), 0.0);
    /// assert_eq!(s.at(1), 5e-5);
    /// assert_eq!(s.at(2), 1e-4);
    /// assert_eq!(s.at(6), 5e-5);
    /// ```
    pub fn at(&self, step: u64) -> f64 {
        let (t, w, n) = (
            step as f64,
            self.warmup_steps as f64,
            self.total_steps as f64,
        );
        if step < self.warmup_steps {
            return self.lr * t / w.max(1.0);
        }
        let progress = (t - w) / (n - w).max(1.0);
        self.lr
            * match self.decay {
                Decay::Constant => 1.0,
                Decay::Linear => ((n - t) / (n - w).max(1.0)).max(0.0),
                Decay::Cosine => (0.5 * (1.0 + (std::f64::consts::PI * progress).cos())).max(0.0),
            }
    }
}

/// AdamW's settings (PyTorch's defaults but the learning rate, which the
/// [`Schedule`] gives).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AdamWConfig {
    /// β₁ (0.9).
    pub beta1: f64,
    /// β₂ (0.999).
    pub beta2: f64,
    /// ε (1e-8).
    pub eps: f64,
    /// Decoupled weight decay (0.01; TRL's GRPO uses 0).
    pub weight_decay: f64,
}

impl Default for AdamWConfig {
    fn default() -> Self {
        AdamWConfig {
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: 0.01,
        }
    }
}

/// AdamW over a fixed list of variables.
///
/// ```text
/// θ ← θ·(1 − lr·λ);  m ← β₁m + (1−β₁)g;  v ← β₂v + (1−β₂)g²
/// θ ← θ − lr/(1−β₁ᵗ) · m / (√v / √(1−β₂ᵗ) + ε)
/// ```
#[derive(Debug)]
pub struct AdamW {
    config: AdamWConfig,
    vars: Vec<Var>,
    m: Vec<Tensor>,
    v: Vec<Tensor>,
    steps: u64,
}

impl AdamW {
    /// A fresh optimizer (zero moments) for `vars`.
    pub fn new(vars: Vec<Var>, config: AdamWConfig) -> Result<AdamW> {
        let zeros = |v: &Var| v.as_tensor().zeros_like();
        let m = vars.iter().map(zeros).collect::<candle_core::Result<_>>()?;
        let v = vars.iter().map(zeros).collect::<candle_core::Result<_>>()?;
        Ok(AdamW {
            config,
            vars,
            m,
            v,
            steps: 0,
        })
    }

    /// Steps taken.
    pub fn steps(&self) -> u64 {
        self.steps
    }

    /// The variables, in the order of [`Grads`].
    pub fn vars(&self) -> &[Var] {
        &self.vars
    }

    /// One update with learning rate `lr` from `grads` (a variable without a gradient
    /// is left as it is, its moments too, as PyTorch skips parameters whose `grad` is
    /// `None`).
    pub fn step(&mut self, grads: &Grads, lr: f64) -> Result<()> {
        if grads.0.len() != self.vars.len() {
            return Err(Error::Inputs(format!(
                "{} gradients for {} variables",
                grads.0.len(),
                self.vars.len()
            )));
        }
        self.steps += 1;
        let c = self.config;
        let t = self.steps as i32;
        let bc1 = 1.0 - c.beta1.powi(t);
        let bc2_sqrt = (1.0 - c.beta2.powi(t)).sqrt();
        for i in 0..self.vars.len() {
            let var = &self.vars[i];
            let Some(g) = &grads.0[i] else {
                continue;
            };
            let m = ((&self.m[i] * c.beta1)? + (g * (1.0 - c.beta1))?)?;
            let v = ((&self.v[i] * c.beta2)? + (g.sqr()? * (1.0 - c.beta2))?)?;
            let decayed = (var.as_tensor() * (1.0 - lr * c.weight_decay))?;
            let denom = ((v.sqrt()? / bc2_sqrt)? + c.eps)?;
            let update = ((&m / &denom)? * (lr / bc1))?;
            var.set(&(decayed - update)?)?;
            self.m[i] = m;
            self.v[i] = v;
        }
        Ok(())
    }

    /// The moments and step count, for a checkpoint: `m.{i}`, `v.{i}` per variable.
    pub fn state(&self) -> (u64, Vec<(String, Tensor)>) {
        let mut out = Vec::with_capacity(2 * self.vars.len());
        for (i, (m, v)) in self.m.iter().zip(&self.v).enumerate() {
            out.push((format!("m.{i}"), m.clone()));
            out.push((format!("v.{i}"), v.clone()));
        }
        (self.steps, out)
    }

    /// Restores what [`AdamW::state`] gave (shapes must match).
    pub fn restore(
        &mut self,
        steps: u64,
        state: &std::collections::HashMap<String, Tensor>,
    ) -> Result<()> {
        for i in 0..self.vars.len() {
            let dims = self.vars[i].dims().to_vec();
            let dtype = self.vars[i].dtype();
            for (name, slot) in [("m", &mut self.m[i]), ("v", &mut self.v[i])] {
                let key = format!("{name}.{i}");
                let t = state
                    .get(&key)
                    .ok_or_else(|| Error::Inputs(format!("the optimizer state has no {key}")))?;
                if t.dims() != dims.as_slice() {
                    return Err(Error::Inputs(format!(
                        "the optimizer state's {key} is {:?}, the adapter's tensor {:?}",
                        t.dims(),
                        dims
                    )));
                }
                *slot = t.to_dtype(dtype)?;
            }
        }
        self.steps = steps;
        Ok(())
    }
}

/// Gradients of an optimizer's variables, in its order, summed over the backward
/// passes of an accumulation (micro-batches of one optimizer step).
#[derive(Clone, Debug, Default)]
pub struct Grads(pub Vec<Option<Tensor>>);

impl Grads {
    /// No gradient yet for each of `n` variables.
    pub fn empty(n: usize) -> Grads {
        Grads(vec![None; n])
    }

    /// Adds the gradients of `vars` found in `store` (one backward pass).
    pub fn accumulate(&mut self, store: &GradStore, vars: &[Var]) -> Result<()> {
        for (slot, v) in self.0.iter_mut().zip(vars) {
            if let Some(g) = store.get(v.as_tensor()) {
                *slot = Some(match slot.take() {
                    Some(old) => (old + g)?,
                    None => g.clone(),
                });
            }
        }
        Ok(())
    }

    /// Adds gradients given in this order (`None`: none for that variable).
    pub fn add(&mut self, other: Vec<Option<Tensor>>) -> Result<()> {
        if other.len() != self.0.len() {
            return Err(Error::Inputs(format!(
                "{} gradients for {} variables",
                other.len(),
                self.0.len()
            )));
        }
        for (slot, g) in self.0.iter_mut().zip(other) {
            if let Some(g) = g {
                *slot = Some(match slot.take() {
                    Some(old) => (old + g)?,
                    None => g,
                });
            }
        }
        Ok(())
    }

    /// Multiplies every gradient by `factor`.
    pub fn scale(&mut self, factor: f64) -> Result<()> {
        for g in self.0.iter_mut().flatten() {
            *g = (&*g * factor)?;
        }
        Ok(())
    }

    /// The global L2 norm.
    pub fn norm(&self) -> Result<f64> {
        let mut total = 0f64;
        for g in self.0.iter().flatten() {
            total += g
                .to_dtype(DType::F64)?
                .sqr()?
                .sum_all()?
                .to_scalar::<f64>()?;
        }
        Ok(total.sqrt())
    }

    /// Scales the gradients so that their global L2 norm is at most `max_norm`, as
    /// `torch.nn.utils.clip_grad_norm_` does (factor `max_norm / (norm + 1e-6)`,
    /// applied when below 1). Returns the norm before clipping.
    pub fn clip(&mut self, max_norm: f64) -> Result<f64> {
        let norm = self.norm()?;
        let coef = max_norm / (norm + 1e-6);
        if coef < 1.0 {
            self.scale(coef)?;
        }
        Ok(norm)
    }
}
