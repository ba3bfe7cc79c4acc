//! [`CandleBackend`]: the [`Backend`] trait over the candle decoder.

use std::path::Path;
use std::time::Instant;

use candle_core::{Device, Tensor, D};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rerank_prompt::ChatTemplate;

use super::model::{Decoder, SeqCache};
use super::token_logprobs::Scored;
use crate::backend::{
    Backend, BackendInfo, FinishReason, Generation, GenerationRequest, LogprobRequest, Prompt,
    SamplingParams, Timings,
};
use crate::error::{candle_error, Error, Result};
use crate::gguf::GgufFile;
use crate::source::ModelSource;

/// A log-probability request's prompt tokens and each continuation's tokens.
type EncodedRequest = (Vec<u32>, Vec<Vec<u32>>);

/// Shared prompt prefixes shorter than this are not worth a separate prefill.
const MIN_SHARED_PREFIX: usize = 32;

/// How a GGUF model's weights are held.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Weights {
    /// As stored: small and fast. Decoding steps multiply the quantized weights by
    /// activation rows quantized to 8 bits, as llama.cpp does (this crate's AVX2
    /// kernels for Q4_1, Q5_0 and Q8_0, candle's for the rest); prompts of 16 tokens or
    /// more dequantize each weight on the fly for an exact dense product.
    #[default]
    Quantized,
    /// Dequantized to f32 once at load: four to eight times the memory and exact
    /// products everywhere (a reference, and the starting point for training). Not
    /// faster: measured on 2 cores, batched decoding is as fast as quantized and
    /// single-sequence decoding three times slower (`bench/model_bench.py --weights
    /// quantized dense`).
    Dense,
}

/// A GGUF model run by the candle decoder.
///
/// On the CPU, call [`super::keep_freed_memory`] once at the start of the program
/// (the `rerank` command line and facade do): with glibc's default settings every
/// layer's buffers are fresh pages from the kernel, which costs about 40% more time on
/// long prompts.
pub struct CandleBackend {
    name: String,
    decoder: Decoder,
    tokenizer: tokenizers::Tokenizer,
    chat: Option<ChatTemplate>,
    /// End-of-generation tokens (end of turn, end of text).
    eog: Vec<u32>,
    /// Reuse a prompt prefix shared by a whole batch (on by default).
    pub share_prefix: bool,
}

impl std::fmt::Debug for CandleBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CandleBackend")
            .field("name", &self.name)
            .field("eog", &self.eog)
            .finish()
    }
}

impl CandleBackend {
    /// Loads a GGUF file onto `device`, its weights kept quantized.
    pub fn from_gguf(path: impl AsRef<Path>, device: &Device) -> Result<CandleBackend> {
        Self::from_gguf_with(path, device, Weights::Quantized)
    }

    /// Loads a GGUF file onto `device`, holding the weights as `weights` says.
    pub fn from_gguf_with(
        path: impl AsRef<Path>,
        device: &Device,
        weights: Weights,
    ) -> Result<CandleBackend> {
        let file = GgufFile::open(path.as_ref())?;
        let decoder = match weights {
            Weights::Dense => Decoder::from_gguf_dense(&file, device)?,
            Weights::Quantized => Decoder::from_gguf(&file, device)?,
        };
        let tokenizer = file.tokenizer()?;
        let chat = file.chat_template()?;
        let mut eog: Vec<u32> = Vec::new();
        if let Some(Ok(id)) = file.get("tokenizer.ggml.eos_token_id").map(|v| v.to_u32()) {
            eog.push(id);
        }
        let name = file
            .get("general.name")
            .and_then(|v| v.to_string().ok().cloned())
            .unwrap_or_else(|| {
                path.as_ref()
                    .file_stem()
                    .map_or("model".into(), |s| s.to_string_lossy().into_owned())
            });
        Ok(Self::assemble(name, decoder, tokenizer, chat, eog, &[]))
    }

