//! Reading GGUF files: metadata, the model's hyper-parameters, its tokenizer (built
//! from the file's own vocabulary and merges) and its chat template.

use std::fs::File;
use std::path::{Path, PathBuf};

use candle_core::quantized::gguf_file::{Content, Value};
use candle_core::quantized::tokenizer::TokenizerFromGguf;

use crate::error::{candle_message, Error, Result};

/// An opened GGUF file: its header (metadata and tensor index), not yet the weights.
pub struct GgufFile {
    path: PathBuf,
    content: Content,
}

impl std::fmt::Debug for GgufFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GgufFile")
            .field("path", &self.path)
            .field("tensors", &self.content.tensor_infos.len())
            .finish()
    }
}

/// Hyper-parameters of a decoder read from GGUF metadata.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct ModelInfo {
    /// `general.architecture` (`llama`, `qwen2`, `qwen3`, `gemma3`).
    pub architecture: String,
    /// `general.name`, if present.
    pub name: Option<String>,
    /// Transformer blocks.
    pub layers: usize,
    /// Hidden size.
    pub hidden: usize,
    /// Feed-forward size.
    pub feed_forward: usize,
    /// Attention heads.
    pub heads: usize,
    /// Key/value heads (grouped-query attention).
    pub kv_heads: usize,
    /// Head dimension.
    pub head_dim: usize,
    /// Context length the model was trained for.
    pub context_length: usize,
    /// RoPE base frequency.
    pub rope_base: f64,
    /// RMSNorm epsilon.
    pub rms_eps: f64,
    /// Vocabulary size.
    pub vocab: usize,
    /// Quantization types of the weights, with tensor counts.
    pub quantizations: Vec<(String, usize)>,
}

impl ModelInfo {
    /// A tiny shape of `architecture` (`llama`, `qwen2`, `qwen3`): 2 blocks, hidden
    /// 64, 4 query heads and 2 key/value heads of 16 (24 for qwen3, whose head size
    /// is not hidden / heads), feed-forward 96, 300 tokens. With
    /// [`crate::candle::Decoder::random`], a model for tests.
    pub fn tiny(architecture: &str) -> ModelInfo {
        ModelInfo {
            architecture: architecture.into(),
            name: Some(format!("tiny-{architecture}")),
            layers: 2,
            hidden: 64,
            feed_forward: 96,
            heads: 4,
            kv_heads: 2,
            head_dim: if architecture == "qwen3" { 24 } else { 16 },
            context_length: 512,
            rope_base: 10_000.0,
            rms_eps: 1e-6,
            vocab: 300,
            quantizations: Vec::new(),
        }
    }
}

impl GgufFile {
    /// Opens and validates the header of a GGUF file.
    pub fn open(path: impl AsRef<Path>) -> Result<GgufFile> {
        let path = path.as_ref();
        let bad = |message: String| Error::Gguf {
            path: path.to_path_buf(),
            message,
        };
        let mut f = File::open(path).map_err(|cause| Error::Io {
            path: path.to_path_buf(),
            cause,
        })?;
        let len = f
            .metadata()
            .map_err(|cause| Error::Io {
                path: path.to_path_buf(),
                cause,
            })?
            .len();
        let mut magic = [0u8; 4];
        let read_magic = std::io::Read::read_exact(&mut f, &mut magic);
        if read_magic.is_err() || &magic != b"GGUF" {
            return Err(bad(format!(
                "it does not start with the bytes 'GGUF' ({len} bytes, first {:?}); give a GGUF \
                 model file, or a safetensors folder",
                String::from_utf8_lossy(&magic[..(len as usize).min(4)])
            )));
        }
        std::io::Seek::rewind(&mut f).map_err(|cause| Error::Io {
            path: path.to_path_buf(),
            cause,
        })?;
        let content = Content::read(&mut f).map_err(|e| bad(candle_message(&e)))?;
        // Truncated files: every tensor must lie inside the file.
        for (name, info) in &content.tensor_infos {
            let size = info.shape.elem_count() / info.ggml_dtype.block_size()
                * info.ggml_dtype.type_size();
            let end = content.tensor_data_offset + info.offset + size as u64;
            if end > len {
                return Err(bad(format!(
                    "truncated: tensor {name} ends at byte {end} but the file has {len} bytes"
                )));
            }
        }
        Ok(GgufFile {
            path: path.to_path_buf(),
            content,
        })
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The parsed header.
    pub fn content(&self) -> &Content {
        &self.content
    }

    /// Number of weights (elements of every tensor).
    pub fn parameter_count(&self) -> u64 {
        self.content
            .tensor_infos
            .values()
            .map(|t| t.shape.elem_count() as u64)
            .sum()
    }

    /// A metadata value.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.content.metadata.get(key)
    }

    fn get_str(&self, key: &str) -> Option<String> {
        self.get(key).and_then(|v| v.to_string().ok()).cloned()
    }

    fn get_usize(&self, key: &str) -> Option<usize> {
        self.get(key)
            .and_then(|v| v.to_u64().ok().or_else(|| v.to_u32().ok().map(u64::from)))
            .map(|v| v as usize)
    }

    fn get_f64(&self, key: &str) -> Option<f64> {
        self.get(key)
            .and_then(|v| v.to_f32().ok().map(f64::from).or_else(|| v.to_f64().ok()))
    }

