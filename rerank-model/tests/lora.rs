//! LoRA on the candle decoder.
//!
//! - Gradients: on a tiny random model in f64, the gradient of a weighted sum of token
//!   log-probabilities with respect to every factor of every adapted projection
//!   (q, k, v, o, gate, up, down; llama, qwen2 and qwen3 shapes) equals central finite
//!   differences to 1e-6 relative. This is the proof that the training forward has a
//!   backward pass everywhere: candle's fused softmax, RMSNorm and rope kernels have
//!   none, and a gradient stopped by one of them would show up here as a zero.
//! - The training forward is the inference forward: on SmolLM2 with dense weights,
//!   the differentiable token log-probabilities equal the backend's `logprobs` of the
//!   same text (to 1e-4 relative: f32 sums from fused and composed kernels), with
//!   and without an adapter; and the adapter on the quantized fast
//!   path moves the log-probabilities as it does on the dense weights.
//! - PEFT files: save and load give back the same factors and the same outputs (also
//!   on llama GGUF models, whose q/k rows are stored permuted); bad folders are
//!   refused with the file named.

use candle_core::{DType, Device, Tensor, Var};
use rerank_model::candle::{
    ops::OpsMode, Adapter, CandleBackend, Decoder, LoraConfig, Scored, Target, Weights,
};
use rerank_model::{registry, Backend, LogprobRequest, ModelInfo, Prompt};

fn tiny(arch: &str, dtype: DType) -> Decoder {
    let mut d = Decoder::random(&ModelInfo::tiny(arch), 11, &Device::Cpu)
        .unwrap()
        .to_dtype(dtype)
        .unwrap();
    d.ops = OpsMode::Differentiable;
    d
}

/// Gives every `B` random values (a fresh adapter's `B` is zero, where `∂/∂A` is 0
/// and a missing gradient path could hide).
fn randomize(adapter: &Adapter, seed: u64) {
    let mut state = seed;
    for v in adapter.vars() {
        let n = v.elem_count();
        let vals: Vec<f64> = (0..n)
            .map(|_| {
                state = state
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                ((state >> 11) as f64 / (1u64 << 53) as f64 - 0.5) * 0.2
            })
            .collect();
        let t = Tensor::from_vec(vals, v.dims(), &Device::Cpu)
            .unwrap()
            .to_dtype(v.dtype())
            .unwrap();
        v.set(&t).unwrap();
    }
}

const SEQS: [&[u32]; 2] = [&[3, 17, 250, 9, 41, 8, 77, 120], &[5, 5, 199, 12, 60]];
const FROM: [usize; 2] = [3, 2];

/// `Σ_t w_t · logp_t` over both sequences, with fixed weights `w_t`.
fn objective(d: &Decoder) -> Tensor {
    let seqs: Vec<Scored> = SEQS
        .iter()
        .zip(FROM)
        .map(|(ids, from)| Scored { ids, from })
        .collect();
    let lps = d.token_logprobs(&seqs).unwrap();
    let mut total = Tensor::zeros((), d.dtype(), &Device::Cpu).unwrap();
    for (i, lp) in lps.iter().enumerate() {
        let n = lp.dim(0).unwrap();
        let w: Vec<f64> = (0..n).map(|t| 0.5 + 0.25 * ((i + t) % 3) as f64).collect();
        let w = Tensor::from_vec(w, n, &Device::Cpu)
            .unwrap()
            .to_dtype(d.dtype())
            .unwrap();
        total = (total + (lp * w).unwrap().sum_all().unwrap()).unwrap();
    }
    total
}

fn scalar(t: &Tensor) -> f64 {
    t.to_dtype(DType::F64).unwrap().to_scalar::<f64>().unwrap()
}

