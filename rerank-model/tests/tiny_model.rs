//! A tiny random model written by the test in two forms: a Hugging Face safetensors
//! folder (config.json and weights, in f32, f16 and bf16) and a GGUF file (f32 tensors,
//! q/k rows permuted for llama as llama.cpp's converter does). Loaded through the two
//! paths, the same weights must give the same logits. llama, qwen2 (q/k/v biases) and
//! qwen3 (RMSNorm of each head's queries and keys, a head size that is not
//! hidden / heads).

use std::collections::HashMap;

use candle_core::quantized::gguf_file::{self, Value};
use candle_core::quantized::{GgmlDType, QTensor};
use candle_core::{DType, Device, Tensor};
use rerank_model::candle::Decoder;
use rerank_model::GgufFile;

const HIDDEN: usize = 64;
const HEADS: usize = 4;
const KV_HEADS: usize = 2;
const HEAD_DIM: usize = 16;
/// qwen3 sets its head size apart from hidden / heads: test that it is read.
const QWEN3_HEAD_DIM: usize = 24;

fn head_dim(arch: &str) -> usize {
    if arch == "qwen3" {
        QWEN3_HEAD_DIM
    } else {
        HEAD_DIM
    }
}
const LAYERS: usize = 2;
const FFN: usize = 96;
const VOCAB: usize = 300;

fn random_weights(arch: &str, seed: u64) -> HashMap<String, Tensor> {
    let dev = Device::Cpu;
    let mut state = seed;
    let mut rand = |shape: &[usize], scale: f32| -> Tensor {
        let n: usize = shape.iter().product();
        let v: Vec<f32> = (0..n)
            .map(|_| {
                state = state
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                ((state >> 33) as f32 / (1u64 << 31) as f32 - 0.5) * 2.0 * scale
            })
            .collect();
        Tensor::from_vec(v, shape, &dev).unwrap()
    };
    let hd = head_dim(arch);
    let mut w = HashMap::new();
    w.insert(
        "model.embed_tokens.weight".into(),
        rand(&[VOCAB, HIDDEN], 1.0),
    );
    w.insert(
        "model.norm.weight".into(),
        (rand(&[HIDDEN], 0.1) + 1.0).unwrap(),
    );
    w.insert("lm_head.weight".into(), rand(&[VOCAB, HIDDEN], 0.2));
    for i in 0..LAYERS {
        let p = |s: &str| format!("model.layers.{i}.{s}");
        w.insert(
            p("input_layernorm.weight"),
            (rand(&[HIDDEN], 0.1) + 1.0).unwrap(),
        );
        w.insert(
            p("post_attention_layernorm.weight"),
            (rand(&[HIDDEN], 0.1) + 1.0).unwrap(),
        );
        w.insert(
            p("self_attn.q_proj.weight"),
            rand(&[HEADS * hd, HIDDEN], 0.2),
        );
        w.insert(
            p("self_attn.k_proj.weight"),
            rand(&[KV_HEADS * hd, HIDDEN], 0.2),
        );
        w.insert(
            p("self_attn.v_proj.weight"),
            rand(&[KV_HEADS * hd, HIDDEN], 0.2),
        );
        w.insert(
            p("self_attn.o_proj.weight"),
            rand(&[HIDDEN, HEADS * hd], 0.2),
        );
        w.insert(p("mlp.gate_proj.weight"), rand(&[FFN, HIDDEN], 0.2));
        w.insert(p("mlp.up_proj.weight"), rand(&[FFN, HIDDEN], 0.2));
        w.insert(p("mlp.down_proj.weight"), rand(&[HIDDEN, FFN], 0.2));
        if arch == "qwen3" {
            w.insert(
                p("self_attn.q_norm.weight"),
                (rand(&[hd], 0.1) + 1.0).unwrap(),
            );
            w.insert(
                p("self_attn.k_norm.weight"),
                (rand(&[hd], 0.1) + 1.0).unwrap(),
            );
        }
        if arch == "qwen2" {
            w.insert(p("self_attn.q_proj.bias"), rand(&[HEADS * hd], 0.1));
            w.insert(p("self_attn.k_proj.bias"), rand(&[KV_HEADS * hd], 0.1));
            w.insert(p("self_attn.v_proj.bias"), rand(&[KV_HEADS * hd], 0.1));
        }
    }
    w
}

