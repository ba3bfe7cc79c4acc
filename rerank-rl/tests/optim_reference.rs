//! AdamW, the warm-up schedules and global-norm clipping against PyTorch and
//! transformers (`data/optim_reference.json`, from `reference/optim_reference.py`):
//! eight steps of two parameters in f64, with weight decay, clipped and unclipped
//! gradients, linear and cosine decay. Norms, learning rates and parameters agree to
//! 1e-12.

use candle_core::{Device, Tensor, Var};
use rerank_rl::train::{AdamW, AdamWConfig, Decay, Grads, Schedule};
use serde_json::Value;

fn tensor(v: &Value) -> Tensor {
    let rows: Vec<Vec<f64>> = match v.as_array().unwrap()[0] {
        Value::Array(_) => serde_json::from_value(v.clone()).unwrap(),
        _ => vec![serde_json::from_value(v.clone()).unwrap()],
    };
    let (r, c) = (rows.len(), rows[0].len());
    let flat: Vec<f64> = rows.into_iter().flatten().collect();
    let t = Tensor::from_vec(flat, (r, c), &Device::Cpu).unwrap();
    if v.as_array().unwrap()[0].is_array() {
        t
    } else {
        t.flatten_all().unwrap()
    }
}

fn values(t: &Tensor) -> Vec<f64> {
    t.flatten_all().unwrap().to_vec1().unwrap()
}

#[test]
fn adamw_schedules_and_clipping_take_pytorchs_steps() {
    let fixture: Value = serde_json::from_str(include_str!("data/optim_reference.json")).unwrap();
    for (name, decay) in [("linear", Decay::Linear), ("cosine", Decay::Cosine)] {
        let a = Var::from_tensor(&tensor(&serde_json::json!([
            [0.5, -0.25],
            [1.0, 0.0],
            [-0.75, 0.125]
        ])))
        .unwrap();
        let b = Var::from_tensor(&tensor(&serde_json::json!([0.1, 0.2, -0.3, 0.4]))).unwrap();
        let config = AdamWConfig {
            beta1: 0.9,
            beta2: 0.99,
            eps: 1e-8,
            weight_decay: 0.1,
        };
        let mut opt = AdamW::new(vec![a.clone(), b.clone()], config).unwrap();
        let schedule = Schedule {
            lr: 0.05,
            warmup_steps: 3,
            total_steps: 8,
            decay,
        };
        for (k, step) in fixture[name].as_array().unwrap().iter().enumerate() {
            let mut grads = Grads(vec![
                Some(tensor(&step["grad_a"])),
                Some(tensor(&step["grad_b"])),
            ]);
            let norm = grads.clip(1.0).unwrap();
            let lr = schedule.at(opt.steps());
            assert!(
                (norm - step["norm"].as_f64().unwrap()).abs() < 1e-12,
                "{name} step {k}: norm"
            );
            assert!(
                (lr - step["lr"].as_f64().unwrap()).abs() < 1e-15,
                "{name} step {k}: lr {lr}"
            );
            opt.step(&grads, lr).unwrap();
            for (var, key) in [(&a, "a"), (&b, "b")] {
                let want = values(&tensor(&step[key]));
                let got = values(var.as_tensor());
                for (g, w) in got.iter().zip(&want) {
                    assert!(
                        (g - w).abs() < 1e-12,
                        "{name} step {k} {key}: {got:?} vs {want:?}"
                    );
                }
            }
        }
    }
}
