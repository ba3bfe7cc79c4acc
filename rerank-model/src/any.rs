//! [`AnyBackend`]: one type for every backend of this crate, chosen at run time
//! (static dispatch over an enum, as candle does over devices).

use rerank_prompt::ChatTemplate;

use crate::backend::{Backend, BackendInfo, Generation, GenerationRequest, LogprobRequest};
use crate::candle::CandleBackend;
use crate::error::Result;
use crate::http::HttpBackend;

/// The candle backend or the HTTP backend.
#[allow(clippy::large_enum_variant)] // one value per process; no copies
pub enum AnyBackend {
    /// A model run in this process by candle.
    Candle(CandleBackend),
    /// A model behind an OpenAI-compatible server.
    Http(HttpBackend),
}

impl From<CandleBackend> for AnyBackend {
    fn from(b: CandleBackend) -> Self {
        AnyBackend::Candle(b)
    }
}

impl From<HttpBackend> for AnyBackend {
    fn from(b: HttpBackend) -> Self {
        AnyBackend::Http(b)
    }
}

macro_rules! dispatch {
    ($self:expr, $b:ident => $e:expr) => {
        match $self {
            AnyBackend::Candle($b) => $e,
            AnyBackend::Http($b) => $e,
        }
    };
}

impl Backend for AnyBackend {
    type Error = crate::Error;

    fn info(&self) -> BackendInfo {
        dispatch!(self, b => b.info())
    }

    fn generate(&mut self, requests: &[GenerationRequest]) -> Vec<Result<Generation>> {
        dispatch!(self, b => b.generate(requests))
    }

    fn generate_n(&mut self, request: &GenerationRequest, n: usize) -> Vec<Result<Generation>> {
        dispatch!(self, b => b.generate_n(request, n))
    }

    fn count_tokens(&self, text: &str) -> Result<usize> {
        dispatch!(self, b => b.count_tokens(text))
    }

    fn truncate_tokens(&self, text: &str, max: usize) -> Result<String> {
        dispatch!(self, b => b.truncate_tokens(text, max))
    }

    fn chat_template(&self) -> Option<&ChatTemplate> {
        dispatch!(self, b => b.chat_template())
    }

    fn logprobs(&mut self, requests: &[LogprobRequest]) -> Vec<Result<Vec<f32>>> {
        dispatch!(self, b => b.logprobs(requests))
    }
}