fn check_gradients(arch: &str) {
    let mut d = tiny(arch, DType::F64);
    let config = LoraConfig {
        rank: 2,
        alpha: 4.0,
        ..LoraConfig::default()
    };
    let adapter = Adapter::new(config, &d, 3).unwrap();
    randomize(&adapter, 5);
    d.set_adapter(Some(adapter.clone())).unwrap();
    let grads = objective(&d).backward().unwrap();
    let eps = 1e-5;
    let mut checked = 0;
    for layer in 0..adapter.layers() {
        for target in Target::ALL {
            let p = adapter.pair(layer, target).unwrap();
            for (name, var) in [("A", &p.a), ("B", &p.b)] {
                let g = grads
                    .get(var.as_tensor())
                    .unwrap_or_else(|| panic!("{arch} layer {layer} {target} {name}: no gradient"));
                let g: Vec<f64> = g.flatten_all().unwrap().to_vec1().unwrap();
                assert!(
                    g.iter().any(|x| x.abs() > 1e-9),
                    "{arch} layer {layer} {target} {name}: gradient is zero"
                );
                // Three entries spread over the tensor.
                let n = var.elem_count();
                for &k in &[0, n / 2, n - 1] {
                    let numeric = finite_difference(&d, var, k, eps);
                    let err = (numeric - g[k]).abs() / g[k].abs().max(1e-3);
                    assert!(
                        err < 1e-6,
                        "{arch} layer {layer} {target} {name}[{k}]: backward {} vs finite difference {numeric} (relative {err:.2e})",
                        g[k]
                    );
                    checked += 1;
                }
            }
        }
    }
    assert_eq!(checked, 2 * 7 * 2 * 3);
}

fn finite_difference(d: &Decoder, var: &Var, k: usize, eps: f64) -> f64 {
    let orig: Vec<f64> = var.flatten_all().unwrap().to_vec1().unwrap();
    let at = |delta: f64| {
        let mut v = orig.clone();
        v[k] += delta;
        var.set(&Tensor::from_vec(v, var.dims(), &Device::Cpu).unwrap())
            .unwrap();
        scalar(&objective(d))
    };
    let (plus, minus) = (at(eps), at(-eps));
    var.set(&Tensor::from_vec(orig, var.dims(), &Device::Cpu).unwrap())
        .unwrap();
    (plus - minus) / (2.0 * eps)
}

#[test]
fn adapter_gradients_equal_finite_differences_llama() {
    check_gradients("llama");
}

#[test]
fn adapter_gradients_equal_finite_differences_qwen2() {
    check_gradients("qwen2");
}

#[test]
fn adapter_gradients_equal_finite_differences_qwen3() {
    check_gradients("qwen3");
}

#[test]
fn a_fresh_adapter_changes_nothing_and_switching_it_off_restores_the_base() {
    let mut d = tiny("qwen2", DType::F32);
    let base = scalar(&objective(&d));
    let adapter = Adapter::new(LoraConfig::default(), &d, 1).unwrap();
    d.set_adapter(Some(adapter.clone())).unwrap();
    assert_eq!(scalar(&objective(&d)), base, "B = 0: the update is zero");
    randomize(&adapter, 2);
    let adapted = scalar(&objective(&d));
    assert!((adapted - base).abs() > 1e-3);
    d.set_adapter_enabled(false);
    assert_eq!(scalar(&objective(&d)), base);
    d.set_adapter_enabled(true);
    assert_eq!(scalar(&objective(&d)), adapted);
}

#[test]
fn differentiable_and_fused_passes_agree_and_dropout_is_seeded() {
    let mut d = tiny("llama", DType::F32);
    let adapter = Adapter::new(
        LoraConfig {
            dropout: 0.5,
            ..LoraConfig::default()
        },
        &d,
        1,
    )
    .unwrap();
    randomize(&adapter, 9);
    d.set_adapter(Some(adapter)).unwrap();
    let train = scalar(&objective(&d));
    d.ops = OpsMode::Fused;
    let fused = scalar(&objective(&d));
    assert!((train - fused).abs() < 1e-4, "{train} vs {fused}");
    // Dropout applies to differentiable passes only, and a seed fixes its mask.
    d.set_dropout_seed(Some(42));
    assert_eq!(scalar(&objective(&d)), fused, "no dropout at inference");
    d.ops = OpsMode::Differentiable;
    let a = scalar(&objective(&d));
    let b = scalar(&objective(&d));
    d.set_dropout_seed(Some(43));
    let c = scalar(&objective(&d));
    assert_eq!(a, b);
    assert!((a - train).abs() > 1e-4 && (a - c).abs() > 1e-4);
}

