//! This server's own `POST /native/rerank`: the order and scores, and what the rerank
//! APIs cannot carry: every model call's documents, raw output, reasoning, parse
//! outcome, tokens and time, and whether its answer was used.

use std::time::Instant;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::State as AxState;
use axum::response::Response;
use rerank::core::{CallRecord, ParseReport};
use serde::{Deserialize, Serialize};

use super::{ranked, read_json, request_id, rerank, respond, tokens, State};

/// The request.
#[derive(Deserialize)]
pub struct Request {
    /// The query.
    pub query: String,
    /// The documents, in first-stage order.
    pub documents: Vec<String>,
    /// How many results to return (all by default).
    pub top_n: Option<usize>,
}

#[derive(Serialize)]
struct Result_ {
    index: usize,
    rank: usize,
    relevance_score: f64,
}

#[derive(Serialize)]
struct Call {
    step: usize,
    /// Request indices of the documents shown, in prompt order.
    documents: Vec<usize>,
    applied: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reasoning: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    raw_output: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    parse: Option<ParseReport>,
    /// Single-pass methods: each shown document's identifier log-probability.
    #[serde(skip_serializing_if = "Option::is_none")]
    identifier_logprobs: Option<Vec<f32>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    prompt_tokens: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    completion_tokens: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    elapsed_ms: Option<f64>,
}

#[derive(Serialize)]
struct Usage {
    prompt_tokens: u64,
    completion_tokens: u64,
}

#[derive(Serialize)]
struct Response_ {
    id: String,
    model: String,
    method: String,
    results: Vec<Result_>,
    calls: Vec<Call>,
    usage: Usage,
    latency_ms: f64,
}

/// `POST /native/rerank`.
pub async fn handler(
    AxState(state): AxState<State>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let started = Instant::now();
    let out = async {
        let req: Request = read_json(body, &state.config)?;
        let r = rerank(&state, req.query, req.documents).await?;
        let (prompt, completion) = tokens(&r);
        Ok::<_, crate::ApiError>(Response_ {
            id: request_id(),
            model: state.config.model_name.clone(),
            method: state.config.method.clone(),
            results: ranked(&r, req.top_n)
                .into_iter()
                .map(|d| Result_ {
                    index: d.index,
                    rank: d.rank,
                    relevance_score: d.score,
                })
                .collect(),
            calls: r
                .calls
                .iter()
                .map(|c| {
                    let CallRecord {
                        prompt_tokens,
                        completion_tokens,
                        elapsed_ms,
                        raw_output,
                        reasoning,
                        parse,
                        identifier_logprobs,
                        ..
                    } = c.record.clone();
                    Call {
                        step: c.step,
                        documents: c
                            .doc_ids
                            .iter()
                            .map(|d| d.parse().expect("the server names documents by index"))
                            .collect(),
                        applied: c.applied,
                        error: c.error.clone(),
                        reasoning,
                        raw_output,
                        parse,
                        identifier_logprobs,
                        prompt_tokens,
                        completion_tokens,
                        elapsed_ms,
                    }
                })
                .collect(),
            usage: Usage {
                prompt_tokens: prompt,
                completion_tokens: completion,
            },
            latency_ms: started.elapsed().as_secs_f64() * 1000.0,
        })
    }
    .await;
    respond(&state, "native", started, out)
}
