//! [`HttpBackend`]: any server with the OpenAI API (vLLM, SGLang, llama.cpp's server,
//! Ollama, hosted APIs).
//!
//! Chat prompts go to `POST {base_url}/chat/completions` (the server applies the
//! model's chat template); text prompts to `POST {base_url}/completions`. A batch from
//! the ranking algorithms becomes up to `concurrency` requests in flight at once, each
//! with a timeout and retries ([`RetryPolicy`]); a request that still fails is that
//! request's error, which the judge reports and the algorithm survives (the window or
//! set keeps its order, and the trace says why).
//!
//! Servers drop the stop string from the text they return. When a request stopped on
//! a stop string that closes a tag (`</answer>`) and the text has the matching open
//! tag without it, the stop string is put back, so that the text reads as the candle
//! backend's would.

mod retry;
mod wire;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use rand::SeedableRng;
use rerank_prompt::{ChatTemplate, Role};

pub use retry::{parse_retry_after, retryable_status, RetryPolicy};

use crate::backend::{
    Backend, BackendInfo, FinishReason, Generation, GenerationRequest, LogprobRequest, Prompt,
    Timings,
};
use crate::error::{Error, Result};

/// The most bytes read from one response body (8 MiB; a completion of thousands of
/// tokens is tens of kilobytes).
pub const MAX_RESPONSE_BYTES: u64 = 8 << 20;

/// How to reach the server.
#[derive(Clone, Debug)]
pub struct HttpConfig {
    /// Base URL including `/v1` (for example `http://127.0.0.1:8000/v1`).
    pub base_url: String,
    /// The model name the server knows.
    pub model: String,
    /// Bearer token (read it from the environment; see [`HttpConfig::api_key_from_env`]).
    pub api_key: Option<String>,
    /// Requests in flight at once.
    pub concurrency: usize,
    /// Time limit of one attempt (connection, generation and body).
    pub timeout: Duration,
    /// Retries.
    pub retry: RetryPolicy,
    /// Context size reported by [`Backend::info`] (the API does not say).
    pub context_length: usize,
    /// Extra fields added to every request body, for server-specific settings. For
    /// greedy decoding on llama-cpp-python's server, set `repeat_penalty` to 1.0: it
    /// defaults to 1.1 there, unlike the OpenAI API and vLLM.
    pub extra_body: serde_json::Map<String, serde_json::Value>,
}

impl HttpConfig {
    /// A configuration with defaults: concurrency 4, 10-minute timeout, the default
    /// retry policy, no API key.
    pub fn new(base_url: impl Into<String>, model: impl Into<String>) -> Self {
        HttpConfig {
            base_url: base_url.into().trim_end_matches('/').to_owned(),
            model: model.into(),
            api_key: None,
            concurrency: 4,
            timeout: Duration::from_secs(600),
            retry: RetryPolicy::default(),
            context_length: 32768,
            extra_body: serde_json::Map::new(),
        }
    }

    /// Takes the API key from an environment variable (unset or empty: no key).
    pub fn api_key_from_env(mut self, var: &str) -> Self {
        self.api_key = std::env::var(var).ok().filter(|k| !k.is_empty());
        self
    }
}

/// The OpenAI-compatible HTTP backend. See the module documentation.
///
/// ```no_run
/// use rerank_model::http::{HttpBackend, HttpConfig};
/// let mut config = HttpConfig::new("http://127.0.0.1:8000/v1", "le723z/Rearank-7B")
///     .api_key_from_env("OPENAI_API_KEY");
/// config.concurrency = 16;
/// let backend = HttpBackend::new(config)?;
/// # Ok::<(), rerank_model::Error>(())
/// ```
pub struct HttpBackend {
    config: HttpConfig,
    agent: ureq::Agent,
    tokenizer: Option<tokenizers::Tokenizer>,
}

/// What one attempt ended with.
enum Attempt {
    /// One generation per choice of the response.
    Done(Vec<Generation>),
    Retry {
        message: String,
        retry_after: Option<Duration>,
    },
    Fail(String),
}

impl Attempt {
    /// A retryable failure without a `Retry-After`.
    fn retry(message: impl Into<String>) -> Attempt {
        Attempt::Retry {
            message: message.into(),
            retry_after: None,
        }
    }
}