fn smollm() -> Option<std::path::PathBuf> {
    let found = registry::find("smollm2-135m").unwrap().installed();
    if found.is_none() {
        eprintln!("skipped: run `rerank fetch-model smollm2-135m`");
    }
    found
}

const PROMPT: &str = "<|im_start|>user\nWhich passage is about bees? [1] Bees dance. [2] Rain falls.<|im_end|>\n<|im_start|>assistant\n";
const ANSWER: &str = "<think>[1] mentions bees.</think> <answer>[1] > [2]</answer>";

fn backend_logprob(b: &mut CandleBackend) -> f32 {
    b.logprobs(&[LogprobRequest {
        prompt: Prompt::Text(PROMPT.into()),
        continuations: vec![ANSWER.into()],
    }])
    .remove(0)
    .unwrap()[0]
}

fn training_logprob(b: &mut CandleBackend) -> f32 {
    let enc = |t: &str| {
        rerank_model::TokenizerCounter(b.tokenizer())
            .encode(t)
            .unwrap()
    };
    let (mut ids, cont) = (enc(PROMPT), enc(ANSWER));
    let from = ids.len();
    ids.extend(cont);
    let d = b.decoder_mut();
    d.ops = OpsMode::Differentiable;
    let lp = d.token_logprobs(&[Scored { ids: &ids, from }]).unwrap();
    d.ops = OpsMode::Fused;
    lp[0].sum_all().unwrap().to_scalar::<f32>().unwrap()
}

#[test]
fn the_training_forward_is_the_inference_forward() {
    let Some(path) = smollm() else { return };
    let mut b = CandleBackend::from_gguf_with(&path, &Device::Cpu, Weights::Dense).unwrap();
    // Sums over the answer's tokens, in f32, from fused and composed kernels.
    let close = |a: f32, b: f32| (a - b).abs() < 1e-4 * a.abs() + 1e-3;
    let (inference, training) = (backend_logprob(&mut b), training_logprob(&mut b));
    assert!(
        close(inference, training),
        "no adapter: backend {inference} vs training {training}"
    );
    let adapter = Adapter::new(LoraConfig::default(), b.decoder(), 4).unwrap();
    randomize(&adapter, 6);
    b.decoder_mut().set_adapter(Some(adapter.clone())).unwrap();
    let (inference_a, training_a) = (backend_logprob(&mut b), training_logprob(&mut b));
    assert!(
        close(inference_a, training_a),
        "adapter: backend {inference_a} vs training {training_a}"
    );
    assert!(
        (inference_a - inference).abs() > 0.1,
        "the adapter changes the model"
    );

    // The same adapter beside the quantized products moves the log-probability by
    // about as much as on the dense weights.
    let mut q = CandleBackend::from_gguf(&path, &Device::Cpu).unwrap();
    let base_q = backend_logprob(&mut q);
    q.decoder_mut().set_adapter(Some(adapter)).unwrap();
    let adapted_q = backend_logprob(&mut q);
    let (moved_dense, moved_q) = (inference_a - inference, adapted_q - base_q);
    assert!(
        (moved_dense - moved_q).abs() < 0.05 * moved_dense.abs() + 0.5,
        "dense moved {moved_dense}, quantized {moved_q}"
    );
}

