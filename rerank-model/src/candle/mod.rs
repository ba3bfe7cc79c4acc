//! The candle backend: a decoder written on candle-core (see [`model`]), loaded from
//! GGUF, with batched prefill and decoding over packed sequences.

mod backend;
mod causal_softmax;
mod decode_attention;
mod dense_matvec;
mod exp;
mod kquant_dot;
pub mod lora;
mod malloc;
pub mod model;
pub mod ops;
mod parallel;
pub mod peft;
mod qmatvec;
#[cfg(target_arch = "x86_64")]
mod simd;
mod token_logprobs;

pub use crate::error::candle_message;
pub use backend::{CandleBackend, Weights, LOGPROB_PASS_TOKENS};
pub use lora::{Adapter, LoraConfig, LoraPair, Target};
pub use malloc::keep_freed_memory;
pub use model::{Decoder, SeqCache};
pub use token_logprobs::{LogprobGradients, Scored};

use candle_core::Device;

/// The device to run on: CPU unless built with `cuda` (or `metal`) and one is present.
pub fn default_device() -> Device {
    #[cfg(feature = "cuda")]
    if let Ok(d) = Device::new_cuda(0) {
        return d;
    }
    #[cfg(feature = "metal")]
    if let Ok(d) = Device::new_metal(0) {
        return d;
    }
    Device::Cpu
}
