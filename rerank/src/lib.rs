//! # rerank
//!
//! LLM reasoning rerankers in one crate: a [`Reranker`] composed from a model
//! backend, a prompt template and a ranking algorithm ([`Method`]: REARANK, RankGPT,
//! Rank-R1, Setwise), a BM25 first stage ([`bm25`], with tantivy), the glue from a
//! TREC run to candidate lists ([`candidates_from_run`]) and resumable run output
//! ([`output::RunOutput`]).
//!
//! The workspace's crates are re-exported: [`core`] (types, algorithms, topics and
//! corpus readers), [`prompt`] (templates, parsing), [`model`] (backends) and
//! [`eval`] (trec_eval-compatible metrics).
//!
//! ```no_run
//! use rerank::{Method, Reranker};
//! use rerank::core::{candidates_from_docs, Document, Query};
//!
//! let mut reranker = Reranker::builder().model("smollm2-135m").method(Method::Rearank).build()?;
//! let docs = [Document::new("a", "Bees dance."), Document::new("b", "Honey is sweet.")];
//! let ranking = reranker.rerank(&Query::new("1", "bee communication"), &candidates_from_docs(docs))?;
//! println!("{:?}", ranking.ids());
//! # Ok::<(), rerank::Error>(())
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

#[cfg(feature = "bm25")]
pub mod bm25;
mod candidates;
mod error;
mod method;
pub mod output;
mod reranker;

pub use candidates::{candidates_from_run, CandidateReport};
pub use error::{Error, Result};
pub use method::{Algorithm, Method, MethodParams};
pub use rerank_core::Fallback;
pub use rerank_model::Scoring;
pub use rerank_prompt::parse::SetwiseMode;
pub use reranker::{Reranker, RerankerBuilder};

pub use rerank_core as core;
pub use rerank_eval as eval;
pub use rerank_model as model;
pub use rerank_prompt as prompt;
