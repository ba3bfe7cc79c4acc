//! Prometheus metrics (`GET /metrics`, text format): requests by endpoint and status,
//! rejections, queue depth, queries in progress, model batch sizes, tokens, parse
//! outcomes, latencies. A backend wrapped in [`MeteredBackend`] reports its batches.

use std::time::Instant;

use prometheus::{
    Encoder, Histogram, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, Opts, Registry,
    TextEncoder,
};
use rerank::core::Ranking;
use rerank::model::{Backend, BackendInfo, Generation, GenerationRequest, LogprobRequest};
use rerank::prompt::ChatTemplate;

/// The server's metrics; cheap to clone (shared counters).
#[derive(Clone)]
pub struct Metrics {
    registry: Registry,
    /// Requests by endpoint and status code.
    pub requests: IntCounterVec,
    /// Requests waiting or in progress.
    pub queue_depth: IntGauge,
    /// Queries being reranked.
    pub in_progress: IntGauge,
    /// Prompts per model call.
    pub batch_size: Histogram,
    /// Tokens processed, by kind (`prompt`, `completion`).
    pub tokens: IntCounterVec,
    /// Tokens per second of the last model call.
    pub tokens_per_second: prometheus::Gauge,
    /// Model calls by parse outcome (`ok`, `wrong_format`, …, `failed`).
    pub parse_outcomes: IntCounterVec,
    /// Request latency by endpoint, seconds.
    pub latency: HistogramVec,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    /// Fresh metrics in their own registry.
    pub fn new() -> Self {
        let registry = Registry::new();
        let requests = IntCounterVec::new(
            Opts::new("rerank_requests_total", "Requests by endpoint and status"),
            &["endpoint", "status"],
        )
        .expect("valid metric");
        let queue_depth = IntGauge::new("rerank_queue_depth", "Requests waiting or being reranked")
            .expect("valid metric");
        let in_progress = IntGauge::new("rerank_queries_in_progress", "Queries being reranked")
            .expect("valid metric");
        let batch_size = Histogram::with_opts(
            HistogramOpts::new("rerank_batch_size", "Prompts per model call")
                .buckets(vec![1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0]),
        )
        .expect("valid metric");
        let tokens = IntCounterVec::new(
            Opts::new("rerank_tokens_total", "Tokens processed by the model"),
            &["kind"],
        )
        .expect("valid metric");
        let tokens_per_second = prometheus::Gauge::new(
            "rerank_tokens_per_second",
            "Prompt and completion tokens per second of the last model call",
        )
        .expect("valid metric");
        let parse_outcomes = IntCounterVec::new(
            Opts::new(
                "rerank_parse_outcomes_total",
                "Model calls by how their answer was read",
            ),
            &["outcome"],
        )
        .expect("valid metric");
        let latency = HistogramVec::new(
            HistogramOpts::new("rerank_request_seconds", "Request latency").buckets(vec![
                0.1, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0,
            ]),
            &["endpoint"],
        )
        .expect("valid metric");
        for m in [
            Box::new(requests.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(queue_depth.clone()),
            Box::new(in_progress.clone()),
            Box::new(batch_size.clone()),
            Box::new(tokens.clone()),
            Box::new(tokens_per_second.clone()),
            Box::new(parse_outcomes.clone()),
            Box::new(latency.clone()),
        ] {
            registry.register(m).expect("unique metric names");
        }
        Metrics {
            registry,
            requests,
            queue_depth,
            in_progress,
            batch_size,
            tokens,
            tokens_per_second,
            parse_outcomes,
            latency,
        }
    }

    /// Every metric in Prometheus' text format.
    pub fn render(&self) -> String {
        let mut out = Vec::new();
        TextEncoder::new()
            .encode(&self.registry.gather(), &mut out)
            .expect("the text format encodes");
        String::from_utf8(out).expect("the text format is UTF-8")
    }

    /// Counts a finished query's model calls by parse outcome.
    pub fn observe_ranking(&self, r: &Ranking) {
        for c in &r.calls {
            let outcome = match (&c.record.parse, c.applied) {
                (Some(p), _) => serde_json::to_value(p.outcome)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_else(|| "unknown".into()),
                (None, _) => "failed".into(),
            };
            self.parse_outcomes.with_label_values(&[&outcome]).inc();
        }
    }
}

/// A backend that reports each batch to [`Metrics`]: its size, tokens and speed.
pub struct MeteredBackend<B> {
    inner: B,
    metrics: Metrics,
}

impl<B> MeteredBackend<B> {
    /// Wraps `inner`.
    pub fn new(inner: B, metrics: Metrics) -> Self {
        MeteredBackend { inner, metrics }
    }
}

impl<B: Backend> Backend for MeteredBackend<B> {
    type Error = B::Error;

    fn info(&self) -> BackendInfo {
        self.inner.info()
    }

    fn generate(&mut self, requests: &[GenerationRequest]) -> Vec<Result<Generation, B::Error>> {
        let start = Instant::now();
        let out = self.inner.generate(requests);
        let secs = start.elapsed().as_secs_f64();
        self.metrics.batch_size.observe(requests.len() as f64);
        let (mut prompt, mut completion) = (0u64, 0u64);
        for g in out.iter().flatten() {
            prompt += g.prompt_tokens as u64;
            completion += g.completion_tokens as u64;
        }
        self.metrics
            .tokens
            .with_label_values(&["prompt"])
            .inc_by(prompt);
        self.metrics
            .tokens
            .with_label_values(&["completion"])
            .inc_by(completion);
        if secs > 0.0 {
            self.metrics
                .tokens_per_second
                .set((prompt + completion) as f64 / secs);
        }
        out
    }

    fn count_tokens(&self, text: &str) -> Result<usize, B::Error> {
        self.inner.count_tokens(text)
    }

    fn truncate_tokens(&self, text: &str, max: usize) -> Result<String, B::Error> {
        self.inner.truncate_tokens(text, max)
    }

    fn chat_template(&self) -> Option<&ChatTemplate> {
        self.inner.chat_template()
    }

    fn logprobs(&mut self, requests: &[LogprobRequest]) -> Vec<Result<Vec<f32>, B::Error>> {
        self.inner.logprobs(requests)
    }
}