#[test]
fn peft_files_round_trip_on_a_permuted_llama_model() {
    let Some(path) = smollm() else { return };
    let b = CandleBackend::from_gguf(&path, &Device::Cpu).unwrap();
    assert!(b.decoder().qk_permuted(), "llama GGUF rows are permuted");
    let adapter = Adapter::new(LoraConfig::default(), b.decoder(), 8).unwrap();
    randomize(&adapter, 10);
    let dir = tempfile::tempdir().unwrap();
    adapter
        .save_peft(dir.path(), "smollm2-135m", b.decoder())
        .unwrap();
    let back = Adapter::load_peft(dir.path(), b.decoder()).unwrap();
    assert_eq!(back.config(), adapter.config());
    for ((n, a), (_, c)) in adapter.named_vars().iter().zip(back.named_vars()) {
        let (a, c): (Vec<f32>, Vec<f32>) = (
            a.flatten_all().unwrap().to_vec1().unwrap(),
            c.flatten_all().unwrap().to_vec1().unwrap(),
        );
        assert_eq!(a, c, "{n}");
    }
    // In the file, q_proj's B is in Hugging Face's row order: not the decoder's.
    let file =
        candle_core::safetensors::load(dir.path().join("adapter_model.safetensors"), &Device::Cpu)
            .unwrap();
    let name = "base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight";
    let stored: Vec<f32> = file[name].flatten_all().unwrap().to_vec1().unwrap();
    let ours: Vec<f32> = adapter
        .pair(0, Target::Q)
        .unwrap()
        .b
        .flatten_all()
        .unwrap()
        .to_vec1()
        .unwrap();
    assert_ne!(stored, ours);
    let mut sorted_a = stored.clone();
    let mut sorted_b = ours.clone();
    sorted_a.sort_by(f32::total_cmp);
    sorted_b.sort_by(f32::total_cmp);
    assert_eq!(sorted_a, sorted_b, "a permutation of rows");
}

#[test]
fn bad_adapter_folders_are_refused_with_the_file_named() {
    let d = tiny("qwen2", DType::F32);
    let adapter = Adapter::new(LoraConfig::default(), &d, 1).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let err = Adapter::load_peft(dir.path(), &d).unwrap_err().to_string();
    assert!(
        err.contains("not a PEFT adapter folder: no adapter_config.json"),
        "{err}"
    );
    adapter.save_peft(dir.path(), "tiny", &d).unwrap();
    let cfg = dir.path().join("adapter_config.json");
    let original = std::fs::read_to_string(&cfg).unwrap();
    let edit = |from: &str, to: &str| {
        assert!(original.contains(from), "{from}");
        std::fs::write(&cfg, original.replace(from, to)).unwrap();
        let e = Adapter::load_peft(dir.path(), &d).unwrap_err().to_string();
        assert!(e.starts_with(&dir.path().display().to_string()), "{e}");
        e
    };
    assert!(edit("\"use_dora\": false", "\"use_dora\": true").contains("DoRA"));
    assert!(edit("\"peft_type\": \"LORA\"", "\"peft_type\": \"IA3\"").contains("only LORA"));
    assert!(edit("\"r\": 16", "\"r\": 8").contains("lora_A [16, 64] and lora_B"));
    let e = edit("\"down_proj\",", "\"lm_head\",");
    assert!(e.contains("\"lm_head\" is not one of"), "{e}");
    std::fs::write(&cfg, "{not json").unwrap();
    assert!(Adapter::load_peft(dir.path(), &d)
        .unwrap_err()
        .to_string()
        .contains("not JSON"));
    std::fs::write(&cfg, &original).unwrap();
    // A model of another shape.
    let other = tiny("qwen3", DType::F32);
    let e = Adapter::load_peft(dir.path(), &other)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("adapter_model.safetensors") && e.contains("this model needs"),
        "{e}"
    );
    // A file that is not safetensors.
    std::fs::write(dir.path().join("adapter_model.safetensors"), b"garbage").unwrap();
    let e = Adapter::load_peft(dir.path(), &d).unwrap_err().to_string();
    assert!(e.contains("adapter_model.safetensors"), "{e}");
}

/// `examples/write_adapter.rs`'s adapter, rebuilt the same way.
fn reference_adapter(d: &Decoder) -> Adapter {
    let config = LoraConfig {
        rank: 4,
        alpha: 8.0,
        ..LoraConfig::default()
    };
    let adapter = Adapter::new(config, d, 7).unwrap();
    adapter.randomize_b(8, 0.05).unwrap();
    adapter
}

