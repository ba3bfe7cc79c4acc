//! The GRPO update on a tiny random model (f64): the step does not depend on how the
//! batch is split into micro-batches (for every aggregation), and repeated updates
//! make the rewarded completion likelier than the unrewarded one of its group while
//! a group of equal rewards teaches nothing.

use candle_core::{DType, Device};
use rerank_model::candle::{ops::OpsMode, Adapter, Decoder, LoraConfig, Scored};
use rerank_model::ModelInfo;
use rerank_rl::grpo::{Aggregation, PolicyLoss};
use rerank_rl::train::{AdamW, AdamWConfig, Completion, Decay, Schedule, UpdateConfig, Updater};

fn updater(micro_batch: usize, aggregation: Aggregation, lr: f64) -> Updater {
    let mut d = Decoder::random(&ModelInfo::tiny("qwen2"), 3, &Device::Cpu)
        .unwrap()
        .to_dtype(DType::F64)
        .unwrap();
    let adapter = Adapter::new(
        LoraConfig {
            rank: 4,
            alpha: 8.0,
            ..LoraConfig::default()
        },
        &d,
        9,
    )
    .unwrap();
    adapter.randomize_b(1, 0.01).unwrap();
    d.set_adapter(Some(adapter.clone())).unwrap();
    let opt = AdamW::new(
        adapter.vars(),
        AdamWConfig {
            weight_decay: 0.0,
            ..AdamWConfig::default()
        },
    )
    .unwrap();
    let schedule = Schedule {
        lr,
        warmup_steps: 0,
        total_steps: 100,
        decay: Decay::Constant,
    };
    let config = UpdateConfig {
        loss: PolicyLoss {
            beta: 0.04,
            aggregation,
            ..PolicyLoss::trl()
        },
        micro_batch,
        ..UpdateConfig::default()
    };
    Updater::new(d, opt, schedule, config).unwrap()
}

fn batch() -> Vec<Completion> {
    let c = |prompt: &[u32], tokens: &[u32], reward: f64, group: usize| Completion {
        prompt: prompt.to_vec(),
        tokens: tokens.to_vec(),
        reward,
        group,
    };
    vec![
        c(&[1, 2, 3, 4], &[10, 11, 12], 1.0, 0),
        c(&[1, 2, 3, 4], &[20, 21], 0.0, 0),
        c(&[1, 2, 3, 4], &[30, 31, 32, 33], 0.5, 0),
        c(&[7, 8], &[40, 41, 42], 0.2, 1),
        c(&[7, 8], &[50], 0.9, 1),
    ]
}

fn factors(u: &Updater) -> Vec<f64> {
    u.decoder()
        .adapter()
        .unwrap()
        .vars()
        .iter()
        .flat_map(|v| v.flatten_all().unwrap().to_vec1::<f64>().unwrap())
        .collect()
}

#[test]
fn micro_batches_do_not_change_the_step() {
    for aggregation in [
        Aggregation::SequenceMean,
        Aggregation::TokenMean,
        Aggregation::SequenceSumNorm {
            max_completion_length: 8,
        },
        Aggregation::TokenSum,
        Aggregation::SequenceMeanTokenSum,
    ] {
        let (mut whole, mut split) = (updater(5, aggregation, 1e-2), updater(2, aggregation, 1e-2));
        let (a, b) = (whole.step(&batch()).unwrap(), split.step(&batch()).unwrap());
        assert!(
            (a.loss - b.loss).abs() < 1e-12,
            "{aggregation:?}: {} vs {}",
            a.loss,
            b.loss
        );
        assert!(
            (a.grad_norm - b.grad_norm).abs() < 1e-9 * a.grad_norm,
            "{aggregation:?}"
        );
        for (x, y) in factors(&whole).iter().zip(factors(&split)) {
            assert!((x - y).abs() < 1e-12, "{aggregation:?}: {x} vs {y}");
        }
        assert!(a.grad_norm > 0.0 && a.kl >= 0.0 && a.tokens == 13);
    }
}

fn logp(u: &mut Updater, c: &Completion) -> f64 {
    let ids = [c.prompt.as_slice(), c.tokens.as_slice()].concat();
    let d = u.decoder();
    assert_eq!(d.ops, OpsMode::Fused);
    let lp = d
        .token_logprobs(&[Scored {
            ids: &ids,
            from: c.prompt.len(),
        }])
        .unwrap();
    lp[0].sum_all().unwrap().to_scalar::<f64>().unwrap()
}

#[test]
fn updates_make_the_rewarded_completion_likelier() {
    let mut u = updater(2, Aggregation::SequenceMean, 2e-2);
    let b = batch();
    let margin = |u: &mut Updater| logp(u, &b[0]) - logp(u, &b[1]);
    let before = margin(&mut u);
    let mut last = None;
    for _ in 0..10 {
        last = Some(u.step(&b).unwrap());
    }
    let after = margin(&mut u);
    assert!(after > before + 1.0, "margin {before} -> {after}");
    let s = last.unwrap();
    assert!(s.kl > 0.0, "the policy moved away from the reference");

    // Equal rewards in every group: all advantages are 0, the only gradient is the KL's.
    let mut u = updater(2, Aggregation::SequenceMean, 2e-2);
    let flat: Vec<Completion> = batch()
        .into_iter()
        .map(|c| Completion { reward: 0.5, ..c })
        .collect();
    let s = u.step(&flat).unwrap();
    assert_eq!(s.zero_advantage, 1.0);
}