    /// Loads any [`ModelSource`]: a GGUF file, or a Hugging Face folder
    /// (`config.json`, `*.safetensors`, `tokenizer.json`, and the chat template from
    /// `tokenizer_config.json`).
    pub fn load(source: &ModelSource, device: &Device) -> Result<CandleBackend> {
        Self::load_with(source, device, Weights::Quantized)
    }

    /// [`CandleBackend::load`] with a choice of weight handling for GGUF files
    /// (safetensors weights are always held as f32).
    pub fn load_with(
        source: &ModelSource,
        device: &Device,
        weights: Weights,
    ) -> Result<CandleBackend> {
        match source {
            ModelSource::Gguf(p) => Self::from_gguf_with(p, device, weights),
            ModelSource::Safetensors(dir) => Self::from_safetensors(dir, device),
        }
    }

    /// Loads a Hugging Face model folder.
    pub fn from_safetensors(dir: &Path, device: &Device) -> Result<CandleBackend> {
        let decoder = Decoder::from_safetensors(dir, device)?;
        let tok_path = dir.join("tokenizer.json");
        let tokenizer = tokenizers::Tokenizer::from_file(&tok_path)
            .map_err(|e| Error::Tokenizer(format!("{}: {e}", tok_path.display())))?;
        let cfg_path = dir.join("tokenizer_config.json");
        let chat = if cfg_path.is_file() {
            match ChatTemplate::from_tokenizer_config(&cfg_path) {
                Ok(t) => Some(t),
                Err(rerank_prompt::Error::ChatTemplate(m)) if m.contains("no chat_template") => {
                    None
                }
                Err(e) => return Err(e.into()),
            }
        } else {
            None
        };
        let mut eog: Vec<u32> = Vec::new();
        if let Ok(text) = std::fs::read_to_string(dir.join("config.json")) {
            if let Ok(c) = serde_json::from_str::<serde_json::Value>(&text) {
                match &c["eos_token_id"] {
                    serde_json::Value::Number(n) => eog.extend(n.as_u64().map(|v| v as u32)),
                    serde_json::Value::Array(a) => {
                        eog.extend(a.iter().filter_map(|v| v.as_u64()).map(|v| v as u32))
                    }
                    _ => {}
                }
            }
        }
        let name = dir
            .file_name()
            .map_or("model".into(), |s| s.to_string_lossy().into_owned());
        Ok(Self::assemble(
            name,
            decoder,
            tokenizer,
            chat,
            eog,
            &["</s>"],
        ))
    }

    /// The backend from its parts; `eog` holds the model's declared end-of-sequence
    /// ids, to which the vocabulary's end-of-turn tokens (and `extra_eog`) are added.
    fn assemble(
        name: String,
        decoder: Decoder,
        tokenizer: tokenizers::Tokenizer,
        chat: Option<ChatTemplate>,
        mut eog: Vec<u32>,
        extra_eog: &[&str],
    ) -> CandleBackend {
        add_end_of_turn_tokens(&tokenizer, extra_eog, &mut eog);
        CandleBackend {
            name,
            decoder,
            tokenizer,
            chat,
            eog,
            share_prefix: true,
        }
    }

    /// The decoder.
    pub fn decoder(&self) -> &Decoder {
        &self.decoder
    }

    /// The decoder, to set or switch its adapter ([`Decoder::set_adapter`]).
    pub fn decoder_mut(&mut self) -> &mut Decoder {
        &mut self.decoder
    }

    /// Applies the PEFT LoRA adapter in `dir` (`adapter_config.json` and
    /// `adapter_model.safetensors`) to every generation from now on. On quantized
    /// weights the low-rank update runs beside the quantized products, so the fast
    /// path stays fast.
    pub fn load_adapter(&mut self, dir: &Path) -> Result<()> {
        let adapter = super::Adapter::load_peft(dir, &self.decoder)?;
        self.decoder.set_adapter(Some(adapter))
    }

    /// The tokenizer.
    pub fn tokenizer(&self) -> &tokenizers::Tokenizer {
        &self.tokenizer
    }