/// Our decoder (GGUF dequantized to f32) with our adapter against transformers in
/// float64 with PEFT applying the same adapter from the files we wrote
/// (`data/peft_logits.json`, `reference/peft_logits.py`), at every position of a
/// prompt and the 64 fixed ids: within 1e-3 with and without the adapter, and the
/// change the adapter makes is the same to 1e-3 (it is 0.1 to 1.5 in size).
#[test]
fn peft_applies_our_adapter_as_we_do() {
    let fixture: serde_json::Value =
        serde_json::from_str(include_str!("data/peft_logits.json")).unwrap();
    for (file, case) in fixture["models"].as_object().unwrap() {
        let Some(known) = rerank_model::KNOWN.iter().find(|k| k.file_name == file) else {
            panic!("{file} is not a known model")
        };
        let Some(path) = known.installed() else {
            eprintln!("skipped {file}: run `rerank fetch-model {}`", known.name);
            continue;
        };
        let file_ = rerank_model::GgufFile::open(&path).unwrap();
        let mut d = Decoder::from_gguf_dense(&file_, &Device::Cpu).unwrap();
        let ids: Vec<u32> = case["ids"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_u64().unwrap() as u32)
            .collect();
        let fixed: Vec<usize> = case["fixed_ids"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_u64().unwrap() as usize)
            .collect();
        let logits = |d: &Decoder| -> Vec<Vec<f32>> {
            let mut cache = d.new_cache();
            d.prefill(&[&ids], std::slice::from_mut(&mut cache), true)
                .unwrap()
                .remove(0)
                .to_vec2()
                .unwrap()
        };
        let reference =
            |key: &str| -> Vec<Vec<f64>> { serde_json::from_value(case[key].clone()).unwrap() };
        let base = logits(&d);
        d.set_adapter(Some(reference_adapter(&d))).unwrap();
        let adapted = logits(&d);
        let (ref_base, ref_adapted) = (reference("base"), reference("adapted"));
        let (mut worst_base, mut worst_adapted, mut worst_change, mut largest_change) =
            (0f64, 0f64, 0f64, 0f64);
        for p in 0..ids.len() {
            for (j, &v) in fixed.iter().enumerate() {
                let (b, a) = (base[p][v] as f64, adapted[p][v] as f64);
                worst_base = worst_base.max((b - ref_base[p][j]).abs());
                worst_adapted = worst_adapted.max((a - ref_adapted[p][j]).abs());
                let change = ref_adapted[p][j] - ref_base[p][j];
                worst_change = worst_change.max(((a - b) - change).abs());
                largest_change = largest_change.max(change.abs());
            }
        }
        eprintln!(
            "{file}: base within {worst_base:.1e}, adapted within {worst_adapted:.1e}, change within {worst_change:.1e} (largest change {largest_change:.2})"
        );
        assert!(
            largest_change > 0.1,
            "{file}: the adapter must change the logits"
        );
        assert!(
            worst_base < 1e-3 && worst_adapted < 1e-3 && worst_change < 1e-3,
            "{file}: base {worst_base}, adapted {worst_adapted}, change {worst_change}"
        );
    }
}

/// The tiny model in f64 with a rank-2 adapter (seeded `seed`), `B` randomized too.
fn adapted_f64(arch: &str, seed: u64, b_seed: u64) -> (Decoder, Adapter) {
    let mut d = tiny(arch, DType::F64);
    let adapter = Adapter::new(
        LoraConfig {
            rank: 2,
            alpha: 4.0,
            ..LoraConfig::default()
        },
        &d,
        seed,
    )
    .unwrap();
    randomize(&adapter, b_seed);
    d.set_adapter(Some(adapter.clone())).unwrap();
    (d, adapter)
}

