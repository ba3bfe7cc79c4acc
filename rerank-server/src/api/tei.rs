//! Hugging Face text-embeddings-inference's `POST /rerank`: `{query, texts,
//! return_text, raw_scores, truncate}` in, `[{index, score, text?}]` out, best first.

use std::time::Instant;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::State as AxState;
use axum::response::Response;
use serde::{Deserialize, Serialize};

use super::{ranked, read_json, rerank, respond, State};

/// The request.
#[derive(Deserialize)]
pub struct Request {
    /// The query.
    pub query: String,
    /// The documents, in first-stage order.
    pub texts: Vec<String>,
    /// Include each text (default false, as TEI's).
    #[serde(default)]
    pub return_text: bool,
    /// Accepted; scores are always the rank-based ones.
    #[allow(dead_code)]
    #[serde(default)]
    pub raw_scores: bool,
    /// Accepted; long texts are cut by the prompt template.
    #[allow(dead_code)]
    #[serde(default)]
    pub truncate: bool,
}

#[derive(Serialize)]
struct Result_ {
    index: usize,
    score: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    text: Option<String>,
}

/// `POST /rerank`.
pub async fn handler(
    AxState(state): AxState<State>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let started = Instant::now();
    let out = async {
        let req: Request = read_json(body, &state.config)?;
        let r = rerank(&state, req.query, req.texts.clone()).await?;
        Ok::<_, crate::ApiError>(
            ranked(&r, None)
                .into_iter()
                .map(|d| Result_ {
                    index: d.index,
                    score: d.score,
                    text: req.return_text.then(|| req.texts[d.index].clone()),
                })
                .collect::<Vec<_>>(),
        )
    }
    .await;
    respond(&state, "tei", started, out)
}
