//! Writes the seeded LoRA adapter that `tests/reference/peft_logits.py` loads with PEFT
//! and `tests/lora.rs` rebuilds: rank 4, α 8, all seven projections, `A` from seed 7,
//! `B` uniform in ±0.05 from seed 8, in PEFT's format.
//!
//! usage: cargo run --release -p rerank-model --example write_adapter -- MODEL.gguf OUT_DIR

use candle_core::Device;
use rerank_model::candle::{Adapter, Decoder, LoraConfig};
use rerank_model::GgufFile;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [model, out] = args.as_slice() else {
        return Err("usage: write_adapter MODEL.gguf OUT_DIR".into());
    };
    let file = GgufFile::open(std::path::Path::new(model))?;
    let decoder = Decoder::from_gguf(&file, &Device::Cpu)?;
    let config = LoraConfig {
        rank: 4,
        alpha: 8.0,
        ..LoraConfig::default()
    };
    let adapter = Adapter::new(config, &decoder, 7)?;
    adapter.randomize_b(8, 0.05)?;
    adapter.save_peft(std::path::Path::new(out), model, &decoder)?;
    println!("{} parameters written to {out}", adapter.parameters());
    Ok(())
}
