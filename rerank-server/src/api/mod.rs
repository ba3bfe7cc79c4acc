//! The endpoints, one module per API, on what they share: reading the body (limits,
//! JSON errors), checking the documents, queueing the job, and turning the ranking into
//! indices and scores.
//!
//! | endpoint | API | request | response |
//! | --- | --- | --- | --- |
//! | `POST /v2/rerank` | Cohere v2 ([`cohere`]) | `model`, `query`, `documents`, `top_n`, `max_tokens_per_doc` | `id`, `results[{index, relevance_score}]`, `meta` |
//! | `POST /v1/rerank` | Jina, vLLM ([`jina`]) | `model`, `query`, `documents` (strings or `{text}`), `top_n`, `return_documents` | `id`, `model`, `usage`, `results[{index, document{text}, relevance_score}]` |
//! | `POST /rerank` | Hugging Face TEI ([`tei`]) | `query`, `texts`, `return_text`, `raw_scores`, `truncate` | `[{index, score, text?}]` |
//! | `POST /native/rerank` | this server ([`native`]) | `query`, `documents`, `top_n` | the order, scores, and every model call's reasoning, parse outcome and tokens |

pub mod cohere;
pub mod jina;
pub mod native;
pub mod tei;

use std::sync::Arc;
use std::time::Instant;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use rerank::core::Ranking;
use serde::de::DeserializeOwned;

use crate::config::ServerConfig;
use crate::error::ApiError;
use crate::metrics::Metrics;
use crate::scheduler::Scheduler;

/// What every handler shares.
pub struct AppState {
    /// The model thread.
    pub scheduler: Scheduler,
    /// The settings.
    pub config: ServerConfig,
    /// The metrics.
    pub metrics: Metrics,
}

/// Shared state as handlers get it.
pub type State = Arc<AppState>;

/// The request body as `T`: 413 over the size limit, 408 when it does not arrive in
/// time, 400 when it is not JSON, 422 when it is JSON of the wrong shape (a missing
/// field, a wrong type); each with a JSON error that says so.
pub fn read_json<T: DeserializeOwned>(
    body: Result<Bytes, BytesRejection>,
    cfg: &ServerConfig,
) -> Result<T, ApiError> {
    let bytes = body.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::limit(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!(
                    "the request body is larger than the limit of {} bytes",
                    cfg.max_body_bytes
                ),
            )
        } else {
            ApiError::invalid(
                StatusCode::REQUEST_TIMEOUT,
                format!(
                    "the request body did not arrive within {} s ({})",
                    cfg.body_timeout.as_secs_f64(),
                    e.body_text()
                ),
            )
        }
    })?;
    serde_json::from_slice(&bytes).map_err(|e| {
        use serde_json::error::Category;
        match e.classify() {
            Category::Data => ApiError::invalid(
                StatusCode::UNPROCESSABLE_ENTITY,
                format!("the request does not have the fields this endpoint takes: {e}"),
            ),
            _ => ApiError::invalid(
                StatusCode::BAD_REQUEST,
                format!("the request body is not valid JSON: {e}"),
            ),
        }
    })
}

/// Checks the query and documents against the limits (422 naming the limit).
pub fn check_documents(query: &str, docs: &[String], cfg: &ServerConfig) -> Result<(), ApiError> {
    let bad = |m: String| ApiError::invalid(StatusCode::UNPROCESSABLE_ENTITY, m);
    if query.trim().is_empty() {
        return Err(bad("query must not be empty".into()));
    }
    if docs.is_empty() {
        return Err(bad("documents must not be empty: give at least one".into()));
    }
    if docs.len() > cfg.max_documents {
        return Err(ApiError::limit(
            StatusCode::UNPROCESSABLE_ENTITY,
            format!(
                "{} documents is more than the limit of {} per request",
                docs.len(),
                cfg.max_documents
            ),
        ));
    }
    if let Some((i, d)) = docs
        .iter()
        .enumerate()
        .find(|(_, d)| d.chars().count() > cfg.max_document_chars)
    {
        return Err(ApiError::limit(
            StatusCode::UNPROCESSABLE_ENTITY,
            format!(
                "document {i} has {} characters, more than the limit of {} per document",
                d.chars().count(),
                cfg.max_document_chars
            ),
        ));
    }
    Ok(())
}

/// Reranks one query's documents: queued, then awaited up to the deadline.
pub async fn rerank(state: &State, query: String, docs: Vec<String>) -> Result<Ranking, ApiError> {
    let cfg = &state.config;
    check_documents(&query, &docs, cfg)?;
    let rx = state.scheduler.submit(query, docs, cfg.deadline)?;
    match tokio::time::timeout(cfg.deadline, rx).await {
        Ok(Ok(reply)) => reply,
        Ok(Err(_)) => Err(ApiError::internal(
            "the model thread stopped before answering",
        )),
        Err(_) => Err(ApiError::timeout(cfg.deadline.as_secs_f64())),
    }
}

/// One document of a ranking: where it was in the request, its new rank (from 1) and
/// score.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Ranked {
    /// Index in the request's documents.
    pub index: usize,
    /// New rank, from 1.
    pub rank: usize,
    /// [`crate::relevance_score`] of the rank.
    pub score: f64,
}

/// The ranking as request indices, best first, cut to `top_n`.
pub fn ranked(r: &Ranking, top_n: Option<usize>) -> Vec<Ranked> {
    let n = r.candidates.len();
    r.candidates
        .iter()
        .enumerate()
        .take(top_n.unwrap_or(n))
        .map(|(i, c)| Ranked {
            index: c.id().parse().expect("the server names documents by index"),
            rank: i + 1,
            score: crate::relevance_score(i + 1, n),
        })
        .collect()
}

/// Prompt and completion tokens of a ranking's model calls.
pub fn tokens(r: &Ranking) -> (u64, u64) {
    r.calls.iter().fold((0, 0), |(p, c), call| {
        (
            p + call.record.prompt_tokens.unwrap_or(0),
            c + call.record.completion_tokens.unwrap_or(0),
        )
    })
}

/// The HTTP answer to a handled request (the JSON body, or the error's status and
/// JSON error), counted in the metrics under `endpoint`.
pub fn respond<T: serde::Serialize>(
    state: &State,
    endpoint: &str,
    started: Instant,
    out: Result<T, ApiError>,
) -> Response {
    let (status, resp) = match out {
        Ok(body) => (StatusCode::OK, Json(body).into_response()),
        Err(e) => (e.status, e.into_response()),
    };
    observe(state, endpoint, started, status);
    resp
}

/// Counts a finished request in the metrics.
pub fn observe(state: &State, endpoint: &str, started: Instant, status: StatusCode) {
    state
        .metrics
        .requests
        .with_label_values(&[endpoint, status.as_str()])
        .inc();
    state
        .metrics
        .latency
        .with_label_values(&[endpoint])
        .observe(started.elapsed().as_secs_f64());
}

/// A request's id for responses (`rerank-…`).
pub fn request_id() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0);
    format!("rerank-{t:x}-{}", NEXT.fetch_add(1, Ordering::Relaxed))
}

/// Cuts each document to about `max_tokens` tokens (four characters a token: the
/// server does not hold the model's tokenizer on the HTTP side; the prompt template's
/// own truncation applies after).
pub fn cut_to_tokens(docs: Vec<String>, max_tokens: Option<usize>) -> Vec<String> {
    match max_tokens {
        None => docs,
        Some(t) => docs
            .into_iter()
            .map(|d| d.chars().take(t.saturating_mul(4)).collect())
            .collect(),
    }
}
