//! The candle decoder against llama.cpp on the same GGUF files
//! (`data/llama_cpp_logits.json`, written by `reference/llama_cpp_logits.py`):
//! logits at every position within a stated tolerance, as accurate as llama.cpp
//! against an independent exact reference (transformers in float64 on the dequantized
//! weights, `data/transformers_logits.json`), and the same greedy tokens wherever
//! llama.cpp's choice is not a tie below 8-bit precision. Then: a batch equals its
//! prompts run one at a time, bit for bit, and a shared prefix computed once and
//! reused gives the same greedy text as without reuse.
//!
//! Needs the models (`rerank fetch-model smollm2-135m`, `… qwen2.5-0.5b`); compares
//! `qwen2.5-1.5b` too when it is installed.

use candle_core::{Device, D};
use rerank_model::candle::{Decoder, SeqCache};
use rerank_model::{registry, GgufFile};
use serde_json::Value;

/// llama.cpp quantizes activations to 8 bits inside its quantized matrix products; for
/// prompt tokens we compute the exact product with the weights dequantized (only the
/// vocabulary projection and decoding steps use 8-bit activations). Against the exact
/// result, llama.cpp is off by about 0.13 (SmolLM2, Q4_1) or 0.045 (Qwen2.5, Q4_K_M)
/// at the median and by up to 1.3 and 0.3; we are off by about 0.03 and 0.016. So the
/// difference between the two is mostly llama.cpp's own rounding. The bounds: largest
/// |ours - llama.cpp| over every position and the 74 vocabulary entries compared
/// there (llama.cpp's 10 best and 64 fixed ones), and the median of it.
fn tolerance(name: &str) -> (f32, f32) {
    match name {
        "smollm2-135m" => (2.0, 0.3),
        _ => (0.8, 0.1),
    }
}

/// The models compared with llama.cpp: the two small ones (CI fetches them), and
/// Qwen2.5-Coder-1.5B when it is installed (`rerank fetch-model qwen2.5-1.5b`; 1.1 GB,
/// not fetched by the tests).
fn compared_models() -> Vec<&'static str> {
    let mut names = vec!["smollm2-135m", "qwen2.5-0.5b"];
    match registry::find("qwen2.5-1.5b").and_then(|m| m.installed()) {
        Some(_) => names.push("qwen2.5-1.5b"),
        None => eprintln!("skipped qwen2.5-1.5b: run `rerank fetch-model qwen2.5-1.5b`"),
    }
    names
}

fn fixture() -> Value {
    serde_json::from_str(include_str!("data/llama_cpp_logits.json")).unwrap()
}

fn load(name: &str) -> (String, Decoder) {
    let path = registry::find(name)
        .unwrap()
        .installed()
        .unwrap_or_else(|| panic!("run `rerank fetch-model {name}`"));
    let file = GgufFile::open(&path).unwrap();
    (
        path.file_name().unwrap().to_str().unwrap().to_owned(),
        Decoder::from_gguf(&file, &Device::Cpu).unwrap(),
    )
}

fn ids(v: &Value) -> Vec<u32> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_u64().unwrap() as u32)
        .collect()
}

fn greedy(decoder: &Decoder, prompt: &[u32], n: usize) -> Vec<u32> {
    let mut cache = decoder.new_cache();
    let mut logits = decoder
        .forward(&[prompt], std::slice::from_mut(&mut cache), false)
        .unwrap()
        .remove(0);
    let mut out = Vec::new();
    for _ in 0..n {
        let t = logits
            .argmax(D::Minus1)
            .unwrap()
            .to_scalar::<u32>()
            .unwrap();
        out.push(t);
        logits = decoder
            .forward(&[&[t]], std::slice::from_mut(&mut cache), false)
            .unwrap()
            .remove(0);
    }
    out
}

