//! Setwise outputs (`<answer>[3]</answer>`) into a pick.

use regex::Regex;
use rerank_core::{AnswerSource, ParseOutcome, ParseReport};

use super::{find_ids, sections};

/// How strictly a setwise answer is read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum SetwiseMode {
    /// Rank-R1's rule: the template's pattern on the lower-cased output (dot matches
    /// new line); the group, stripped, must be exactly `[k]` with `1 <= k <= n`.
    /// Anything else is unusable (and the sort does not swap).
    #[default]
    Reference,
    /// The reference rule first; failing that, the first identifier in the answer
    /// region: `3`, `[3].`, `Document 3`, `passage [3] is best`.
    Lenient,
}

/// A setwise output, read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SetwiseParse {
    /// The pick, 0-based; `None` when the output could not be used.
    pub best: Option<usize>,
    /// What was found wrong.
    pub report: ParseReport,
    /// The reasoning, for explanations.
    pub reasoning: Option<String>,
}

/// The template's answer pattern compiled as the reference code applies it: dot
/// matches new line.
pub fn reference_regex(pattern: &str) -> Result<Regex, regex::Error> {
    Regex::new(&format!("(?s){pattern}"))
}

/// Reads a setwise answer for a set of `n` documents. `pattern` is the template's
/// answer regex from [`reference_regex`] (e.g. for
/// `<think>.*?</think>\s*<answer>(.*?)</answer>`).
///
/// ```
/// use rerank_prompt::parse::{parse_setwise, reference_regex, SetwiseMode};
/// let pattern = reference_regex(r"<think>.*?</think>\s*<answer>(.*?)</answer>").unwrap();
/// let p = parse_setwise("<think>…</think> <answer>[3]</answer>", 5, &pattern, SetwiseMode::Reference);
/// assert_eq!(p.best, Some(2));
/// let p = parse_setwise("<think>…</think> <answer>Document 3</answer>", 5, &pattern, SetwiseMode::Reference);
/// assert_eq!(p.best, None);
/// let p = parse_setwise("<think>…</think> <answer>Document 3</answer>", 5, &pattern, SetwiseMode::Lenient);
/// assert_eq!(p.best, Some(2));
/// ```
pub fn parse_setwise(output: &str, n: usize, pattern: &Regex, mode: SetwiseMode) -> SetwiseParse {
    let s = sections(output);
    let reasoning = s.reasoning.map(str::to_owned);
    let lower = output.to_lowercase();
    let matched = pattern
        .captures(&lower)
        .and_then(|c| c.get(1))
        .map(|m| m.as_str().trim().to_owned());
    let report = |outcome, source, out_of_range| ParseReport {
        outcome,
        source,
        missing: 0,
        repeated: 0,
        out_of_range,
    };
    if let Some(group) = &matched {
        if let Some(k) = group
            .strip_prefix('[')
            .and_then(|g| g.strip_suffix(']'))
            .and_then(|d| d.parse::<usize>().ok())
        {
            if k >= 1 && k <= n && group == &format!("[{k}]") {
                return SetwiseParse {
                    best: Some(k - 1),
                    report: report(ParseOutcome::Ok, AnswerSource::AnswerTag, 0),
                    reasoning,
                };
            }
        }
    }
    // Not the reference form. Classify, and in lenient mode try harder.
    let (region, source) = s.answer.unwrap_or(("", AnswerSource::Whole));
    let ids = find_ids(region);
    let first_valid = ids.iter().find(|id| id.value >= 1 && id.value <= n as u64);
    let out_of_range = ids
        .iter()
        .filter(|id| id.value == 0 || id.value > n as u64)
        .count();
    match (mode, first_valid) {
        (SetwiseMode::Lenient, Some(id)) => SetwiseParse {
            best: Some((id.value - 1) as usize),
            report: report(ParseOutcome::WrongFormat, source, out_of_range),
            reasoning,
        },
        _ => {
            let outcome = if first_valid.is_some() {
                ParseOutcome::WrongFormat
            } else if out_of_range > 0 {
                ParseOutcome::OutOfRange
            } else {
                ParseOutcome::Empty
            };
            SetwiseParse {
                best: None,
                report: report(outcome, source, out_of_range),
                reasoning,
            }
        }
    }
}
