//! Cohere's `POST /v2/rerank`, as the official SDK sends and reads it
//! (`cohere.ClientV2(base_url=…).rerank(model=…, query=…, documents=[…], top_n=…)`):
//! `documents` are strings; the answer is `{id, results: [{index, relevance_score}],
//! meta: {api_version, billed_units, tokens}}`, best first.

use std::time::Instant;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::State as AxState;
use axum::response::Response;
use serde::{Deserialize, Serialize};

use super::{cut_to_tokens, ranked, read_json, request_id, rerank, respond, tokens, State};

/// The request.
#[derive(Deserialize)]
pub struct Request {
    /// The model asked for (the server answers with its own).
    #[allow(dead_code)]
    pub model: Option<String>,
    /// The query.
    pub query: String,
    /// The documents, in first-stage order.
    pub documents: Vec<String>,
    /// How many results to return (all by default).
    pub top_n: Option<usize>,
    /// Documents are cut to about this many tokens.
    pub max_tokens_per_doc: Option<usize>,
    /// Accepted and ignored (Cohere's scheduling hint).
    #[allow(dead_code)]
    pub priority: Option<i64>,
}

#[derive(Serialize)]
struct Result_ {
    index: usize,
    relevance_score: f64,
}

#[derive(Serialize)]
struct Version {
    version: &'static str,
}

#[derive(Serialize)]
struct Billed {
    search_units: u64,
}

#[derive(Serialize)]
struct Tokens {
    input_tokens: u64,
    output_tokens: u64,
}

#[derive(Serialize)]
struct Meta {
    api_version: Version,
    billed_units: Billed,
    tokens: Tokens,
}

#[derive(Serialize)]
struct Response_ {
    id: String,
    results: Vec<Result_>,
    meta: Meta,
}

/// `POST /v2/rerank`.
pub async fn handler(
    AxState(state): AxState<State>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let started = Instant::now();
    let out = async {
        let req: Request = read_json(body, &state.config)?;
        let docs = cut_to_tokens(req.documents, req.max_tokens_per_doc);
        let r = rerank(&state, req.query, docs).await?;
        let (input, output) = tokens(&r);
        Ok::<_, crate::ApiError>(Response_ {
            id: request_id(),
            results: ranked(&r, req.top_n)
                .into_iter()
                .map(|d| Result_ {
                    index: d.index,
                    relevance_score: d.score,
                })
                .collect(),
            meta: Meta {
                api_version: Version { version: "2" },
                billed_units: Billed { search_units: 1 },
                tokens: Tokens {
                    input_tokens: input,
                    output_tokens: output,
                },
            },
        })
    }
    .await;
    respond(&state, "cohere", started, out)
}