fn write_safetensors(dir: &std::path::Path, arch: &str, w: &HashMap<String, Tensor>, dtype: DType) {
    std::fs::create_dir_all(dir).unwrap();
    let config = serde_json::json!({
        "model_type": arch, "hidden_size": HIDDEN, "num_attention_heads": HEADS, "num_key_value_heads": KV_HEADS,
        "num_hidden_layers": LAYERS, "intermediate_size": FFN, "vocab_size": VOCAB, "rms_norm_eps": 1e-5,
        "rope_theta": 10000.0, "max_position_embeddings": 256, "tie_word_embeddings": false,
        "head_dim": head_dim(arch),
    });
    std::fs::write(dir.join("config.json"), config.to_string()).unwrap();
    let converted: HashMap<String, Tensor> = w
        .iter()
        .map(|(k, v)| (k.clone(), v.to_dtype(dtype).unwrap()))
        .collect();
    candle_core::safetensors::save(&converted, dir.join("model.safetensors")).unwrap();
}

/// llama.cpp's converter: rows of q and k regrouped so that rope pairs are adjacent.
fn permute(w: &Tensor, heads: usize) -> Tensor {
    let (out, inp) = w.dims2().unwrap();
    w.reshape((heads, 2, out / heads / 2, inp))
        .unwrap()
        .transpose(1, 2)
        .unwrap()
        .reshape((out, inp))
        .unwrap()
}

fn write_gguf(path: &std::path::Path, arch: &str, w: &HashMap<String, Tensor>) {
    write_gguf_with(path, arch, w, Vec::new())
}

fn write_gguf_with(
    path: &std::path::Path,
    arch: &str,
    w: &HashMap<String, Tensor>,
    extra: Vec<(String, Value)>,
) {
    let gguf_name = |hf: &str| -> String {
        match hf {
            "model.embed_tokens.weight" => "token_embd.weight".into(),
            "model.norm.weight" => "output_norm.weight".into(),
            "lm_head.weight" => "output.weight".into(),
            _ => {
                let rest = hf.strip_prefix("model.layers.").unwrap();
                let (i, name) = rest.split_once('.').unwrap();
                let n = match name {
                    "input_layernorm.weight" => "attn_norm.weight",
                    "post_attention_layernorm.weight" => "ffn_norm.weight",
                    "self_attn.q_proj.weight" => "attn_q.weight",
                    "self_attn.k_proj.weight" => "attn_k.weight",
                    "self_attn.v_proj.weight" => "attn_v.weight",
                    "self_attn.o_proj.weight" => "attn_output.weight",
                    "self_attn.q_proj.bias" => "attn_q.bias",
                    "self_attn.k_proj.bias" => "attn_k.bias",
                    "self_attn.v_proj.bias" => "attn_v.bias",
                    "self_attn.q_norm.weight" => "attn_q_norm.weight",
                    "self_attn.k_norm.weight" => "attn_k_norm.weight",
                    "mlp.gate_proj.weight" => "ffn_gate.weight",
                    "mlp.up_proj.weight" => "ffn_up.weight",
                    "mlp.down_proj.weight" => "ffn_down.weight",
                    other => panic!("{other}"),
                };
                format!("blk.{i}.{n}")
            }
        }
    };
    let mut tensors: Vec<(String, QTensor)> = Vec::new();
    let mut names: Vec<&String> = w.keys().collect();
    names.sort();
    for hf in names {
        let mut t = w[hf].clone();
        if arch == "llama" && hf.ends_with("q_proj.weight") {
            t = permute(&t, HEADS);
        }
        if arch == "llama" && hf.ends_with("k_proj.weight") {
            t = permute(&t, KV_HEADS);
        }
        tensors.push((
            gguf_name(hf),
            QTensor::quantize(&t, GgmlDType::F32).unwrap(),
        ));
    }
    let key = |k: &str| format!("{arch}.{k}");
    let mut meta: Vec<(String, Value)> = vec![
        ("general.architecture".into(), Value::String(arch.into())),
        (key("block_count"), Value::U32(LAYERS as u32)),
        (key("embedding_length"), Value::U32(HIDDEN as u32)),
        (key("feed_forward_length"), Value::U32(FFN as u32)),
        (key("attention.head_count"), Value::U32(HEADS as u32)),
        (key("attention.head_count_kv"), Value::U32(KV_HEADS as u32)),
        (key("context_length"), Value::U32(256)),
        (key("rope.freq_base"), Value::F32(10000.0)),
        (key("attention.layer_norm_rms_epsilon"), Value::F32(1e-5)),
        (
            key("attention.key_length"),
            Value::U32(head_dim(arch) as u32),
        ),
        (
            key("attention.value_length"),
            Value::U32(head_dim(arch) as u32),
        ),
    ];
    meta.extend(extra);
    let meta_refs: Vec<(&str, &Value)> = meta.iter().map(|(k, v)| (k.as_str(), v)).collect();
    let tensor_refs: Vec<(&str, &QTensor)> = tensors.iter().map(|(k, v)| (k.as_str(), v)).collect();
    let mut f = std::fs::File::create(path).unwrap();
    gguf_file::write(&mut f, &meta_refs, &tensor_refs).unwrap();
}

