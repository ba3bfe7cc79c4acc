//! # rerank-core
//!
//! The model-independent heart of LLM reasoning rerankers: queries, documents,
//! candidates and rankings; the judge traits through which a ranking algorithm asks a
//! model about a window (listwise, REARANK / RankGPT) or a set (setwise, Rank-R1); and
//! the ranking algorithms themselves (sliding windows, heapsort and bubblesort over
//! setwise comparisons).
//!
//! This crate depends on no other crate of the workspace and on no model: every
//! algorithm here can be tested with judges built from relevance judgements.
//!
//! Status: the types and algorithms arrive with the core/prompt issue; this crate is
//! the placeholder the rest of the workspace builds against.
#![forbid(unsafe_code)]