#[test]
fn logits_and_greedy_tokens_match_llama_cpp() {
    let fx = fixture();
    for name in compared_models() {
        let (file, decoder) = load(name);
        let m = &fx["models"][&file];
        let fixed = ids(&m["fixed_ids"]);
        let (max_tol, median_tol) = tolerance(name);
        let mut diffs: Vec<f32> = Vec::new();
        let (mut decided, mut near_ties, mut agreed_near_ties) = (0, 0, 0);
        for (ci, case) in m["cases"].as_array().unwrap().iter().enumerate() {
            let prompt = ids(&case["ids"]);
            let mut cache = decoder.new_cache();
            let logits = decoder
                .forward(&[&prompt], std::slice::from_mut(&mut cache), true)
                .unwrap()
                .remove(0);
            let logits: Vec<Vec<f32>> = logits.to_vec2().unwrap();
            assert_eq!(logits.len(), prompt.len());
            for (pos, row) in logits.iter().enumerate() {
                if pos == 0 && name == "qwen2.5-1.5b" {
                    // A sequence's first token alone: this model's first hidden state
                    // has massive activations, which llama.cpp's 8-bit activations do
                    // not survive (`<|im_start|>`, token 15: llama.cpp 22.0, transformers
                    // on the dequantized weights 6.60, ours 6.64; "The": 14.4, 2.32, 2.43;
                    // reference/first_position.py). From position 1 on it agrees as for
                    // the other models.
                    continue;
                }
                let top = ids(&case["top_ids"][pos]);
                let top_v: Vec<f32> = case["top_logits"][pos]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|v| v.as_f64().unwrap() as f32)
                    .collect();
                let fix_v: Vec<f32> = case["fixed_logits"][pos]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|v| v.as_f64().unwrap() as f32)
                    .collect();
                for (id, want) in top.iter().zip(&top_v).chain(fixed.iter().zip(&fix_v)) {
                    let d = (row[*id as usize] - want).abs();
                    diffs.push(d);
                    assert!(
                        d <= max_tol,
                        "{name} case {ci} position {pos} token {id}: ours {} llama.cpp {want}",
                        row[*id as usize]
                    );
                }
            }
            // Greedy tokens, teacher-forced along llama.cpp's 32: at every step where
            // llama.cpp's best beats its second by more than the noise bound, we must
            // choose the same token. Closer calls are ties below the precision of 8-bit
            // activations, which two independent implementations cannot break alike.
            let want = ids(&case["greedy"]);
            let margins: Vec<f32> = case["greedy_margins"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_f64().unwrap() as f32)
                .collect();
            let mut forced = prompt.clone();
            forced.extend_from_slice(&want[..want.len() - 1]);
            let mut c = decoder.new_cache();
            let along: Vec<Vec<f32>> = decoder
                .forward(&[&forced], std::slice::from_mut(&mut c), true)
                .unwrap()
                .remove(0)
                .to_vec2()
                .unwrap();
            for (j, (&tok, &margin)) in want.iter().zip(&margins).enumerate() {
                let row = &along[prompt.len() - 1 + j];
                let ours = row
                    .iter()
                    .enumerate()
                    .max_by(|a, b| a.1.total_cmp(b.1))
                    .unwrap()
                    .0 as u32;
                if margin > max_tol {
                    assert_eq!(
                        ours, tok,
                        "{name} case {ci} greedy step {j}: llama.cpp's margin {margin}"
                    );
                    decided += 1;
                } else {
                    near_ties += 1;
                    agreed_near_ties += (ours == tok) as usize;
                }
            }
            // Free-running: how far our own greedy text follows llama.cpp's.
            let free = greedy(&decoder, &prompt, 32);
            let same = free.iter().zip(&want).take_while(|(a, b)| a == b).count();
            eprintln!("{name} case {ci}: free-running greedy text identical for the first {same} of 32 tokens");
        }
        eprintln!(
            "{name}: teacher-forced greedy: {decided} decided steps all identical; {near_ties} near-ties (margin <= {max_tol}), {agreed_near_ties} of them identical too"
        );
        assert!(decided >= 60, "{name}: too few decided steps ({decided})");
        diffs.sort_by(|a, b| a.total_cmp(b));
        let (median, worst) = (diffs[diffs.len() / 2], diffs[diffs.len() - 1]);
        eprintln!("{name}: logit difference to llama.cpp: median {median:.4}, largest {worst:.4} over {} values", diffs.len());
        assert!(median <= median_tol, "{name}: median difference {median}");
    }
}

