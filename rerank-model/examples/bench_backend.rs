//! Times the candle backend on token-id prompts given in a JSON file, for
//! `bench/model_bench.py` (which runs llama.cpp on the same prompts side by side).
//!
//! usage: bench_backend MODEL.gguf PROMPTS.json NEW_TOKENS [--batch] [--dense] [--glibc-defaults]
//! PROMPTS.json: {"prompts": [[token ids], ...]}. Prints one JSON line per prompt (or
//! one for the whole batch with --batch): prompt tokens, prefill and decode seconds.

use std::time::Instant;

use candle_core::{Device, D};
use rerank_model::candle::{Decoder, SeqCache};
use rerank_model::GgufFile;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    // --glibc-defaults leaves malloc as it is, to measure what `keep_freed_memory` saves.
    if !args.iter().any(|a| a == "--glibc-defaults") {
        rerank_model::candle::keep_freed_memory();
    }
    let (model, prompts, new_tokens) = (&args[1], &args[2], args[3].parse::<usize>().unwrap());
    let batch = args.iter().any(|a| a == "--batch");
    let file = GgufFile::open(model).unwrap();
    let decoder = if args.iter().any(|a| a == "--dense") {
        Decoder::from_gguf_dense(&file, &Device::Cpu).unwrap()
    } else {
        Decoder::from_gguf(&file, &Device::Cpu).unwrap()
    };
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(prompts).unwrap()).unwrap();
    let prompts: Vec<Vec<u32>> = v["prompts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            p.as_array()
                .unwrap()
                .iter()
                .map(|t| t.as_u64().unwrap() as u32)
                .collect()
        })
        .collect();
    let groups: Vec<Vec<&Vec<u32>>> = if batch {
        vec![prompts.iter().collect()]
    } else {
        prompts.iter().map(|p| vec![p]).collect()
    };
    for group in groups {
        let refs: Vec<&[u32]> = group.iter().map(|p| p.as_slice()).collect();
        let mut caches: Vec<SeqCache> = refs.iter().map(|_| decoder.new_cache()).collect();
        let t = Instant::now();
        let mut logits = decoder.forward(&refs, &mut caches, false).unwrap();
        let prefill = t.elapsed().as_secs_f64();
        let t = Instant::now();
        for _ in 0..new_tokens {
            let next: Vec<[u32; 1]> = logits
                .iter()
                .map(|l| [l.argmax(D::Minus1).unwrap().to_scalar::<u32>().unwrap()])
                .collect();
            let refs: Vec<&[u32]> = next.iter().map(|n| n.as_slice()).collect();
            logits = decoder.forward(&refs, &mut caches, false).unwrap();
        }
        let decode = t.elapsed().as_secs_f64();
        let tokens: usize = refs.iter().map(|r| r.len()).sum();
        println!(
            "{{\"sequences\": {}, \"prompt_tokens\": {tokens}, \"prefill_s\": {prefill:.4}, \"new_tokens\": {}, \"decode_s\": {decode:.4}}}",
            refs.len(),
            new_tokens * refs.len()
        );
    }
}