    fn encode(&self, text: &str) -> Result<Vec<u32>> {
        crate::TokenizerCounter(&self.tokenizer)
            .encode(text)
            .map_err(|e| Error::Tokenizer(e.to_string()))
    }

    fn decode(&self, ids: &[u32]) -> String {
        self.tokenizer.decode(ids, false).unwrap_or_default()
    }

    /// The prompt as text: chat messages through the chat template.
    pub fn render(&self, prompt: &Prompt) -> Result<String> {
        match prompt {
            Prompt::Text(t) => Ok(t.clone()),
            Prompt::Chat(messages) => match &self.chat {
                Some(t) => Ok(t.render(messages, true)?),
                None => Err(Error::Unsupported(format!(
                    "{} has no chat template (a base model); give it text prompts",
                    self.name
                ))),
            },
        }
    }

    /// The end-of-generation token ids, the model's declared end-of-sequence token
    /// first. A completion that ended with one ([`FinishReason::EndOfText`]) does not
    /// include it in its `token_ids`; a trainer appends it so the model learns to stop.
    pub fn end_of_generation_ids(&self) -> &[u32] {
        &self.eog
    }

    /// The token ids the model is given for `prompt` (rendered with the chat
    /// template, as [`Backend::generate`] renders it): what a trainer scores a
    /// sampled completion after.
    pub fn prompt_token_ids(&self, prompt: &Prompt) -> Result<Vec<u32>> {
        self.prompt_ids(prompt, 0)
    }

    fn prompt_ids(&self, prompt: &Prompt, max_new: usize) -> Result<Vec<u32>> {
        let ids = self.encode(&self.render(prompt)?)?;
        let ctx = self.decoder.info().context_length;
        if ids.is_empty() {
            return Err(Error::Unsupported("the prompt is empty".into()));
        }
        if ids.len() + max_new > ctx {
            return Err(Error::Unsupported(format!(
                "the prompt has {} tokens and {max_new} more may be generated, but {} holds {ctx}; shorten the passages or the window",
                ids.len(),
                self.name
            )));
        }
        Ok(ids)
    }
}

/// Adds the ids of the end-of-turn and end-of-text tokens the vocabulary has (the
/// tokens chat models end an answer with), and of `extra` ones, to `eog`.
fn add_end_of_turn_tokens(tokenizer: &tokenizers::Tokenizer, extra: &[&str], eog: &mut Vec<u32>) {
    let common = [
        "<|im_end|>",
        "<|endoftext|>",
        "<|eot_id|>",
        "<end_of_turn>",
        "<|end|>",
    ];
    for special in common.iter().chain(extra) {
        if let Some(id) = tokenizer.token_to_id(special) {
            if !eog.contains(&id) {
                eog.push(id);
            }
        }
    }
}

/// The next token from `logits`; the tokens of `banned` are never chosen (the
/// end-of-generation tokens before `min_new_tokens`).
fn sample(
    logits: &Tensor,
    params: &SamplingParams,
    rng: &mut ChaCha8Rng,
    banned: &[u32],
) -> candle_core::Result<u32> {
    if params.temperature <= 0.0 && banned.is_empty() {
        return logits.argmax(D::Minus1)?.to_scalar::<u32>();
    }
    let mut v: Vec<f32> = if params.temperature <= 0.0 {
        logits.to_vec1()?
    } else {
        (logits / params.temperature as f64)?.to_vec1()?
    };
    for &t in banned {
        if let Some(x) = v.get_mut(t as usize) {
            *x = f32::NEG_INFINITY;
        }
    }
    if params.temperature <= 0.0 {
        let best = (0..v.len()).fold(0, |b, i| if v[i] > v[b] { i } else { b });
        return Ok(best as u32);
    }
    let mut idx: Vec<usize> = (0..v.len()).collect();
    idx.sort_unstable_by(|&a, &b| v[b].total_cmp(&v[a]));
    if params.top_k > 0 {
        idx.truncate(params.top_k);
    }
    let max = v[idx[0]];
    let mut probs: Vec<f32> = idx.iter().map(|&i| (v[i] - max).exp()).collect();
    let sum: f32 = probs.iter().sum();
    probs.iter_mut().for_each(|p| *p /= sum);
    if params.top_p < 1.0 {
        let mut acc = 0.0;
        let keep = probs
            .iter()
            .position(|p| {
                acc += p;
                acc >= params.top_p
            })
            .map_or(probs.len(), |i| i + 1);
        probs.truncate(keep);
        idx.truncate(keep);
        let s: f32 = probs.iter().sum();
        probs.iter_mut().for_each(|p| *p /= s);
    }
    let mut r: f32 = rng.gen();
    for (p, &i) in probs.iter().zip(&idx) {
        if r < *p {
            return Ok(i as u32);
        }
        r -= p;
    }
    Ok(*idx.last().expect("at least one token") as u32)
}

