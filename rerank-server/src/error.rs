//! Errors: what a request gets back when it cannot be served (a status and a JSON
//! body saying why), and what can stop the server from starting.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// A request that cannot be served: the status, a machine-readable kind and a message
/// that says what to change. Sent as `{"error": {"type": …, "message": …}}` (the shape
/// OpenAI-style servers answer errors with); `Retry-After` on 503.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{status}: {message}")]
pub struct ApiError {
    /// The HTTP status.
    pub status: StatusCode,
    /// `invalid_request`, `limit_exceeded`, `unauthorized`, `overloaded`, `timeout`,
    /// `internal`.
    pub kind: &'static str,
    /// What is wrong and what to do.
    pub message: String,
    /// Seconds to wait before retrying (503).
    pub retry_after: Option<u64>,
}

#[derive(Serialize)]
struct Body<'a> {
    error: Inner<'a>,
}

#[derive(Serialize)]
struct Inner<'a> {
    #[serde(rename = "type")]
    kind: &'a str,
    message: &'a str,
    code: u16,
}

impl ApiError {
    /// 400 or 422: the request is malformed or names something impossible.
    pub fn invalid(status: StatusCode, message: impl Into<String>) -> Self {
        ApiError {
            status,
            kind: "invalid_request",
            message: message.into(),
            retry_after: None,
        }
    }

    /// 413 or 422: a configured limit was exceeded; the message names it.
    pub fn limit(status: StatusCode, message: impl Into<String>) -> Self {
        ApiError {
            status,
            kind: "limit_exceeded",
            message: message.into(),
            retry_after: None,
        }
    }

    /// 503: the queue is full.
    pub fn overloaded(retry_after: u64) -> Self {
        ApiError {
            status: StatusCode::SERVICE_UNAVAILABLE,
            kind: "overloaded",
            message: format!(
                "the server's queue is full; retry in {retry_after} s (or send fewer requests at once)"
            ),
            retry_after: Some(retry_after),
        }
    }

    /// 504: the request's deadline passed.
    pub fn timeout(seconds: f64) -> Self {
        ApiError {
            status: StatusCode::GATEWAY_TIMEOUT,
            kind: "timeout",
            message: format!("the request was not reranked within its deadline of {seconds} s"),
            retry_after: None,
        }
    }

    /// 500.
    pub fn internal(message: impl Into<String>) -> Self {
        ApiError {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            kind: "internal",
            message: message.into(),
            retry_after: None,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = serde_json::to_string(&Body {
            error: Inner {
                kind: self.kind,
                message: &self.message,
                code: self.status.as_u16(),
            },
        })
        .expect("errors serialise");
        let mut r = (
            self.status,
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            )],
            body,
        )
            .into_response();
        if let Some(s) = self.retry_after {
            r.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(s));
        }
        if self.status == StatusCode::UNAUTHORIZED {
            r.headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        r
    }
}

/// Why the server could not start or stopped.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The address could not be bound.
    #[error("cannot listen on {addr}: {cause}")]
    Bind {
        /// The address.
        addr: String,
        /// What the system said.
        cause: std::io::Error,
    },
    /// The reranker could not be built (the model did not load, say).
    #[error("{0}")]
    Reranker(String),
    /// Serving failed.
    #[error("serving: {0}")]
    Serve(std::io::Error),
}