#[test]
fn a_batch_equals_its_prompts_one_at_a_time() {
    let fx = fixture();
    let (file, decoder) = load("smollm2-135m");
    batch_equals_single(&fx, &file, &decoder);
}

#[test]
fn a_batch_equals_its_prompts_one_at_a_time_with_dense_weights() {
    let fx = fixture();
    let (file, _) = load("smollm2-135m");
    let path = registry::find("smollm2-135m").unwrap().installed().unwrap();
    let gguf = GgufFile::open(path).unwrap();
    let decoder = Decoder::from_gguf_dense(&gguf, &Device::Cpu).unwrap();
    batch_equals_single(&fx, &file, &decoder);
}

/// The same with Qwen2.5-Coder-0.5B, whose feed-forward down projections are Q4_K and
/// Q6_K: prompts meet them in candle's packed 8-bit product, decoding steps in this
/// crate's K-quant kernels.
#[test]
fn a_batch_equals_its_prompts_one_at_a_time_with_k_quants() {
    let fx = fixture();
    let (file, decoder) = load("qwen2.5-0.5b");
    batch_equals_single(&fx, &file, &decoder);
}

/// `prefill` of a prompt whole, and of all but its last one, two or three tokens and
/// then those alone (a prompt product of one row among them), give the last token the
/// same logits. (It caught candle's packed 8-bit product for Q4_K and Q6_K, tried for
/// prompts: last two tokens 0.2 apart.)
#[test]
fn a_prompt_split_in_two_equals_the_whole_prompt() {
    let fx = fixture();
    for name in ["smollm2-135m", "qwen2.5-0.5b"] {
        let (file, decoder) = load(name);
        let p = ids(&fx["models"][file.as_str()]["cases"][1]["ids"]);
        let last = |parts: &[&[u32]]| {
            let mut cache = decoder.new_cache();
            let mut out = None;
            for part in parts {
                out = Some(
                    decoder
                        .prefill(&[part], std::slice::from_mut(&mut cache), false)
                        .unwrap()
                        .remove(0),
                );
            }
            out.unwrap().to_vec1::<f32>().unwrap()
        };
        let whole = last(&[&p]);
        for cut in [1, 2, 3] {
            let (head, tail) = p.split_at(p.len() - cut);
            let split = last(&[head, tail]);
            let differ = whole.iter().zip(&split).filter(|(a, b)| a != b).count();
            let worst = whole
                .iter()
                .zip(&split)
                .map(|(a, b)| (a - b).abs())
                .fold(0f32, f32::max);
            assert_eq!(
                differ, 0,
                "{name}, last {cut}: {differ} logits differ, by up to {worst}"
            );
        }
    }
}

/// A batch of long prompts (more rows than one pass takes, so it goes in groups of
/// prompts) gives every prompt the logits of every position that it gets alone.
#[test]
fn a_batch_of_long_prompts_equals_its_prompts_one_at_a_time() {
    let fx = fixture();
    let (file, decoder) = load("smollm2-135m");
    let cases = fx["models"][file.as_str()]["cases"].as_array().unwrap();
    let pool: Vec<u32> = cases.iter().flat_map(|c| ids(&c["ids"])).collect();
    // 700, 710 and 720 tokens: 2,130 rows together, split after the second prompt.
    let prompts: Vec<Vec<u32>> = (0..3)
        .map(|i| {
            pool.iter()
                .copied()
                .cycle()
                .skip(i * 50)
                .take(700 + 10 * i)
                .collect()
        })
        .collect();
    let all = |refs: &[&[u32]]| {
        let mut caches: Vec<SeqCache> = refs.iter().map(|_| decoder.new_cache()).collect();
        decoder
            .forward(refs, &mut caches, true)
            .unwrap()
            .into_iter()
            .map(|t| t.to_vec2::<f32>().unwrap())
            .collect::<Vec<_>>()
    };
    let refs: Vec<&[u32]> = prompts.iter().map(|p| p.as_slice()).collect();
    let batch = all(&refs);
    for (i, p) in prompts.iter().enumerate() {
        let alone = all(&[p.as_slice()]).remove(0);
        assert_eq!(alone.len(), p.len());
        assert!(
            batch[i] == alone,
            "prompt {i}: batched logits differ from single"
        );
    }
}