struct Active {
    slot: usize,
    cache: SeqCache,
    generated: Vec<u32>,
    next: u32,
    rng: ChaCha8Rng,
    params: SamplingParams,
}

impl Backend for CandleBackend {
    type Error = Error;

    fn info(&self) -> BackendInfo {
        BackendInfo {
            name: self.name.clone(),
            context_length: self.decoder.info().context_length,
        }
    }

    fn generate(&mut self, requests: &[GenerationRequest]) -> Vec<Result<Generation>> {
        let mut results: Vec<Option<Result<Generation>>> =
            (0..requests.len()).map(|_| None).collect();
        let mut prompts: Vec<(usize, Vec<u32>)> = Vec::new();
        for (i, r) in requests.iter().enumerate() {
            match self.prompt_ids(&r.prompt, r.params.max_new_tokens) {
                Ok(ids) => prompts.push((i, ids)),
                Err(e) => results[i] = Some(Err(e)),
            }
        }
        if !prompts.is_empty() {
            if let Err(e) = self.run(requests, &prompts, &mut results) {
                let msg = e.to_string();
                for (i, _) in &prompts {
                    if results[*i].is_none() {
                        results[*i] = Some(Err(Error::Unsupported(msg.clone())));
                    }
                }
            }
        }
        results
            .into_iter()
            .map(|r| r.expect("every request answered"))
            .collect()
    }

    fn count_tokens(&self, text: &str) -> Result<usize> {
        Ok(self.encode(text)?.len())
    }

    fn truncate_tokens(&self, text: &str, max: usize) -> Result<String> {
        crate::TokenizerCounter(&self.tokenizer)
            .truncate(text, max)
            .map_err(|e| Error::Tokenizer(e.to_string()))
    }

    fn chat_template(&self) -> Option<&ChatTemplate> {
        self.chat.as_ref()
    }

