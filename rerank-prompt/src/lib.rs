//! # rerank-prompt
//!
//! What a reranking model is asked, and how its answer is read.
//!
//! - [`Template`]: the published prompts as built-in templates, byte for byte —
//!   `rearank`, `rankgpt`, `rank-r1`, `setwise` (zero-shot), `rank-r1-v0.2`,
//!   `rankzephyr` — and user templates from TOML, turned into chat [`Message`]s;
//! - [`ChatTemplate`]: the model's own Jinja chat template, rendered with minijinja
//!   as transformers' `apply_chat_template` renders it;
//! - [`truncate`]: passages cut by characters, words or tokens, and windows fitted to
//!   a context budget; [`sanitize`]: passage text that cannot hijack the answer;
//! - [`parse`]: any model output into a valid permutation (listwise) or a pick
//!   (setwise), with a report of what was wrong.
//!
//! ## Parse outcomes
//!
//! The worst problem found is reported; the counts in the report keep the rest.
//! Examples for a listwise window of 3 passages (`answer_tags` asked for):
//!
//! | outcome | example output | order read |
//! | --- | --- | --- |
//! | `ok` | `<think>…</think><answer>[2] > [3] > [1]</answer>` | 2, 3, 1 |
//! | `wrong_format` | `<think>…</think>[2] > [3] > [1]` (no answer tags), or `2 > 3 > 1` | 2, 3, 1 |
//! | `missing_ids` | `<answer>[3] > [1]</answer>` | 3, 1, then 2 |
//! | `repetition` | `<answer>[2] > [2] > [1] > [3]</answer>` | 2, 1, 3 |
//! | `out_of_range` | `<answer>[4] > [2] > [1] > [3]</answer>` | 2, 1, 3 |
//! | `empty` | `<think>I need more time to` (cut off), `I cannot rank these.` | 1, 2, 3 (kept) |
//!
//! Setwise (`[k]` of a set): `ok` is exactly `[k]` in the answer (Rank-R1's rule);
//! `wrong_format` is a usable but different form (`Document 3`, `3.`), taken only in
//! lenient mode; `out_of_range` names a label outside the set; `empty` has none. What
//! an unusable setwise answer does is the sort's choice (`rerank_core::Fallback`: no
//! swap, Rank-R1's policy, by default).
//!
//! Depends on `rerank-core` only.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod builtin_texts;
pub mod chat;
mod error;
pub mod parse;
pub mod sanitize;
pub mod template;
pub mod truncate;

pub use chat::ChatTemplate;
pub use error::{Error, Result};
pub use template::{Conversation, Message, Role, Template, TemplateKind, BUILTIN};
pub use truncate::{TokenCounter, Truncation};
