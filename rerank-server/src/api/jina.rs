//! Jina's `POST /v1/rerank`, which vLLM serves too: `documents` are strings or
//! `{"text": …}` objects; the answer is `{id, model, usage: {prompt_tokens,
//! total_tokens}, results: [{index, document: {text}, relevance_score}]}`, best first,
//! with the document only when `return_documents` (true by default, as Jina's).

use std::time::Instant;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::State as AxState;
use axum::response::Response;
use serde::{Deserialize, Serialize};

use super::{ranked, read_json, request_id, rerank, respond, tokens, State};

/// A document as Jina takes it.
#[derive(Deserialize)]
#[serde(untagged)]
pub enum Doc {
    /// A string.
    Text(String),
    /// An object with a `text` field.
    Object {
        /// The text.
        text: String,
    },
}

/// The request.
#[derive(Deserialize)]
pub struct Request {
    /// The model asked for (the server answers with its own).
    #[allow(dead_code)]
    pub model: Option<String>,
    /// The query.
    pub query: String,
    /// The documents, in first-stage order.
    pub documents: Vec<Doc>,
    /// How many results to return (all by default).
    pub top_n: Option<usize>,
    /// Include each document's text (default true).
    pub return_documents: Option<bool>,
}

#[derive(Serialize)]
struct DocOut {
    text: String,
}

#[derive(Serialize)]
struct Result_ {
    index: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    document: Option<DocOut>,
    relevance_score: f64,
}

#[derive(Serialize)]
struct Usage {
    prompt_tokens: u64,
    total_tokens: u64,
}

#[derive(Serialize)]
struct Response_ {
    id: String,
    model: String,
    usage: Usage,
    results: Vec<Result_>,
}

/// `POST /v1/rerank`.
pub async fn handler(
    AxState(state): AxState<State>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let started = Instant::now();
    let out = async {
        let req: Request = read_json(body, &state.config)?;
        let texts: Vec<String> = req
            .documents
            .into_iter()
            .map(|d| match d {
                Doc::Text(t) | Doc::Object { text: t } => t,
            })
            .collect();
        let r = rerank(&state, req.query, texts.clone()).await?;
        let (prompt, completion) = tokens(&r);
        let with_docs = req.return_documents.unwrap_or(true);
        Ok::<_, crate::ApiError>(Response_ {
            id: request_id(),
            model: state.config.model_name.clone(),
            usage: Usage {
                prompt_tokens: prompt,
                total_tokens: prompt + completion,
            },
            results: ranked(&r, req.top_n)
                .into_iter()
                .map(|d| Result_ {
                    index: d.index,
                    document: with_docs.then(|| DocOut {
                        text: texts[d.index].clone(),
                    }),
                    relevance_score: d.score,
                })
                .collect(),
        })
    }
    .await;
    respond(&state, "jina", started, out)
}