    /// The prompt of each request is computed once for all its continuations, and
    /// requests run packed together (up to [`LOGPROB_PASS_TOKENS`] prompt tokens per
    /// pass), through [`Decoder::token_logprobs`], the vocabulary projection only at
    /// the rows that predict a continuation's tokens.
    fn logprobs(&mut self, requests: &[LogprobRequest]) -> Vec<Result<Vec<f32>>> {
        let ctx = self.decoder.info().context_length;
        // Encode; a request whose prompt or continuations cannot be used fails alone.
        let encoded: Vec<Result<EncodedRequest>> = requests
            .iter()
            .map(|r| {
                let prompt = self.prompt_ids(&r.prompt, 0)?;
                let conts = r
                    .continuations
                    .iter()
                    .map(|c| self.encode(c))
                    .collect::<Result<Vec<_>>>()?;
                let longest = conts.iter().map(Vec::len).max().unwrap_or(0);
                if prompt.len() + longest > ctx {
                    return Err(Error::Unsupported(format!(
                        "the prompt has {} tokens and a continuation {longest} more, but {} holds {ctx}; shorten the passages or the window",
                        prompt.len(),
                        self.name
                    )));
                }
                Ok((prompt, conts))
            })
            .collect();
        let mut out: Vec<Option<Result<Vec<f32>>>> = encoded
            .iter()
            .map(|e| match e {
                Err(err) => Some(Err(Error::Unsupported(err.to_string()))),
                Ok(_) => None,
            })
            .collect();
        let ready: Vec<usize> = (0..requests.len()).filter(|&i| out[i].is_none()).collect();
        let mut at = 0;
        while at < ready.len() {
            // One pass: requests until their prompts reach the budget (at least one).
            let mut end = at;
            let mut tokens = 0;
            while end < ready.len() {
                let n = encoded[ready[end]].as_ref().map_or(0, |(p, _)| p.len());
                if end > at && tokens + n > LOGPROB_PASS_TOKENS {
                    break;
                }
                tokens += n;
                end += 1;
            }
            let pass = &ready[at..end];
            at = end;
            // Every non-empty continuation after its prompt; sequences of one request
            // share the prompt, which the decoder then computes once.
            let (seqs, froms): (Vec<Vec<u32>>, Vec<usize>) =
                pass.iter()
                    .flat_map(|&i| {
                        let (prompt, conts) = encoded[i].as_ref().expect("encoded");
                        conts.iter().filter(|c| !c.is_empty()).map(move |c| {
                            ([prompt.as_slice(), c.as_slice()].concat(), prompt.len())
                        })
                    })
                    .unzip();
            let scored: Vec<Scored<'_>> = seqs
                .iter()
                .zip(&froms)
                .map(|(ids, &from)| Scored { ids, from })
                .collect();
            let result = if scored.is_empty() {
                Ok(Vec::new())
            } else {
                self.decoder.token_logprobs(&scored)
            };
            match result {
                Err(e) => {
                    for &i in pass {
                        out[i] = Some(Err(Error::Unsupported(e.to_string())));
                    }
                }
                Ok(tensors) => {
                    let mut sums = tensors.iter().map(|t| {
                        t.to_dtype(candle_core::DType::F32)
                            .and_then(|t| t.to_vec1::<f32>())
                            .map(|v| v.iter().sum::<f32>())
                            .map_err(candle_error)
                    });
                    for &i in pass {
                        let (_, conts) = encoded[i].as_ref().expect("encoded");
                        let scores: Result<Vec<f32>> = conts
                            .iter()
                            .map(|c| {
                                if c.is_empty() {
                                    Ok(0.0)
                                } else {
                                    sums.next().expect("one sum per scored continuation")
                                }
                            })
                            .collect();
                        out[i] = Some(scores);
                    }
                }
            }
        }
        out.into_iter()
            .map(|o| o.expect("every request answered"))
            .collect()
    }
}

/// Prompt tokens per pass of [`Backend::logprobs`] (requests are packed up to this,
/// and a longer request goes alone): the same budget as [`Decoder::forward`]'s groups
/// of prompts, whose activations stay in cache where a whole batch's do not. Rows are
/// independent in every product, so the scores are the same for any packing.
pub const LOGPROB_PASS_TOKENS: usize = super::model::PASS_ROWS;