impl HttpBackend {
    /// A backend for the server in `config`. Nothing is sent until the first request.
    pub fn new(config: HttpConfig) -> Result<HttpBackend> {
        if !config.base_url.starts_with("http://") && !config.base_url.starts_with("https://") {
            return Err(Error::Unsupported(format!(
                "base URL '{}' must start with http:// or https:// (for example http://127.0.0.1:8000/v1)",
                config.base_url
            )));
        }
        if config.concurrency == 0 {
            return Err(Error::Unsupported("concurrency must be at least 1".into()));
        }
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(config.timeout))
            .max_idle_connections_per_host(config.concurrency.max(1))
            .build()
            .into();
        Ok(HttpBackend {
            config,
            agent,
            tokenizer: None,
        })
    }

    /// Counts and cuts tokens with this tokenizer (the served model's, so that passage
    /// truncation matches); without one, [`Backend::count_tokens`] fails and callers
    /// fall back to an estimate.
    pub fn with_tokenizer(mut self, tokenizer: tokenizers::Tokenizer) -> Self {
        self.tokenizer = Some(tokenizer);
        self
    }

    /// The configuration.
    pub fn config(&self) -> &HttpConfig {
        &self.config
    }

    fn endpoint(&self, prompt: &Prompt) -> String {
        match prompt {
            Prompt::Chat(_) => format!("{}/chat/completions", self.config.base_url),
            Prompt::Text(_) => format!("{}/completions", self.config.base_url),
        }
    }

    fn body(&self, req: &GenerationRequest, n: u32) -> String {
        let p = &req.params;
        let (messages, prompt) = match &req.prompt {
            Prompt::Chat(m) => (
                Some(
                    m.iter()
                        .map(|m| wire::ChatMessage {
                            role: match m.role {
                                Role::System => "system",
                                Role::User => "user",
                                Role::Assistant => "assistant",
                            },
                            content: &m.content,
                        })
                        .collect(),
                ),
                None,
            ),
            Prompt::Text(t) => (None, Some(t.as_str())),
        };
        let body = wire::RequestBody {
            model: &self.config.model,
            messages,
            prompt,
            max_tokens: p.max_new_tokens,
            temperature: p.temperature,
            top_p: p.top_p,
            top_k: (p.top_k > 0).then_some(p.top_k),
            seed: Some(p.seed),
            stop: p.stop.iter().map(String::as_str).collect(),
            min_tokens: (p.min_new_tokens > 0).then_some(p.min_new_tokens),
            n,
            extra: &self.config.extra_body,
        };
        serde_json::to_string(&body).expect("request bodies serialise")
    }

    fn attempt(&self, url: &str, body: &str, req: &GenerationRequest) -> Attempt {
        let start = Instant::now();
        let mut r = self
            .agent
            .post(url)
            .header("Content-Type", "application/json");
        if let Some(k) = &self.config.api_key {
            r = r.header("Authorization", format!("Bearer {k}"));
        }
        let mut resp = match r.send(body) {
            Ok(resp) => resp,
            Err(e) => return Attempt::retry(transport_message(&e)),
        };
        let status = resp.status().as_u16();
        let retry_after = resp
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(parse_retry_after);
        // Every part of the response is untrusted: the body is read up to a bound
        // (an answer is kilobytes; a server announcing gigabytes is cut off and
        // retried), bytes that are not UTF-8 are replaced rather than fatal.
        let text = resp
            .body_mut()
            .with_config()
            .limit(MAX_RESPONSE_BYTES)
            .read_to_vec()
            .map(|bytes| match String::from_utf8(bytes) {
                Ok(t) => t,
                Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
            });
        if status != 200 {
            let detail = text
                .as_deref()
                .map(|t| t.chars().take(300).collect::<String>())
                .unwrap_or_default();
            let message = format!("HTTP {status}: {detail}");
            return if retryable_status(status) {
                Attempt::Retry {
                    message,
                    retry_after,
                }
            } else {
                Attempt::Fail(message)
            };
        }
        let text = match text {
            Ok(t) => t,
            Err(e) => {
                return Attempt::retry(format!("reading the response: {}", transport_message(&e)))
            }
        };
        let parsed: wire::ResponseBody = match serde_json::from_str(&text) {
            Ok(p) => p,
            Err(e) => {
                return Attempt::retry(format!(
                    "the response is not the JSON expected ({e}): {}",
                    text.chars().take(120).collect::<String>()
                ))
            }
        };
        if parsed.choices.is_empty() {
            return Attempt::retry("the response has no choices");
        }
        let usage = parsed.usage.unwrap_or(wire::Usage {
            prompt_tokens: 0,
            completion_tokens: 0,
        });
        let choices = parsed.choices.len();
        let mut out = Vec::with_capacity(choices);
        for choice in parsed.choices {
            let mut text = match (choice.message, choice.text) {
                (Some(m), _) => {
                    let content = m.content.unwrap_or_default();
                    match m.reasoning_content.filter(|r| !r.is_empty()) {
                        Some(r) => format!("<think>{r}</think>{content}"),
                        None => content,
                    }
                }
                (None, Some(t)) => t,
                (None, None) => {
                    return Attempt::retry("the response's choice has neither message nor text")
                }
            };
            let finish = match choice.finish_reason.as_deref() {
                Some("length") => FinishReason::Length,
                _ => match restore_stop(&mut text, &req.params.stop) {
                    Some(s) => FinishReason::Stop(s),
                    None => FinishReason::EndOfText,
                },
            };
            out.push(Generation {
                text,
                token_ids: Vec::new(),
                finish,
                prompt_tokens: usage.prompt_tokens,
                // The server counts the tokens of all choices together.
                completion_tokens: usage.completion_tokens / choices,
                timings: Timings {
                    prefill_ms: 0.0,
                    decode_ms: start.elapsed().as_secs_f64() * 1e3,
                },
            });
        }
        Attempt::Done(out)
    }

    /// One request for `n` choices, with retries.
    fn request(
        &self,
        req: &GenerationRequest,
        n: u32,
        rng: &mut impl rand::Rng,
    ) -> Result<Vec<Generation>> {
        let url = self.endpoint(&req.prompt);
        let body = self.body(req, n);
        let mut attempt = 0u32;
        loop {
            match self.attempt(&url, &body, req) {
                Attempt::Done(g) => return Ok(g),
                Attempt::Fail(message) => {
                    return Err(Error::Http {
                        url,
                        attempts: attempt + 1,
                        message,
                    })
                }
                Attempt::Retry {
                    message,
                    retry_after,
                } => {
                    if attempt >= self.config.retry.max_retries {
                        return Err(Error::Http {
                            url,
                            attempts: attempt + 1,
                            message,
                        });
                    }
                    std::thread::sleep(self.config.retry.delay(attempt, retry_after, rng));
                    attempt += 1;
                }
            }
        }
    }
}