fn batch_equals_single(fx: &Value, file: &str, decoder: &Decoder) {
    let prompts: Vec<Vec<u32>> = fx["models"][file]["cases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| ids(&c["ids"]))
        .collect();
    // One at a time.
    let single: Vec<Vec<f32>> = prompts
        .iter()
        .map(|p| {
            let mut c = decoder.new_cache();
            decoder
                .forward(&[p], std::slice::from_mut(&mut c), false)
                .unwrap()
                .remove(0)
                .to_vec1()
                .unwrap()
        })
        .collect();
    // All together (lengths 27, 139, 27), then a decoding step together.
    let mut caches: Vec<SeqCache> = prompts.iter().map(|_| decoder.new_cache()).collect();
    let refs: Vec<&[u32]> = prompts.iter().map(|p| p.as_slice()).collect();
    let batch = decoder.forward(&refs, &mut caches, false).unwrap();
    for (i, t) in batch.iter().enumerate() {
        assert_eq!(
            t.to_vec1::<f32>().unwrap(),
            single[i],
            "prompt {i}: batched logits differ from single"
        );
    }
    // Greedy texts: batched decoding equals single decoding.
    let mut next: Vec<u32> = batch
        .iter()
        .map(|t| t.argmax(D::Minus1).unwrap().to_scalar::<u32>().unwrap())
        .collect();
    let mut generated: Vec<Vec<u32>> = next.iter().map(|&t| vec![t]).collect();
    for _ in 0..15 {
        let step: Vec<[u32; 1]> = next.iter().map(|&t| [t]).collect();
        let refs: Vec<&[u32]> = step.iter().map(|s| s.as_slice()).collect();
        let out = decoder.forward(&refs, &mut caches, false).unwrap();
        next = out
            .iter()
            .map(|t| t.argmax(D::Minus1).unwrap().to_scalar::<u32>().unwrap())
            .collect();
        for (g, &t) in generated.iter_mut().zip(&next) {
            g.push(t);
        }
    }
    for (i, p) in prompts.iter().enumerate() {
        assert_eq!(
            generated[i],
            greedy(decoder, p, 16),
            "prompt {i}: batched greedy text differs"
        );
    }
}

#[test]
fn shared_prefix_reuse_gives_the_same_text() {
    let fx = fixture();
    let (file, decoder) = load("qwen2.5-0.5b");
    let prompt = ids(&fx["models"][&file]["cases"][1]["ids"]);
    let split = 60;
    // Without reuse.
    let mut full = decoder.new_cache();
    let want: Vec<f32> = decoder
        .forward(&[&prompt], std::slice::from_mut(&mut full), false)
        .unwrap()
        .remove(0)
        .to_vec1()
        .unwrap();
    // Prefix once, then two continuations from clones of its cache.
    let mut prefix = decoder.new_cache();
    decoder
        .forward(
            &[&prompt[..split]],
            std::slice::from_mut(&mut prefix),
            false,
        )
        .unwrap();
    let mut a = prefix.clone();
    let mut b = prefix.clone();
    let other: Vec<u32> = prompt[split..].iter().rev().copied().collect();
    let out = decoder
        .forward(
            &[&prompt[split..], &other],
            &mut [a.clone(), b.clone()],
            false,
        )
        .unwrap();
    // The attention products have other shapes than in one pass (72 new rows over
    // 132 keys instead of 132 over 132), so the matrix library may sum in another
    // order; a difference of a few ulps then flips roundings of the 8-bit activation
    // quantization downstream, which moves logits within the same noise as against
    // llama.cpp. Bit-exact reuse needs an attention kernel whose summation order does
    // not depend on chunk shapes (planned with the performance work). Here: logits
    // within the noise bound, and the same greedy text.
    let got: Vec<f32> = out[0].to_vec1().unwrap();
    let worst = got
        .iter()
        .zip(&want)
        .map(|(x, y)| (x - y).abs())
        .fold(0f32, f32::max);
    eprintln!("prefix reuse: largest logit change {worst:.4}");
    assert!(
        worst < tolerance("qwen2.5-0.5b").0,
        "prefix reuse changed a logit by {worst}"
    );
    let continue_greedy = |cache: &mut SeqCache, first: &[u32], n: usize| -> Vec<u32> {
        let mut logits = decoder
            .forward(&[first], std::slice::from_mut(cache), false)
            .unwrap()
            .remove(0);
        let mut out = Vec::new();
        for _ in 0..n {
            let t = logits
                .argmax(D::Minus1)
                .unwrap()
                .to_scalar::<u32>()
                .unwrap();
            out.push(t);
            logits = decoder
                .forward(&[&[t]], std::slice::from_mut(cache), false)
                .unwrap()
                .remove(0);
        }
        out
    };
    assert_eq!(
        continue_greedy(&mut a, &prompt[split..], 32),
        greedy(&decoder, &prompt, 32),
        "same greedy text"
    );
    // The other clone is untouched by its sibling's tokens.
    assert_eq!(b.len(), split);
    let _ = decoder
        .forward(&[&other], std::slice::from_mut(&mut b), false)
        .unwrap();
    assert_eq!(b.len(), prompt.len());
}

#[test]
fn as_accurate_as_llama_cpp_against_an_independent_exact_reference() {
    // The exact reference is not ours: Hugging Face transformers on the same GGUF files,
    // every weight dequantized into float64, its own Llama / Qwen2 code in float64
    // (data/transformers_logits.json, reference/transformers_logits.py). Against it:
    // our decoder with dequantized weights agrees to float32 rounding, and our quantized
    // decoder is no further from it than llama.cpp is.
    let fx = fixture();
    let exact: Value = serde_json::from_str(include_str!("data/transformers_logits.json")).unwrap();
    assert_eq!(exact["dtype"], "float64");
    for name in ["smollm2-135m", "qwen2.5-0.5b"] {
        let path = registry::find(name).unwrap().installed().unwrap();
        let file_name = path.file_name().unwrap().to_str().unwrap();
        let file = GgufFile::open(&path).unwrap();
        let quantized = Decoder::from_gguf(&file, &Device::Cpu).unwrap();
        let dense = Decoder::from_gguf_dense(&file, &Device::Cpu).unwrap();
        let m = &fx["models"][file_name];
        let ex = &exact["models"][file_name]["cases"];
        let (mut ours, mut theirs, mut dense_err) = (Vec::new(), Vec::new(), Vec::new());
        for (c, case) in m["cases"].as_array().unwrap().iter().enumerate() {
            let prompt = ids(&case["ids"]);
            let run = |d: &Decoder| -> Vec<Vec<f32>> {
                let mut cache = d.new_cache();
                d.forward(&[&prompt], std::slice::from_mut(&mut cache), true)
                    .unwrap()
                    .remove(0)
                    .to_vec2()
                    .unwrap()
            };
            let (q, e) = (run(&quantized), run(&dense));
            for pos in 0..prompt.len() {
                let reference = ex[c]["top_logits"][pos].as_array().unwrap();
                for ((id, v), r) in ids(&case["top_ids"][pos])
                    .iter()
                    .zip(case["top_logits"][pos].as_array().unwrap())
                    .zip(reference)
                {
                    let exact = r.as_f64().unwrap() as f32;
                    ours.push((q[pos][*id as usize] - exact).abs());
                    dense_err.push((e[pos][*id as usize] - exact).abs());
                    theirs.push((v.as_f64().unwrap() as f32 - exact).abs());
                }
            }
        }
        let median = |v: &mut Vec<f32>| {
            v.sort_by(|a, b| a.total_cmp(b));
            v[v.len() / 2]
        };
        let dense_max = dense_err.iter().copied().fold(0f32, f32::max);
        let (mo, mt, md) = (
            median(&mut ours),
            median(&mut theirs),
            median(&mut dense_err),
        );
        eprintln!(
            "{name}: median error against transformers (float64): ours quantized {mo:.4}, \
             llama.cpp {mt:.4}, ours dequantized {md:.2e} (largest {dense_max:.2e})"
        );
        assert!(
            dense_max < 1e-3,
            "{name}: our dequantized decoder is {dense_max} from transformers"
        );
        assert!(
            mo <= 1.25 * mt + 0.01,
            "{name}: ours {mo} vs llama.cpp {mt}"
        );
    }
}