impl CandleBackend {
    fn run(
        &self,
        requests: &[GenerationRequest],
        prompts: &[(usize, Vec<u32>)],
        results: &mut [Option<Result<Generation>>],
    ) -> Result<()> {
        let prefill_start = Instant::now();
        // A prefix shared by the whole batch (system message, instruction, query) is
        // computed once and its cache cloned.
        let shared = if self.share_prefix && prompts.len() > 1 {
            let first = &prompts[0].1;
            let mut n = first.len();
            for (_, p) in &prompts[1..] {
                n = n.min(first.iter().zip(p).take_while(|(a, b)| a == b).count());
            }
            // Each prompt must keep at least one token of its own to produce logits.
            n.min(prompts.iter().map(|(_, p)| p.len() - 1).min().unwrap_or(0))
        } else {
            0
        };
        let mut base = self.decoder.new_cache();
        if shared >= MIN_SHARED_PREFIX {
            self.decoder.forward(
                &[&prompts[0].1[..shared]],
                std::slice::from_mut(&mut base),
                false,
            )?;
        }
        let skip = if shared >= MIN_SHARED_PREFIX {
            shared
        } else {
            0
        };
        let mut caches: Vec<SeqCache> = prompts.iter().map(|_| base.clone()).collect();
        let rests: Vec<&[u32]> = prompts.iter().map(|(_, p)| &p[skip..]).collect();
        let first_logits = self.decoder.prefill(&rests, &mut caches, false)?;
        let prefill_ms = prefill_start.elapsed().as_secs_f64() * 1000.0;
        let decode_start = Instant::now();
        let mut active: Vec<Active> = Vec::new();
        for ((k, (slot, _)), cache) in prompts.iter().enumerate().zip(caches) {
            let params = requests[*slot].params.clone();
            let mut rng = ChaCha8Rng::seed_from_u64(params.seed);
            let banned = if params.min_new_tokens > 0 {
                &self.eog[..]
            } else {
                &[]
            };
            let next = sample(&first_logits[k], &params, &mut rng, banned).map_err(candle_error)?;
            active.push(Active {
                slot: *slot,
                cache,
                generated: Vec::new(),
                next,
                rng,
                params,
            });
        }
        let prompt_len = |slot: usize| {
            prompts
                .iter()
                .find(|(s, _)| *s == slot)
                .map_or(0, |(_, p)| p.len())
        };
        let mut finished: Vec<(usize, Vec<u32>, FinishReason)> = Vec::new();
        loop {
            // Take the tokens just chosen; retire sequences that are done.
            let mut still = Vec::with_capacity(active.len());
            for mut a in active.drain(..) {
                let t = a.next;
                if self.eog.contains(&t) {
                    finished.push((a.slot, a.generated, FinishReason::EndOfText));
                    continue;
                }
                a.generated.push(t);
                if let Some(stop) = (!a.params.stop.is_empty())
                    .then(|| {
                        // A stop string completed by this token lies within its last
                        // `len + 1` tokens (every token is at least one byte): decode
                        // only those, not the whole text at every step.
                        let longest = a.params.stop.iter().map(|s| s.len()).max().unwrap_or(0);
                        let tail = a.generated.len().saturating_sub(longest + 2);
                        let text = self.decode(&a.generated[tail..]);
                        a.params
                            .stop
                            .iter()
                            .find(|s| text.contains(s.as_str()))
                            .cloned()
                    })
                    .flatten()
                {
                    finished.push((a.slot, a.generated, FinishReason::Stop(stop)));
                    continue;
                }
                if a.generated.len() >= a.params.max_new_tokens {
                    finished.push((a.slot, a.generated, FinishReason::Length));
                    continue;
                }
                still.push(a);
            }
            active = still;
            if active.is_empty() {
                break;
            }
            let steps: Vec<[u32; 1]> = active.iter().map(|a| [a.next]).collect();
            let refs: Vec<&[u32]> = steps.iter().map(|s| s.as_slice()).collect();
            let mut caches: Vec<SeqCache> = active
                .iter_mut()
                .map(|a| std::mem::take(&mut a.cache))
                .collect();
            let logits = self.decoder.forward(&refs, &mut caches, false)?;
            for ((a, cache), l) in active.iter_mut().zip(caches).zip(&logits) {
                a.cache = cache;
                let banned = if a.generated.len() < a.params.min_new_tokens {
                    &self.eog[..]
                } else {
                    &[]
                };
                a.next = sample(l, &a.params, &mut a.rng, banned).map_err(candle_error)?;
            }
        }
        let decode_ms = decode_start.elapsed().as_secs_f64() * 1000.0;
        for (slot, ids, finish) in finished {
            let mut text = self.decode(&ids);
            if let FinishReason::Stop(s) = &finish {
                if let Some(pos) = text.find(s.as_str()) {
                    text.truncate(pos + s.len());
                }
            }
            results[slot] = Some(Ok(Generation {
                text,
                completion_tokens: ids.len(),
                token_ids: ids,
                finish,
                prompt_tokens: prompt_len(slot),
                timings: Timings {
                    prefill_ms,
                    decode_ms,
                },
            }));
        }
        Ok(())
    }
}