    /// The model's architecture and sizes.
    pub fn info(&self) -> Result<ModelInfo> {
        let arch = self
            .get_str("general.architecture")
            .ok_or_else(|| Error::Gguf {
                path: self.path.clone(),
                message: "no general.architecture".into(),
            })?;
        let key = |k: &str| format!("{arch}.{k}");
        let need = |k: &str| {
            self.get_usize(&key(k)).ok_or_else(|| Error::Gguf {
                path: self.path.clone(),
                message: format!("no {}", key(k)),
            })
        };
        let heads = need("attention.head_count")?;
        let hidden = need("embedding_length")?;
        let mut quant: std::collections::BTreeMap<String, usize> = Default::default();
        for info in self.content.tensor_infos.values() {
            *quant.entry(format!("{:?}", info.ggml_dtype)).or_default() += 1;
        }
        let vocab = match self.get("tokenizer.ggml.tokens") {
            Some(Value::Array(a)) => a.len(),
            _ => 0,
        };
        Ok(ModelInfo {
            name: self.get_str("general.name"),
            layers: need("block_count")?,
            hidden,
            feed_forward: need("feed_forward_length")?,
            heads,
            kv_heads: self
                .get_usize(&key("attention.head_count_kv"))
                .unwrap_or(heads),
            head_dim: self
                .get_usize(&key("attention.key_length"))
                .unwrap_or(hidden / heads),
            context_length: self.get_usize(&key("context_length")).unwrap_or(2048),
            rope_base: self.get_f64(&key("rope.freq_base")).unwrap_or(10_000.0),
            rms_eps: self
                .get_f64(&key("attention.layer_norm_rms_epsilon"))
                .unwrap_or(1e-6),
            vocab,
            quantizations: quant.into_iter().collect(),
            architecture: arch,
        })
    }

    /// The chat template stored in the file (`tokenizer.chat_template`), if any.
    pub fn chat_template_source(&self) -> Option<String> {
        self.get_str("tokenizer.chat_template")
    }

    /// The string of a special token by its metadata key (`bos`, `eos`).
    pub fn special_token(&self, which: &str) -> Option<String> {
        let id = self.get_usize(&format!("tokenizer.ggml.{which}_token_id"))?;
        match self.get("tokenizer.ggml.tokens") {
            Some(Value::Array(a)) => a.get(id).and_then(|v| v.to_string().ok()).cloned(),
            _ => None,
        }
    }

    /// The chat template, compiled, with the file's BOS and EOS tokens.
    pub fn chat_template(&self) -> Result<Option<rerank_prompt::ChatTemplate>> {
        match self.chat_template_source() {
            None => Ok(None),
            Some(src) => Ok(Some(rerank_prompt::ChatTemplate::new(
                src,
                self.special_token("bos").unwrap_or_default(),
                self.special_token("eos").unwrap_or_default(),
            )?)),
        }
    }

    /// The tokenizer built from the file's vocabulary and merges (byte-level BPE, as
    /// `tokenizer.ggml.model = gpt2` files carry: Qwen, SmolLM2, Llama 3).
    ///
    /// candle's `TokenizerFromGguf` builds the BPE model; the pre-tokenizer is then set
    /// from `tokenizer.ggml.pre` the way llama.cpp splits text for that type. Types not
    /// checked against llama.cpp are refused rather than tokenized subtly wrong.
    pub fn tokenizer(&self) -> Result<tokenizers::Tokenizer> {
        use tokenizers::decoders::byte_level::ByteLevel as ByteLevelDecoder;
        use tokenizers::pre_tokenizers::byte_level::ByteLevel;
        use tokenizers::pre_tokenizers::digits::Digits;
        use tokenizers::pre_tokenizers::sequence::Sequence;
        use tokenizers::pre_tokenizers::PreTokenizerWrapper;
        use tokenizers::processors::byte_level::ByteLevel as ByteLevelProcessor;

        let unsupported = |what: String| {
            Error::Unsupported(format!(
                "{}: {what}; give a safetensors folder with its tokenizer.json instead",
                self.path.display()
            ))
        };
        let model = self.get_str("tokenizer.ggml.model").unwrap_or_default();
        if model != "gpt2" {
            return Err(unsupported(format!("tokenizer model '{model}' (only byte-level BPE, 'gpt2', is built from GGUF metadata)")));
        }
        let pre = self
            .get_str("tokenizer.ggml.pre")
            .unwrap_or_else(|| "default".into());
        let mut tok = tokenizers::Tokenizer::from_gguf(&self.content)
            .map_err(|e| Error::Tokenizer(format!("{}: {e}", self.path.display())))?;
        match pre.as_str() {
            // candle's pipelines for these match llama.cpp's.
            "qwen2" | "llama3" | "llama-bpe" | "smaug-bpe" => {}
            // llama.cpp: every digit alone, then GPT-2's split, no prefix space.
            "smollm" => {
                let seq: PreTokenizerWrapper = Sequence::new(vec![
                    Digits::new(true).into(),
                    ByteLevel::new(false, true, true).into(),
                ])
                .into();
                tok.with_pre_tokenizer(Some(seq));
                tok.with_decoder(Some(ByteLevelDecoder::new(false, true, true)));
                tok.with_post_processor(Some(ByteLevelProcessor::new(false, true, true)));
            }
            // llama.cpp's GPT-2 split never adds a prefix space.
            "gpt-2" | "gpt2" | "default" => {
                tok.with_pre_tokenizer(Some(ByteLevel::new(false, true, true)));
                tok.with_decoder(Some(ByteLevelDecoder::new(false, true, true)));
                tok.with_post_processor(Some(ByteLevelProcessor::new(false, true, true)));
            }
            other => {
                return Err(unsupported(format!(
                    "pre-tokenizer type '{other}' is not supported yet"
                )))
            }
        }
        Ok(tok)
    }
}
