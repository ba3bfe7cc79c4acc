//! # rerank-server
//!
//! A reasoning reranker (REARANK, Rank-R1, any [`rerank::Reranker`]) behind the rerank
//! APIs search stacks already call: Cohere's `POST /v2/rerank`, Jina's (and vLLM's)
//! `POST /v1/rerank`, Hugging Face TEI's `POST /rerank`, and a native
//! `POST /native/rerank` that also returns every model call's reasoning. Plus
//! `GET /health` and `GET /metrics` (Prometheus).
//!
//! - **The model runs on its own thread** ([`scheduler`]); the HTTP side (axum on
//!   tokio) only queues jobs and awaits replies, so it never blocks on the model.
//! - **Requests share the model**: before every model step the scheduler admits
//!   waiting requests, so requests that arrive together, or while others are being
//!   reranked, are batched together ([`rerank::Reranker::rerank_feed`]).
//! - **Protection**: a bounded queue (503 with `Retry-After` beyond it), a deadline per
//!   request (504), limits on the body, the documents and their length (413, 422),
//!   a body timeout against slow clients (408), an optional API key (401), graceful
//!   shutdown that finishes the requests in flight. Every error is a JSON body saying
//!   which rule it broke ([`ApiError`]).
//! - **Scores from an order**: a listwise or setwise reranker gives ranks; the APIs'
//!   `relevance_score` is [`relevance_score`]: `(n − rank + 1) / n`, in (0, 1],
//!   strictly decreasing with the rank. Documents below the reranker's `top` keep the
//!   request's (first-stage) order beneath the reranked ones.

pub mod api;
mod config;
mod error;
pub mod metrics;
pub mod scheduler;
mod score;

use std::future::Future;
use std::sync::Arc;

use axum::extract::{Request, State as AxState};
use axum::http::{header, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use rerank::model::Backend;
use rerank::Reranker;

pub use api::{AppState, State};
pub use config::ServerConfig;
pub use error::{ApiError, Error};
pub use metrics::{MeteredBackend, Metrics};
pub use scheduler::Scheduler;
pub use score::relevance_score;

/// A started server: the model loaded on its thread, the routes ready to serve.
pub struct Server {
    state: State,
}

impl Server {
    /// Starts the model thread (`build` makes the reranker there; wrap its backend in
    /// [`MeteredBackend`] with these `metrics` to count batches and tokens) and returns
    /// once the model has loaded.
    pub fn start<B, F>(config: ServerConfig, metrics: Metrics, build: F) -> Result<Server, Error>
    where
        B: Backend + 'static,
        F: FnOnce() -> Result<Reranker<B>, String> + Send + 'static,
    {
        let scheduler =
            Scheduler::start(build, config.max_queue, config.max_active, metrics.clone())?;
        Ok(Server {
            state: Arc::new(AppState {
                scheduler,
                config,
                metrics,
            }),
        })
    }

    /// The routes, with their limits and the API key check.
    pub fn router(&self) -> Router {
        let cfg = &self.state.config;
        let rerank = Router::new()
            .route("/v2/rerank", post(api::cohere::handler))
            .route("/v1/rerank", post(api::jina::handler))
            .route("/rerank", post(api::tei::handler))
            .route("/native/rerank", post(api::native::handler))
            .layer(middleware::from_fn_with_state(
                self.state.clone(),
                authorize,
            ))
            .layer(axum::extract::DefaultBodyLimit::max(cfg.max_body_bytes))
            .layer(tower_http::timeout::RequestBodyTimeoutLayer::new(
                cfg.body_timeout,
            ));
        Router::new()
            .merge(rerank)
            .route("/health", get(health))
            .route("/metrics", get(metrics_text))
            .fallback(not_found)
            .with_state(self.state.clone())
    }

    /// Serves on `listener` until `shutdown` completes, then finishes the requests in
    /// flight and stops the model thread.
    pub async fn serve(
        self,
        listener: tokio::net::TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), Error> {
        let app = self.router();
        let served = axum::serve(listener, app)
            .with_graceful_shutdown(shutdown)
            .await
            .map_err(Error::Serve);
        self.state.scheduler.shutdown();
        served
    }
}

/// Completes on SIGTERM or Ctrl-C.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}

async fn authorize(AxState(state): AxState<State>, req: Request, next: Next) -> Response {
    if let Some(key) = &state.config.api_key {
        let given = req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        // Compared in time independent of where they differ.
        let ok = given.is_some_and(|g| {
            g.len() == key.len()
                && g.bytes()
                    .zip(key.bytes())
                    .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                    == 0
        });
        if !ok {
            state
                .metrics
                .requests
                .with_label_values(&[req.uri().path(), "401"])
                .inc();
            return ApiError {
                status: StatusCode::UNAUTHORIZED,
                kind: "unauthorized",
                message: "this server needs an API key: send `Authorization: Bearer <key>`".into(),
                retry_after: None,
            }
            .into_response();
        }
    }
    next.run(req).await
}

async fn health(AxState(state): AxState<State>) -> Response {
    axum::Json(serde_json::json!({
        "status": "ok",
        "model": state.config.model_name,
        "method": state.config.method,
        "queue_depth": state.scheduler.depth(),
    }))
    .into_response()
}

async fn metrics_text(AxState(state): AxState<State>) -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.render(),
    )
        .into_response()
}

async fn not_found(req: Request) -> Response {
    ApiError::invalid(
        StatusCode::NOT_FOUND,
        format!(
            "no endpoint {} {}: POST /v2/rerank (Cohere), /v1/rerank (Jina, vLLM), /rerank (TEI), \
             /native/rerank; GET /health, /metrics",
            req.method(),
            req.uri().path()
        ),
    )
    .into_response()
}
