//! The adapter gradients of the GRPO loss equal finite differences.
//!
//! A trainer computes token log-probabilities with the differentiable decoder, hands
//! them to [`policy_loss`] (plain f64 arithmetic, checked against TRL and verl in
//! `grpo_reference.rs`), and back-propagates `Σ_it ∂loss/∂logp_it · logp_it`. Here, on
//! a tiny random model in f64 with an adapter on all seven projections, that gradient
//! is compared with central differences of the loss itself, for entries of every
//! factor of every block, with a reference policy (the adapter switched off, β > 0),
//! an old policy off the current one (ratios ≠ 1), and two groups of two completions.
//! Tolerance: 1e-6 relative (f64; the step is 1e-5).

use candle_core::{DType, Device, Tensor, Var};
use rerank_model::candle::{ops::OpsMode, Adapter, Decoder, LoraConfig, Scored, Target};
use rerank_model::ModelInfo;
use rerank_rl::grpo::{advantages, policy_loss, AdvantageConfig, PolicyLoss, SequenceLogProbs};

const SEQS: [(&[u32], usize); 4] = [
    (&[3, 17, 250, 9, 41, 8, 77], 3),
    (&[3, 17, 250, 101, 7, 7, 280, 2], 3),
    (&[5, 5, 199, 12, 60], 2),
    (&[5, 5, 34, 90], 2),
];
const REWARDS: [f64; 4] = [1.0, 0.1, 0.3, 0.8];

fn logprobs(d: &Decoder) -> Vec<Tensor> {
    let seqs: Vec<Scored> = SEQS
        .iter()
        .map(|&(ids, from)| Scored { ids, from })
        .collect();
    d.token_logprobs(&seqs).unwrap()
}

fn values(t: &Tensor) -> Vec<f64> {
    t.to_vec1().unwrap()
}

struct Setup {
    decoder: Decoder,
    adapter: Adapter,
    old: Vec<Vec<f64>>,
    reference: Vec<Vec<f64>>,
    advantages: Vec<f64>,
    cfg: PolicyLoss,
}

impl Setup {
    fn new() -> Setup {
        let mut decoder = Decoder::random(&ModelInfo::tiny("qwen2"), 21, &Device::Cpu)
            .unwrap()
            .to_dtype(DType::F64)
            .unwrap();
        decoder.ops = OpsMode::Differentiable;
        let reference: Vec<Vec<f64>> = logprobs(&decoder).iter().map(values).collect();
        let adapter = Adapter::new(
            LoraConfig {
                rank: 2,
                alpha: 4.0,
                ..LoraConfig::default()
            },
            &decoder,
            2,
        )
        .unwrap();
        // Non-zero B (a fresh adapter's B is zero, where ∂/∂A vanishes).
        for (k, v) in adapter.vars().iter().enumerate() {
            let n = v.elem_count();
            let vals: Vec<f64> = (0..n)
                .map(|i| (((i * 7 + k * 13) % 17) as f64 - 8.0) * 0.01)
                .collect();
            v.set(&Tensor::from_vec(vals, v.dims(), &Device::Cpu).unwrap())
                .unwrap();
        }
        decoder.set_adapter(Some(adapter.clone())).unwrap();
        // The policy that sampled: a little off the current one, so ratios are not 1
        // (but inside the clip range, where the loss is smooth).
        let old = logprobs(&decoder)
            .iter()
            .enumerate()
            .map(|(i, t)| {
                values(t)
                    .iter()
                    .enumerate()
                    .map(|(j, x)| x + 0.05 * (((i + j) % 5) as f64 - 2.0) / 2.0)
                    .collect()
            })
            .collect();
        let advantages = advantages(&REWARDS, &[0, 0, 1, 1], &AdvantageConfig::trl());
        let cfg = PolicyLoss {
            beta: 0.04,
            ..PolicyLoss::trl()
        };
        Setup {
            decoder,
            adapter,
            old,
            reference,
            advantages,
            cfg,
        }
    }

    fn sequences(&self, lps: &[Tensor]) -> Vec<SequenceLogProbs> {
        lps.iter()
            .enumerate()
            .map(|(i, t)| SequenceLogProbs {
                logp: values(t),
                old: self.old[i].clone(),
                reference: Some(self.reference[i].clone()),
                advantage: self.advantages[i],
            })
            .collect()
    }

    fn loss(&self) -> f64 {
        policy_loss(&self.sequences(&logprobs(&self.decoder)), &self.cfg)
            .unwrap()
            .loss
    }
}

fn finite_difference(s: &Setup, var: &Var, k: usize) -> f64 {
    let eps = 1e-5;
    let orig: Vec<f64> = var.flatten_all().unwrap().to_vec1().unwrap();
    let at = |delta: f64| {
        let mut v = orig.clone();
        v[k] += delta;
        var.set(&Tensor::from_vec(v, var.dims(), &Device::Cpu).unwrap())
            .unwrap();
        s.loss()
    };
    let (plus, minus) = (at(eps), at(-eps));
    var.set(&Tensor::from_vec(orig, var.dims(), &Device::Cpu).unwrap())
        .unwrap();
    (plus - minus) / (2.0 * eps)
}

#[test]
fn grpo_loss_gradients_equal_finite_differences_for_every_target() {
    let s = Setup::new();
    let lps = logprobs(&s.decoder);
    let out = policy_loss(&s.sequences(&lps), &s.cfg).unwrap();
    assert!(
        out.clip_region == 0.0 && out.kl_mean > 0.0,
        "smooth region, KL active"
    );
    // The surrogate whose gradient is the loss's: Σ ∂loss/∂logp · logp.
    let mut surrogate = Tensor::zeros((), DType::F64, &Device::Cpu).unwrap();
    for (lp, g) in lps.iter().zip(&out.grad) {
        let g = Tensor::from_vec(g.clone(), g.len(), &Device::Cpu).unwrap();
        surrogate = (surrogate + (lp * g).unwrap().sum_all().unwrap()).unwrap();
    }
    let grads = surrogate.backward().unwrap();
    let mut checked = 0;
    for layer in 0..s.adapter.layers() {
        for target in Target::ALL {
            let p = s.adapter.pair(layer, target).unwrap();
            for (name, var) in [("A", &p.a), ("B", &p.b)] {
                let g: Vec<f64> = grads
                    .get(var.as_tensor())
                    .unwrap_or_else(|| panic!("layer {layer} {target} {name}: no gradient"))
                    .flatten_all()
                    .unwrap()
                    .to_vec1()
                    .unwrap();
                let n = g.len();
                for k in [1, n / 3, n - 2] {
                    let numeric = finite_difference(&s, var, k);
                    let err = (numeric - g[k]).abs() / g[k].abs().max(1e-4);
                    assert!(
                        err < 1e-6,
                        "layer {layer} {target} {name}[{k}]: backward {} vs finite difference {numeric} ({err:.1e})",
                        g[k]
                    );
                    checked += 1;
                }
            }
        }
    }
    assert_eq!(checked, 2 * 7 * 2 * 3);
}
