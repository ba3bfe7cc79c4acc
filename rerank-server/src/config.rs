//! What a server allows and promises.

use std::time::Duration;

/// The server's settings; [`ServerConfig::default`] gives the documented defaults.
#[derive(Clone, Debug, PartialEq)]
pub struct ServerConfig {
    /// The model name responses report (`model` fields).
    pub model_name: String,
    /// The method responses report (`rearank`, `rank-r1`, …).
    pub method: String,
    /// Requests waiting or being reranked at once; one more gets 503 with
    /// `Retry-After` (64).
    pub max_queue: usize,
    /// Queries reranked together, their model calls batched (8).
    pub max_active: usize,
    /// A request not answered within this gets 504 (300 s).
    pub deadline: Duration,
    /// Largest request body (2 MiB); larger gets 413.
    pub max_body_bytes: usize,
    /// Most documents in one request (100); more gets 422.
    pub max_documents: usize,
    /// Most characters in one document (20,000); longer gets 422.
    pub max_document_chars: usize,
    /// A body that takes longer than this to arrive gets 408 (10 s): a slow client
    /// cannot hold a connection forever.
    pub body_timeout: Duration,
    /// When set, every rerank request needs `Authorization: Bearer <key>` (401
    /// otherwise); `/health` and `/metrics` stay open.
    pub api_key: Option<String>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            model_name: "rerank".into(),
            method: "rearank".into(),
            max_queue: 64,
            max_active: 8,
            deadline: Duration::from_secs(300),
            max_body_bytes: 2 << 20,
            max_documents: 100,
            max_document_chars: 20_000,
            body_timeout: Duration::from_secs(10),
            api_key: None,
        }
    }
}
