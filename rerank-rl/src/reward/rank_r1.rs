//! Rank-R1's reward (ielab/llm-rankers, `Rank-R1/train_grpo.py`, `reward_func_setwise`):
//! 1 when the completion matches `<think>.*?</think>\s*<answer>(.*?)</answer>` (dot
//! matching new lines, case as written) and the group, stripped, is the positive's
//! label such as `[7]`; else 0.

use regex::Regex;
use rerank_prompt::parse::{parse_setwise, reference_regex, SetwiseMode};

use super::text::{py_strip, PY_SPACE};
use super::{Part, Reward, Scored, SetwiseTruth};

/// Which answers Rank-R1's reward accepts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum RankR1Rule {
    /// The published rule, exactly: the reasoning block, then the answer block holding
    /// exactly `[k]` (Python's `re.search(pattern, completion, re.DOTALL)` and
    /// `label == group.strip()`, reproduced character for character: case as written,
    /// Python's whitespace).
    #[default]
    Exact,
    /// The published rule, or else the pick `rerank-prompt`'s lenient setwise parser
    /// reads (`3`, `Document 3`, a bare `[3]` without tags, tags in any case): what
    /// `--setwise-parse lenient` reranks with at inference.
    Lenient,
}

/// Rank-R1's reward; see the module documentation. Parts: `exact` (the published
/// rule) and `lenient` (the lenient reading), each 0 or 1; the total is the one the
/// [`RankR1Rule`] names.
///
/// ```
/// use rerank_rl::reward::{RankR1Reward, Reward, SetwiseTruth};
/// let r = RankR1Reward::default();
/// let truth = SetwiseTruth { positive: 6, n: 20 };
/// assert_eq!(r.score("<think>7 is on topic</think>\n<answer> [7] </answer>", &truth).total, 1.0);
/// assert_eq!(r.score("<think>hm</think><answer>[3]</answer>", &truth).total, 0.0);
/// assert_eq!(r.score("<answer>[7]</answer>", &truth).total, 0.0); // no reasoning block
/// ```
#[derive(Clone, Debug)]
pub struct RankR1Reward {
    /// Which answers count.
    pub rule: RankR1Rule,
    exact: Regex,
    lenient: Regex,
}

impl Default for RankR1Reward {
    fn default() -> Self {
        RankR1Reward::new(RankR1Rule::Exact)
    }
}

/// The published pattern.
pub const RANK_R1_PATTERN: &str = r"<think>.*?</think>\s*<answer>(.*?)</answer>";

impl RankR1Reward {
    /// The reward under `rule`.
    pub fn new(rule: RankR1Rule) -> Self {
        let exact = Regex::new(&format!(
            r"(?s)<think>.*?</think>{PY_SPACE}*<answer>(.*?)</answer>"
        ))
        .expect("a valid pattern");
        let lenient = reference_regex(RANK_R1_PATTERN).expect("a valid pattern");
        RankR1Reward {
            rule,
            exact,
            lenient,
        }
    }

    /// Whether `completion` has the published form (`<think>…</think>` then
    /// `<answer>…</answer>`), whatever it picks.
    pub fn in_format(&self, completion: &str) -> bool {
        self.exact.is_match(completion)
    }

    /// Whether the published rule accepts `completion` for `truth`.
    pub fn exact(&self, completion: &str, truth: &SetwiseTruth) -> bool {
        self.exact
            .captures(completion)
            .and_then(|c| c.get(1))
            .is_some_and(|g| py_strip(g.as_str()) == truth.label())
    }

    /// Whether the lenient reading picks the positive.
    pub fn lenient(&self, completion: &str, truth: &SetwiseTruth) -> bool {
        self.exact(completion, truth)
            || parse_setwise(completion, truth.n, &self.lenient, SetwiseMode::Lenient).best
                == Some(truth.positive)
    }
}

impl Reward for RankR1Reward {
    type Truth = SetwiseTruth;

    fn name(&self) -> &'static str {
        "rank-r1"
    }

    fn score(&self, completion: &str, truth: &SetwiseTruth) -> Scored {
        let exact = self.exact(completion, truth);
        let lenient = exact || self.lenient(completion, truth);
        let as_f = |b: bool| if b { 1.0 } else { 0.0 };
        let total = match self.rule {
            RankR1Rule::Exact => as_f(exact),
            RankR1Rule::Lenient => as_f(lenient),
        };
        Scored {
            total,
            parts: vec![
                Part {
                    name: "exact",
                    value: as_f(exact),
                },
                Part {
                    name: "lenient",
                    value: as_f(lenient),
                },
            ],
        }
    }

    fn bounds(&self, _truth: &SetwiseTruth) -> (f64, f64) {
        (0.0, 1.0)
    }
}