/// Gradient checkpointing (`Decoder::logprob_gradients`: blocks recomputed one at a
/// time in the backward pass) gives the plain backward pass's gradients and
/// log-probabilities, to 1e-10 in f64, on every architecture.
#[test]
fn checkpointed_gradients_equal_the_plain_backward() {
    for arch in ["llama", "qwen2", "qwen3"] {
        let (d, adapter) = adapted_f64(arch, 3, 5);
        let plain = objective(&d).backward().unwrap();
        let seqs: Vec<Scored> = SEQS
            .iter()
            .zip(FROM)
            .map(|(ids, from)| Scored { ids, from })
            .collect();
        let weights = |lps: &[Vec<f64>]| -> rerank_model::Result<Vec<Vec<f64>>> {
            Ok(lps
                .iter()
                .enumerate()
                .map(|(i, lp)| {
                    (0..lp.len())
                        .map(|t| 0.5 + 0.25 * ((i + t) % 3) as f64)
                        .collect()
                })
                .collect())
        };
        let out = d.logprob_gradients(&seqs, weights).unwrap();
        let (values, grads) = (out.logprobs, out.grads);
        let reference = d.token_logprobs(&seqs).unwrap();
        for (v, r) in values.iter().zip(&reference) {
            assert_eq!(v, &r.to_vec1::<f64>().unwrap(), "{arch}: log-probabilities");
        }
        for (var, g) in adapter.vars().iter().zip(&grads) {
            let want: Vec<f64> = plain
                .get(var.as_tensor())
                .unwrap()
                .flatten_all()
                .unwrap()
                .to_vec1()
                .unwrap();
            let got: Vec<f64> = g
                .as_ref()
                .expect("a gradient")
                .flatten_all()
                .unwrap()
                .to_vec1()
                .unwrap();
            for (a, b) in got.iter().zip(&want) {
                assert!(
                    (a - b).abs() < 1e-10 * b.abs().max(1.0),
                    "{arch}: {a} vs {b}"
                );
            }
        }
    }
}

/// A GRPO group (completions of one prompt) runs packed with the prompt computed once:
/// each completion's log-probabilities and the gradients of a weighted sum of them
/// equal those of the completions run one at a time (to 1e-10 in f64), including a
/// completion of one token (nothing of its own to run) and a sequence whose prefix
/// differs.
#[test]
fn a_group_sharing_its_prompt_equals_its_completions_run_alone() {
    for arch in ["llama", "qwen3"] {
        let (d, _) = adapted_f64(arch, 4, 6);
        let prompt = [3u32, 17, 8, 22, 5, 9, 1];
        let other = [4u32, 17, 8];
        let seqs: Vec<Vec<u32>> = vec![
            [&prompt[..], &[11, 2, 30, 7]].concat(),
            [&other[..], &[6, 6]].concat(),
            [&prompt[..], &[12]].concat(),
            [&prompt[..], &[11, 2, 19, 4, 4, 13]].concat(),
        ];
        let from = [prompt.len(), other.len(), prompt.len(), prompt.len()];
        let scored: Vec<Scored> = seqs
            .iter()
            .zip(from)
            .map(|(ids, from)| Scored { ids, from })
            .collect();
        let weights = |lps: &[Vec<f64>]| -> rerank_model::Result<Vec<Vec<f64>>> {
            Ok(lps
                .iter()
                .map(|lp| (0..lp.len()).map(|t| 1.0 - 0.3 * t as f64).collect())
                .collect())
        };
        let packed = d.logprob_gradients(&scored, weights).unwrap();
        let mut alone_grads: Vec<Vec<f64>> = Vec::new();
        for (i, s) in scored.iter().enumerate() {
            let one = d
                .logprob_gradients(std::slice::from_ref(s), weights)
                .unwrap();
            for (a, b) in one.logprobs[0].iter().zip(&packed.logprobs[i]) {
                assert!((a - b).abs() < 1e-10, "{arch}: sequence {i}: {a} vs {b}");
            }
            assert_eq!(one.logprobs[0].len(), packed.logprobs[i].len());
            let flat: Vec<Vec<f64>> = one
                .grads
                .iter()
                .map(|g| {
                    g.as_ref()
                        .unwrap()
                        .flatten_all()
                        .unwrap()
                        .to_vec1()
                        .unwrap()
                })
                .collect();
            if alone_grads.is_empty() {
                alone_grads = flat;
            } else {
                for (sum, g) in alone_grads.iter_mut().zip(flat) {
                    sum.iter_mut().zip(g).for_each(|(s, x)| *s += x);
                }
            }
        }
        for (g, want) in packed.grads.iter().zip(&alone_grads) {
            let got: Vec<f64> = g
                .as_ref()
                .unwrap()
                .flatten_all()
                .unwrap()
                .to_vec1()
                .unwrap();
            for (a, b) in got.iter().zip(want) {
                assert!(
                    (a - b).abs() < 1e-10 * b.abs().max(1.0),
                    "{arch}: {a} vs {b}"
                );
            }
        }
    }
}