fn logits(d: &Decoder, ids: &[u32]) -> Vec<Vec<f32>> {
    let mut c = d.new_cache();
    d.prefill(&[ids], std::slice::from_mut(&mut c), true)
        .unwrap()
        .remove(0)
        .to_vec2()
        .unwrap()
}

fn max_diff(a: &[Vec<f32>], b: &[Vec<f32>]) -> f32 {
    a.iter()
        .flatten()
        .zip(b.iter().flatten())
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

#[test]
fn safetensors_and_gguf_forms_of_the_same_weights_agree() {
    let ids: Vec<u32> = (0..40).map(|i| (i * 37 + 11) % VOCAB as u32).collect();
    for arch in ["llama", "qwen2", "qwen3"] {
        let d = tempfile::tempdir().unwrap();
        let w = random_weights(arch, 7);
        let st = d.path().join("st-f32");
        write_safetensors(&st, arch, &w, DType::F32);
        let gg = d.path().join("tiny.gguf");
        write_gguf(&gg, arch, &w);

        let from_st = Decoder::from_safetensors(&st, &Device::Cpu).unwrap();
        let from_gg = Decoder::from_gguf(&GgufFile::open(&gg).unwrap(), &Device::Cpu).unwrap();
        assert_eq!(from_st.info().architecture, arch);
        assert_eq!(from_st.info().head_dim, head_dim(arch));
        assert_eq!(from_gg.info().head_dim, head_dim(arch));
        let (a, b) = (logits(&from_st, &ids), logits(&from_gg, &ids));
        assert_eq!(a.len(), ids.len());
        let diff = max_diff(&a, &b);
        eprintln!("{arch}: safetensors f32 vs GGUF f32: largest logit difference {diff:e}");
        assert!(diff < 1e-4, "{arch}: {diff}");

        if arch == "qwen3" {
            // The q/k norms are applied: with unit norm weights the logits change.
            let mut unit = w.clone();
            for (k, v) in unit.iter_mut() {
                if k.ends_with("q_norm.weight") || k.ends_with("k_norm.weight") {
                    *v = v.ones_like().unwrap();
                }
            }
            let dir = d.path().join("st-unit-norms");
            write_safetensors(&dir, arch, &unit, DType::F32);
            let plain = Decoder::from_safetensors(&dir, &Device::Cpu).unwrap();
            let diff = max_diff(&logits(&plain, &ids), &a);
            assert!(
                diff > 1e-2,
                "qwen3's q/k norm weights made no difference: {diff}"
            );
        }

        // Half-precision weights load and stay close to the f32 result.
        for (dtype, tol) in [(DType::F16, 2e-2f32), (DType::BF16, 1e-1)] {
            let dir = d.path().join(format!("st-{dtype:?}"));
            write_safetensors(&dir, arch, &w, dtype);
            let half = Decoder::from_safetensors(&dir, &Device::Cpu).unwrap();
            let diff = max_diff(&logits(&half, &ids), &a);
            eprintln!("{arch}: safetensors {dtype:?} vs f32: largest logit difference {diff:e}");
            assert!(diff < tol, "{arch} {dtype:?}: {diff}");
        }
    }
}

#[test]
fn broken_model_folders_are_refused_clearly() {
    let d = tempfile::tempdir().unwrap();
    let w = random_weights("llama", 1);
    let dir = d.path().join("m");
    write_safetensors(&dir, "llama", &w, DType::F32);
    // Unsupported architecture.
    let cfg = std::fs::read_to_string(dir.join("config.json"))
        .unwrap()
        .replace("\"llama\"", "\"mamba\"");
    std::fs::write(dir.join("config.json"), cfg).unwrap();
    let e = Decoder::from_safetensors(&dir, &Device::Cpu)
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("model_type 'mamba' is not supported"), "{e}");
    // A missing tensor.
    write_safetensors(&dir, "llama", &w, DType::F32);
    let mut fewer = w.clone();
    fewer.remove("model.layers.1.mlp.up_proj.weight");
    candle_core::safetensors::save(&fewer, dir.join("model.safetensors")).unwrap();
    let e = Decoder::from_safetensors(&dir, &Device::Cpu)
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("model.layers.1.mlp.up_proj.weight"), "{e}");
    // A GGUF of an unsupported architecture: opens, but is refused by name.
    let gg = d.path().join("x.gguf");
    write_gguf(&gg, "gptneox", &w);
    let file = GgufFile::open(&gg).unwrap();
    assert_eq!(file.info().unwrap().architecture, "gptneox");
    let e = Decoder::from_gguf(&file, &Device::Cpu)
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("architecture 'gptneox' is not supported"), "{e}");
    // A GGUF without a tokenizer: a clear error, not a panic.
    let e = file.tokenizer().unwrap_err().to_string();
    assert!(e.contains("tokenizer model ''"), "{e}");
    // gemma3 (what `fetch-model gemma3-270m` installs) cannot run yet: its architecture
    // and its SentencePiece tokenizer are refused by name, with a way out.
    let gg = d.path().join("gemma3.gguf");
    write_gguf_with(
        &gg,
        "gemma3",
        &w,
        vec![("tokenizer.ggml.model".into(), Value::String("llama".into()))],
    );
    let file = GgufFile::open(&gg).unwrap();
    let e = Decoder::from_gguf(&file, &Device::Cpu)
        .err()
        .unwrap()
        .to_string();
    assert!(
        e.ends_with("architecture 'gemma3' is not supported (llama, qwen2, qwen3 are)"),
        "{e}"
    );
    let e = file.tokenizer().unwrap_err().to_string();
    assert!(
        e.contains("tokenizer model 'llama'")
            && e.ends_with("give a safetensors folder with its tokenizer.json instead"),
        "{e}"
    );
    assert!(!rerank_model::registry::find("gemma3-270m").unwrap().runs);
}

