//! Listwise outputs (`[3] > [1] > [2]`) into permutations.

use rerank_core::{AnswerSource, ParseOutcome, ParseReport};

use super::{find_ids, sections};

/// A listwise output, read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListwiseParse {
    /// The new order: a permutation of `0..n`, best first. Identifiers the model gave
    /// come first in its order; the others follow in their original order.
    pub order: Vec<usize>,
    /// What was found wrong.
    pub report: ParseReport,
    /// The reasoning, for explanations.
    pub reasoning: Option<String>,
}

/// Reads a listwise answer for a window of `n` passages.
///
/// Takes the `<answer>` block, else the text after the last `</think>`, else the whole
/// output; reads identifiers (`[3]`, bare numbers, other Unicode digits); drops
/// duplicates and identifiers outside `1..=n`; appends the missing ones in their
/// original order. `answer_tags`: whether the prompt asked for `<answer>` tags (their
/// absence is then a format error).
///
/// ```
/// use rerank_prompt::parse::parse_listwise;
/// use rerank_core::ParseOutcome;
/// let p = parse_listwise("<think>2 is best</think><answer>[2] > [4] > [2]</answer>", 4, true);
/// assert_eq!(p.order, vec![1, 3, 0, 2]);
/// assert_eq!(p.report.outcome, ParseOutcome::Repetition);
/// assert_eq!(p.reasoning.as_deref(), Some("2 is best"));
/// ```
pub fn parse_listwise(output: &str, n: usize, answer_tags: bool) -> ListwiseParse {
    let s = sections(output);
    let reasoning = s.reasoning.map(str::to_owned);
    let Some((region, source)) = s.answer else {
        return ListwiseParse {
            order: (0..n).collect(),
            report: ParseReport {
                outcome: ParseOutcome::Empty,
                source: AnswerSource::Whole,
                missing: n,
                repeated: 0,
                out_of_range: 0,
            },
            reasoning,
        };
    };
    let mut seen = vec![false; n];
    let mut order = Vec::with_capacity(n);
    let (mut repeated, mut out_of_range, mut bare) = (0, 0, false);
    for id in find_ids(region) {
        if id.value >= 1 && id.value <= n as u64 {
            let i = (id.value - 1) as usize;
            if seen[i] {
                repeated += 1;
            } else {
                seen[i] = true;
                order.push(i);
                bare |= !id.bracketed;
            }
        } else {
            out_of_range += 1;
        }
    }
    let found = order.len();
    order.extend((0..n).filter(|&i| !seen[i]));
    let missing = n - found;
    let outcome = if found == 0 && n > 0 {
        ParseOutcome::Empty
    } else if out_of_range > 0 {
        ParseOutcome::OutOfRange
    } else if repeated > 0 {
        ParseOutcome::Repetition
    } else if missing > 0 {
        ParseOutcome::MissingIds
    } else if bare || s.answer_unclosed || (answer_tags && source != AnswerSource::AnswerTag) {
        ParseOutcome::WrongFormat
    } else {
        ParseOutcome::Ok
    };
    ListwiseParse {
        order,
        report: ParseReport {
            outcome,
            source,
            missing,
            repeated,
            out_of_range,
        },
        reasoning,
    }
}