fn transport_message(e: &ureq::Error) -> String {
    match e {
        ureq::Error::Timeout(t) => format!("timed out ({t})"),
        ureq::Error::Io(io) => format!("connection error: {io}"),
        other => other.to_string(),
    }
}

/// Puts back a tag-closing stop string the server removed (see the module docs);
/// returns it.
fn restore_stop(text: &mut String, stops: &[String]) -> Option<String> {
    for s in stops {
        if text.ends_with(s.as_str()) {
            return Some(s.clone());
        }
        if let Some(name) = s.strip_prefix("</").and_then(|n| n.strip_suffix('>')) {
            let open = format!("<{name}>");
            let opened = text.rfind(&open);
            let closed = text.rfind(s.as_str());
            if opened.is_some() && (closed.is_none() || closed < opened) {
                text.push_str(s);
                return Some(s.clone());
            }
        }
    }
    None
}

impl Backend for HttpBackend {
    type Error = Error;

    fn info(&self) -> BackendInfo {
        BackendInfo {
            name: format!("{} at {}", self.config.model, self.config.base_url),
            context_length: self.config.context_length,
        }
    }

    /// Sends up to `concurrency` requests at once; answers in request order.
    fn generate(&mut self, requests: &[GenerationRequest]) -> Vec<Result<Generation>> {
        let next = AtomicUsize::new(0);
        let results: Mutex<Vec<Option<Result<Generation>>>> =
            Mutex::new((0..requests.len()).map(|_| None).collect());
        let workers = self.config.concurrency.min(requests.len());
        std::thread::scope(|s| {
            for w in 0..workers {
                let (next, results, this) = (&next, &results, &*self);
                s.spawn(move || {
                    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(
                        0x9e37_79b9 ^ w as u64 ^ std::process::id() as u64,
                    );
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        if i >= requests.len() {
                            break;
                        }
                        let r = this
                            .request(&requests[i], 1, &mut rng)
                            .map(|mut g| g.swap_remove(0));
                        results.lock().unwrap_or_else(|p| p.into_inner())[i] = Some(r);
                    }
                });
            }
        });
        results
            .into_inner()
            .unwrap_or_else(|p| p.into_inner())
            .into_iter()
            .map(|r| r.unwrap_or_else(|| Err(Error::Unsupported("request was not sent".into()))))
            .collect()
    }

    /// One request with the API's `n`: the server samples the group (and computes
    /// the prompt once). A server that returns fewer choices (some ignore `n`) is
    /// asked for the rest one by one, sample `j` with seed `seed + j`.
    fn generate_n(&mut self, request: &GenerationRequest, n: usize) -> Vec<Result<Generation>> {
        if n == 0 {
            return Vec::new();
        }
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0x5eed ^ std::process::id() as u64);
        let mut got = match self.request(request, n as u32, &mut rng) {
            Ok(g) => g,
            Err(e) => {
                let message = e.to_string();
                let mut out = vec![Err(e)];
                out.extend((1..n).map(|_| Err(Error::Unsupported(message.clone()))));
                return out;
            }
        };
        got.truncate(n);
        let mut out: Vec<Result<Generation>> = got.into_iter().map(Ok).collect();
        if out.len() < n {
            let rest: Vec<GenerationRequest> = (out.len()..n)
                .map(|j| {
                    let mut r = request.clone();
                    r.params.seed = request.params.seed.wrapping_add(j as u64);
                    r
                })
                .collect();
            out.extend(self.generate(&rest));
        }
        out
    }

    fn count_tokens(&self, text: &str) -> Result<usize> {
        let t = self.tokenizer.as_ref().ok_or_else(no_tokenizer)?;
        Ok(t.encode(text, false)
            .map_err(|e| Error::Tokenizer(e.to_string()))?
            .len())
    }

    fn truncate_tokens(&self, text: &str, max: usize) -> Result<String> {
        let t = self.tokenizer.as_ref().ok_or_else(no_tokenizer)?;
        let enc = t
            .encode(text, false)
            .map_err(|e| Error::Tokenizer(e.to_string()))?;
        if enc.len() <= max {
            return Ok(text.to_owned());
        }
        let end = enc.get_offsets().get(max).map_or(text.len(), |o| o.0);
        Ok(text[..end].to_owned())
    }

    fn chat_template(&self) -> Option<&ChatTemplate> {
        None
    }

    fn logprobs(&mut self, requests: &[LogprobRequest]) -> Vec<Result<Vec<f32>>> {
        requests
            .iter()
            .map(|_| {
                Err(Error::Unsupported(
                    "log-probabilities of given continuations are not part of the OpenAI API; use the candle backend".into(),
                ))
            })
            .collect()
    }
}

fn no_tokenizer() -> Error {
    Error::Unsupported(
        "the HTTP backend has no tokenizer (give one with HttpBackend::with_tokenizer)".into(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stop_strings_come_back() {
        let stops = vec!["</answer>".to_string()];
        let mut t = "<think>x</think><answer>[2] > [1]".to_string();
        assert_eq!(restore_stop(&mut t, &stops).as_deref(), Some("</answer>"));
        assert!(t.ends_with("[1]</answer>"));
        let mut t = "no tags at all".to_string();
        assert_eq!(restore_stop(&mut t, &stops), None);
        assert_eq!(t, "no tags at all");
        let mut t = "<answer>[1]</answer> more".to_string();
        assert_eq!(restore_stop(&mut t, &stops), None);
    }

    #[test]
    fn bad_configuration() {
        assert!(HttpBackend::new(HttpConfig::new("localhost:8000", "m")).is_err());
        let mut c = HttpConfig::new("http://127.0.0.1:1/v1/", "m");
        assert_eq!(c.base_url, "http://127.0.0.1:1/v1");
        c.concurrency = 0;
        assert!(HttpBackend::new(c).is_err());
    }
}