#[test]
fn a_safetensors_folder_runs_through_the_backend() {
    use rerank_model::candle::CandleBackend;
    use rerank_model::{Backend, GenerationRequest, ModelSource, Prompt, SamplingParams};
    use rerank_prompt::{Message, Role};
    let d = tempfile::tempdir().unwrap();
    let dir = d.path().join("tiny-chat");
    write_safetensors(&dir, "qwen2", &random_weights("qwen2", 3), DType::F32);
    // A word-level tokenizer over the tiny vocabulary, written with the tokenizers crate.
    let mut vocab: std::collections::HashMap<String, u32> = (0..VOCAB as u32 - 2)
        .map(|i| (format!("w{i}"), i))
        .collect();
    vocab.insert("<unk>".into(), VOCAB as u32 - 2);
    vocab.insert("<|im_end|>".into(), VOCAB as u32 - 1);
    let model = tokenizers::models::wordlevel::WordLevel::builder()
        .vocab(vocab.into_iter().collect())
        .unk_token("<unk>".into())
        .build()
        .unwrap();
    let mut tok = tokenizers::Tokenizer::new(model);
    tok.with_pre_tokenizer(Some(tokenizers::pre_tokenizers::whitespace::Whitespace {}));
    tok.add_special_tokens(vec![tokenizers::AddedToken::from("<|im_end|>", true)])
        .unwrap();
    tok.save(dir.join("tokenizer.json"), false).unwrap();
    std::fs::write(
        dir.join("tokenizer_config.json"),
        r#"{"chat_template": "{% for m in messages %}{{ m.content }} <|im_end|> {% endfor %}{% if add_generation_prompt %}w1 {% endif %}", "eos_token": "<|im_end|>"}"#,
    )
    .unwrap();
    let source = ModelSource::resolve(dir.to_str().unwrap()).unwrap();
    assert_eq!(source, ModelSource::Safetensors(dir.clone()));
    let mut b = CandleBackend::load(&source, &Device::Cpu).unwrap();
    let req = |text: &str| GenerationRequest {
        prompt: Prompt::Chat(vec![Message::new(Role::User, text)]),
        params: SamplingParams {
            max_new_tokens: 6,
            ..Default::default()
        },
    };
    let out = b.generate(&[req("w5 w6 w7"), req("w9 w10")]);
    for g in &out {
        let g = g.as_ref().unwrap();
        assert!(g.completion_tokens <= 6 && g.prompt_tokens >= 4, "{g:?}");
    }
    assert_eq!(b.count_tokens("w1 w2 w3").unwrap(), 3);
}
