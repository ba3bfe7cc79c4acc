//! # rerank-eval
//!
//! Information-retrieval evaluation that agrees with NIST's `trec_eval` 10.0 to the
//! last printed digit, usable on its own: no model, no other crate of this workspace.
//!
//! - [`Qrels`] and [`Run`]: TREC relevance judgements and runs, read from files (fast,
//!   with errors that name the file and line) or built from Rust values; runs can be
//!   written back.
//! - [`Measure`] and [`Evaluator`]: every measure of trec_eval's `all_trec` set, with
//!   its parameter syntax (`P.5,10`, `ndcg_cut.10`, `ndcg.1=3,2=9`, …) and semantics
//!   (ties broken by score then document id, `-l`, `-c`, `-M`, `-J`).
//! - [`Evaluation`]: a queries × measures matrix ([`ndarray`]), summaries, and
//!   trec_eval's exact text output.
//! - [`stats`]: comparing systems — paired t-test, randomization test, bootstrap
//!   confidence intervals, effect size, Holm–Bonferroni correction.
//!
//! ```
//! use rerank_eval::{EvalOptions, Evaluator, Qrels, Run};
//!
//! let qrels = Qrels::from_judgements([("q1", "d1", 2), ("q1", "d2", 0), ("q1", "d3", 1)])?;
//! let mut run = Run::new("my-system");
//! run.push("q1", "d2", 0.9)?.push("q1", "d1", 0.8)?.push("q1", "d3", 0.1)?;
//!
//! let eval = Evaluator::new(["ndcg_cut.10", "P.1"], EvalOptions::default())?.evaluate(&qrels, &run)?;
//! assert_eq!(eval.mean("P_1"), Some(0.0));
//! print!("{}", eval.to_trec_eval_string(false)); // "ndcg_cut_10  all  0.6521" …
//! # Ok::<(), rerank_eval::Error>(())
//! ```
//!
//! ## Where this differs from trec_eval, on purpose
//! - Bad input is an error with file and line where trec_eval reads a non-numeric
//!   relevance or score as 0, and blank lines are skipped in qrels where trec_eval
//!   stops. NaN scores are refused.
//! - Gain-based measures with fractional `level=gain` parameters less than 1 apart:
//!   trec_eval's sort truncates gain differences to integers; we sort by the gain.
#![warn(missing_docs)]

mod arena;
mod blocks;
mod error;
mod evaluation;
mod evaluator;
pub mod format;
mod lines;
pub mod measures;
mod options;
mod qrels;
mod ranked;
mod run;
pub mod stats;
mod stream;
mod zscore;

pub use error::{Error, Result};
pub use evaluation::{Column, Evaluation};
pub use evaluator::Evaluator;
pub use measures::{Measure, MeasureKind, Params, Summary, ValueKind};
pub use options::EvalOptions;
pub use qrels::{Qrels, QrelsBuilder, QueryJudgements};
pub use ranked::{RankedList, NOT_IN_POOL, UNJUDGED_IN_POOL};
pub use run::{QueryResults, Run};
pub use zscore::{ZScores, MISSING_ZSCORE};
