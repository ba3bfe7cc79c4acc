//! Shortening passages: by characters (REARANK: 400), by words (RankGPT: 300), by
//! tokens (Rank-R1: 512, through a [`TokenCounter`] that a model backend
//! implements), and fitting a whole window into a context budget.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Counts and cuts tokens with a model's tokenizer.
pub trait TokenCounter {
    /// Number of tokens of `text` (no special tokens added).
    fn count_tokens(&self, text: &str) -> usize;
    /// The longest prefix of `text` of at most `max` tokens, as text.
    fn truncate_tokens(&self, text: &str, max: usize) -> String;
}

/// How a passage is shortened before it goes into a prompt.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "by", content = "max")]
pub enum Truncation {
    /// Not at all.
    None,
    /// The first `n` characters (Unicode scalar values, as Python counts them).
    Chars(usize),
    /// REARANK's preparation: remove `Title: Content: `, strip, collapse every run of
    /// white space to one space, keep the first `n` characters.
    RearankChars(usize),
    /// The first `n` white-space-separated words, joined by single spaces (RankGPT).
    Words(usize),
    /// The first `n` tokens of the model's tokenizer (Rank-R1).
    Tokens(usize),
}

impl Truncation {
    /// Shortens `text`. Token truncation needs `counter`.
    pub fn apply(&self, text: &str, counter: Option<&dyn TokenCounter>) -> Result<String> {
        Ok(match *self {
            Truncation::None => text.to_owned(),
            Truncation::Chars(n) => first_chars(text, n).to_owned(),
            Truncation::RearankChars(n) => {
                let cleaned = text.replace("Title: Content: ", "");
                let collapsed = cleaned.split_whitespace().collect::<Vec<_>>().join(" ");
                first_chars(&collapsed, n).to_owned()
            }
            Truncation::Words(n) => text
                .split_whitespace()
                .take(n)
                .collect::<Vec<_>>()
                .join(" "),
            Truncation::Tokens(n) => match counter {
                Some(c) => c.truncate_tokens(text, n),
                None => return Err(Error::NeedsTokenizer),
            },
        })
    }
}

/// The first `n` characters of `text`.
pub fn first_chars(text: &str, n: usize) -> &str {
    match text.char_indices().nth(n) {
        Some((i, _)) => &text[..i],
        None => text,
    }
}

/// Result of fitting a window into a budget.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fitted {
    /// The passages, each cut to `cap` units where needed.
    pub passages: Vec<String>,
    /// The per-passage cap that was needed (`None`: everything fitted as it was).
    pub cap: Option<usize>,
    /// Size of the prompt with these passages, in the budget's unit.
    pub size: usize,
}

/// Shrinks the passages of a window, all to the same cap (in characters, or tokens
/// when a counter is given), until `size(passages)` — the size of the whole prompt
/// built from them — is at most `budget`. Finds the largest cap that fits by binary
/// search. Fails when even empty passages do not fit (the rest of the prompt is
/// already too long).
///
/// ```
/// use rerank_prompt::truncate::fit_to_budget;
/// let passages = vec!["a".repeat(100), "b".repeat(10)];
/// let fitted = fit_to_budget(&passages, 60, None, |ps| 20 + ps.iter().map(|p| p.len()).sum::<usize>())?;
/// assert_eq!(fitted.cap, Some(30)); // 20 + 30 + 10 = 60
/// # Ok::<(), rerank_prompt::Error>(())
/// ```
pub fn fit_to_budget(
    passages: &[String],
    budget: usize,
    counter: Option<&dyn TokenCounter>,
    size: impl Fn(&[String]) -> usize,
) -> Result<Fitted> {
    let full = size(passages);
    if full <= budget {
        return Ok(Fitted {
            passages: passages.to_vec(),
            cap: None,
            size: full,
        });
    }
    let cut = |cap: usize| -> Vec<String> {
        passages
            .iter()
            .map(|p| match counter {
                Some(c) => c.truncate_tokens(p, cap),
                None => first_chars(p, cap).to_owned(),
            })
            .collect()
    };
    let longest = passages
        .iter()
        .map(|p| counter.map_or_else(|| p.chars().count(), |c| c.count_tokens(p)))
        .max()
        .unwrap_or(0);
    let empty = size(&cut(0));
    if empty > budget {
        return Err(Error::DoesNotFit {
            budget,
            without_passages: empty,
        });
    }
    // Largest cap in [0, longest] with size <= budget.
    let (mut lo, mut hi) = (0usize, longest);
    while lo < hi {
        let mid = lo + (hi - lo).div_ceil(2);
        if size(&cut(mid)) <= budget {
            lo = mid;
        } else {
            hi = mid - 1;
        }
    }
    let passages = cut(lo);
    let size = size(&passages);
    Ok(Fitted {
        passages,
        cap: Some(lo),
        size,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn published_truncations() {
        let t = "Title: Content:   The  quick\n\tbrown fox ";
        assert_eq!(
            Truncation::RearankChars(400).apply(t, None).unwrap(),
            "The quick brown fox"
        );
        assert_eq!(
            Truncation::RearankChars(7).apply(t, None).unwrap(),
            "The qui"
        );
        assert_eq!(
            Truncation::Words(2).apply(t, None).unwrap(),
            "Title: Content:"
        );
        assert_eq!(Truncation::Chars(3).apply("héllo", None).unwrap(), "hél");
        assert!(matches!(
            Truncation::Tokens(5).apply("x", None),
            Err(Error::NeedsTokenizer)
        ));
    }

    #[test]
    fn fitting() {
        let ps = vec!["x".repeat(50); 4];
        let f = fit_to_budget(&ps, 1000, None, |p| p.iter().map(|s| s.len()).sum()).unwrap();
        assert_eq!(f.cap, None);
        let f = fit_to_budget(&ps, 101, None, |p| p.iter().map(|s| s.len()).sum()).unwrap();
        assert_eq!((f.cap, f.size), (Some(25), 100));
        assert!(fit_to_budget(&ps, 5, None, |p| 10
            + p.iter().map(|s| s.len()).sum::<usize>())
        .is_err());
    }
}
