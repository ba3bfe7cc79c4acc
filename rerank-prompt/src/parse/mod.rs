//! Reading model outputs: the reasoning, the answer, and the identifiers in it.
//!
//! Whatever the model writes, the parsers return a usable result — a permutation of
//! the window, or a pick or none for a set — and a [`ParseReport`] that classifies
//! what was wrong. See the crate documentation for the table of outcomes.

mod ids;
mod listwise;
mod setwise;

pub use ids::{digit_value, find_ids, number_value, FoundId};
pub use listwise::{parse_listwise, ListwiseParse};
pub use setwise::{parse_setwise, reference_regex, SetwiseMode, SetwiseParse};

use rerank_core::AnswerSource;

/// The parts of an output.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sections<'a> {
    /// The reasoning: inside `<think>…</think>`, or everything after an unclosed
    /// `<think>` (cut off by the token limit) up to any `<answer>`.
    pub reasoning: Option<&'a str>,
    /// Where the answer is to be read, and from which part.
    pub answer: Option<(&'a str, AnswerSource)>,
    /// An `<answer>` block without `</answer>` (cut off, or sloppy).
    pub answer_unclosed: bool,
}

fn find_ci(haystack_lower: &str, needle: &str, from: usize) -> Option<usize> {
    haystack_lower[from..].find(needle).map(|i| i + from)
}

fn rfind_ci(haystack_lower: &str, needle: &str) -> Option<usize> {
    haystack_lower.rfind(needle)
}

/// Splits an output into reasoning and answer. The answer is the last
/// `<answer>…</answer>` block if there is one (models often echo the instruction's
/// example earlier); otherwise the text after the last `</think>`; otherwise the whole
/// output, unless a `<think>` was opened and never closed (then the output is all
/// reasoning and there is no answer). Tags match in any case.
pub fn sections(output: &str) -> Sections<'_> {
    // ASCII lower-casing keeps every byte offset.
    let lower = output.to_ascii_lowercase();
    let think_open = find_ci(&lower, "<think>", 0);
    let think_close = think_open
        .and_then(|o| find_ci(&lower, "</think>", o))
        .or_else(|| {
            // A closing tag with no opening one (chat templates often open it for the model).
            if think_open.is_none() {
                find_ci(&lower, "</think>", 0)
            } else {
                None
            }
        });
    let answer_open = rfind_ci(&lower, "<answer>");
    let mut reasoning = match (think_open, think_close) {
        (Some(o), Some(c)) => Some(&output[o + 7..c]),
        (None, Some(c)) => Some(&output[..c]),
        (Some(o), None) => {
            let end = answer_open.filter(|&a| a > o).unwrap_or(output.len());
            Some(&output[o + 7..end])
        }
        (None, None) => None,
    };
    if let Some(r) = reasoning {
        if r.trim().is_empty() {
            reasoning = None;
        }
    }
    let last_think_close = rfind_ci(&lower, "</think>");
    let (answer, answer_unclosed) = if let Some(a) = answer_open {
        let start = a + 8;
        match find_ci(&lower, "</answer>", start) {
            Some(e) => (Some((&output[start..e], AnswerSource::AnswerTag)), false),
            None => (Some((&output[start..], AnswerSource::AnswerTag)), true),
        }
    } else if let Some(c) = last_think_close {
        (Some((&output[c + 8..], AnswerSource::AfterThink)), false)
    } else if think_open.is_some() {
        (None, false)
    } else {
        (Some((output, AnswerSource::Whole)), false)
    };
    Sections {
        reasoning: reasoning.map(|r| r.trim_matches(|c: char| c.is_whitespace())),
        answer,
        answer_unclosed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_outputs() {
        let s = sections("<think>look</think> <answer>[2] > [1]</answer>");
        assert_eq!(s.reasoning, Some("look"));
        assert_eq!(s.answer, Some(("[2] > [1]", AnswerSource::AnswerTag)));
        let s =
            sections("<think>format is <answer>[] > []</answer> ok</think><answer>[1]</answer>");
        assert_eq!(s.answer.unwrap().0, "[1]");
        let s = sections("<think>long reasoning cut off");
        assert_eq!(
            (s.reasoning, s.answer),
            (Some("long reasoning cut off"), None)
        );
        let s = sections("reasoning</THINK>[3] > [1]");
        assert_eq!(s.answer, Some(("[3] > [1]", AnswerSource::AfterThink)));
        let s = sections("[1] > [2]");
        assert_eq!(s.answer, Some(("[1] > [2]", AnswerSource::Whole)));
        let s = sections("<answer>[2] > [1");
        assert!(s.answer_unclosed);
    }
}
