//! REARANK's reward (Zhang et al., 2025, §3.3): `r = 0.8·r_rank + 0.1·r_format1 +
//! 0.1·r_format2`, with `r_rank` the normalised nDCG@10 gain of the answer's order over
//! the window's initial order,
//!
//! ```text
//! r_rank = (nDCG@10(answer) − nDCG@10(initial)) / (nDCG@10(ideal) − nDCG@10(initial))
//! ```
//!
//! nDCG with the linear gain (`DCG = Σ rel_i / log2(i + 1)`, trec_eval's `ndcg_cut`,
//! through [`rerank_eval::measures::ndcg_cut_of_labels`]) over the window's passages
//! and their graded labels.
//!
//! The paper gives the formula but not the code (lezhang7/Rearank has no training
//! code), so these choices are ours, each a parameter where it could matter:
//!
//! - **The answer's order** is what inference reranks with: `rerank-prompt`'s listwise
//!   parser (the last `<answer>` block, else the text after `</think>`, else the whole
//!   output; repeats and out-of-range identifiers dropped, missing ones appended in
//!   their initial order). An output with no identifier keeps the initial order, so it
//!   earns `r_rank = 0`, neither reward nor penalty.
//! - **`r_format1`** (`think_answer`): 1 when the output holds a `<think>…</think>` block
//!   and an `<answer>…</answer>` block (tags as the prompt writes them, dot matching new
//!   lines).
//! - **`r_format2`** (`answer_format`): 1 when the last `<answer>` block is closed and,
//!   stripped, is `[a] > [b] > …` exactly: bracketed ASCII numbers joined by `>` with
//!   optional spaces or new lines. The form only; the order's quality is `r_rank`'s.
//! - **An initial order that is already ideal** (the denominator is 0): `r_rank =
//!   (nDCG(answer) − nDCG(initial)) / (nDCG(ideal) − nDCG(worst))`, 0 for keeping the
//!   order and down to −1 for the worst one, so a model is still taught not to spoil a
//!   perfect window; 0 when every order scores the same (all labels equal).
//! - **Variants** from the paper's ablation: [`RankGain::Raw`] (`r_rank = nDCG(answer)`)
//!   and [`RankGain::Difference`] (`nDCG(answer) − nDCG(initial)`).
//!
//! Bounds: `r_rank` lies in `[(worst − initial)/(ideal − initial), 1]` (normalised),
//! `[worst, ideal]` (raw), `[worst − initial, ideal − initial]` (difference), with
//! `worst` the nDCG of the labels in ascending order; see [`Reward::bounds`].

use regex::Regex;
use rerank_core::AnswerSource;
use rerank_eval::measures::ndcg_cut_of_labels;
use rerank_prompt::parse::{parse_listwise, sections};

use super::text::py_strip;
use super::{ListwiseTruth, Part, Reward, Scored};

/// Which rank term REARANK's reward uses.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum RankGain {
    /// The paper's: the gain over the initial order, divided by the most there was to
    /// gain.
    #[default]
    Normalized,
    /// nDCG@k of the answer's order (the paper's ablation).
    Raw,
    /// nDCG@k of the answer minus that of the initial order (the paper's ablation).
    Difference,
}

/// The weights of REARANK's three terms.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RearankWeights {
    /// Of `r_rank` (0.8).
    pub rank: f64,
    /// Of `r_format1`, the reasoning and answer blocks (0.1).
    pub think_answer: f64,
    /// Of `r_format2`, the `[a] > [b]` form of the answer (0.1).
    pub answer_format: f64,
}

impl Default for RearankWeights {
    fn default() -> Self {
        RearankWeights {
            rank: 0.8,
            think_answer: 0.1,
            answer_format: 0.1,
        }
    }
}

/// REARANK's reward; see the module documentation. Parts: `rank` (`r_rank`), `ndcg`
/// (of the answer's order), `think_answer` and `answer_format` (0 or 1).
///
/// ```
/// use rerank_rl::reward::{ListwiseTruth, RearankReward, Reward};
/// let r = RearankReward::default();
/// let truth = ListwiseTruth { labels: vec![0, 0, 2, 1] }; // [3] best, then [4]
/// let perfect = r.score("<think>3 answers it</think><answer>[3] > [4] > [1] > [2]</answer>", &truth);
/// assert_eq!(perfect.part("rank"), Some(1.0));
/// assert!((perfect.total - 1.0).abs() < 1e-12);
/// let unchanged = r.score("<think>…</think><answer>[1] > [2] > [3] > [4]</answer>", &truth);
/// assert_eq!(unchanged.part("rank"), Some(0.0));
/// assert!((unchanged.total - 0.2).abs() < 1e-12); // the two format terms only
/// ```
#[derive(Clone, Debug)]
pub struct RearankReward {
    /// The rank term.
    pub gain: RankGain,
    /// The weights.
    pub weights: RearankWeights,
    /// The nDCG cutoff (10).
    pub depth: usize,
    think: Regex,
    answer: Regex,
    form: Regex,
}

impl Default for RearankReward {
    fn default() -> Self {
        RearankReward::new(RankGain::Normalized, RearankWeights::default())
    }
}

/// nDCG@k values of a window's orders.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Anchors {
    initial: f64,
    ideal: f64,
    worst: f64,
}

impl RearankReward {
    /// The reward with this rank term and these weights, at depth 10.
    pub fn new(gain: RankGain, weights: RearankWeights) -> Self {
        RearankReward {
            gain,
            weights,
            depth: 10,
            think: Regex::new(r"(?s)<think>.*?</think>").expect("a valid pattern"),
            answer: Regex::new(r"(?s)<answer>.*?</answer>").expect("a valid pattern"),
            form: Regex::new(r"^\[[0-9]+\](?:[ \t\r\n]*>[ \t\r\n]*\[[0-9]+\])*$")
                .expect("a valid pattern"),
        }
    }

    fn anchors(&self, labels: &[i32]) -> Anchors {
        let mut sorted = labels.to_vec();
        sorted.sort_unstable();
        let worst = ndcg_cut_of_labels(&sorted, labels, self.depth);
        sorted.reverse();
        Anchors {
            initial: ndcg_cut_of_labels(labels, labels, self.depth),
            ideal: ndcg_cut_of_labels(&sorted, labels, self.depth),
            worst,
        }
    }

    fn rank_term(&self, ndcg: f64, a: Anchors) -> f64 {
        match self.gain {
            RankGain::Raw => ndcg,
            RankGain::Difference => ndcg - a.initial,
            RankGain::Normalized => {
                if a.ideal - a.initial > 1e-12 {
                    (ndcg - a.initial) / (a.ideal - a.initial)
                } else if a.ideal - a.worst > 1e-12 {
                    (ndcg - a.initial) / (a.ideal - a.worst)
                } else {
                    0.0
                }
            }
        }
    }

    /// `r_format1`: a reasoning block and an answer block.
    pub fn think_answer(&self, completion: &str) -> bool {
        self.think.is_match(completion) && self.answer.is_match(completion)
    }

    /// `r_format2`: the last answer block is closed and reads `[a] > [b] > …`.
    pub fn answer_format(&self, completion: &str) -> bool {
        let s = sections(completion);
        match s.answer {
            Some((text, AnswerSource::AnswerTag)) if !s.answer_unclosed => {
                self.form.is_match(py_strip(text))
            }
            _ => false,
        }
    }
}

impl Reward for RearankReward {
    type Truth = ListwiseTruth;

    fn name(&self) -> &'static str {
        "rearank"
    }

    fn score(&self, completion: &str, truth: &ListwiseTruth) -> Scored {
        let labels = &truth.labels;
        let order = parse_listwise(completion, labels.len(), true).order;
        let ranked: Vec<i32> = order.iter().map(|&i| labels[i]).collect();
        let ndcg = ndcg_cut_of_labels(&ranked, labels, self.depth);
        let rank = self.rank_term(ndcg, self.anchors(labels));
        let f1 = if self.think_answer(completion) {
            1.0
        } else {
            0.0
        };
        let f2 = if self.answer_format(completion) {
            1.0
        } else {
            0.0
        };
        let w = self.weights;
        Scored {
            total: w.rank * rank + w.think_answer * f1 + w.answer_format * f2,
            parts: vec![
                Part {
                    name: "rank",
                    value: rank,
                },
                Part {
                    name: "ndcg",
                    value: ndcg,
                },
                Part {
                    name: "think_answer",
                    value: f1,
                },
                Part {
                    name: "answer_format",
                    value: f2,
                },
            ],
        }
    }

    fn bounds(&self, truth: &ListwiseTruth) -> (f64, f64) {
        let a = self.anchors(&truth.labels);
        let (lo, hi) = (self.rank_term(a.worst, a), self.rank_term(a.ideal, a));
        let w = self.weights;
        let fmt = |x: f64| (x.min(0.0), x.max(0.0));
        let (r_lo, r_hi) = if w.rank >= 0.0 {
            (w.rank * lo, w.rank * hi)
        } else {
            (w.rank * hi, w.rank * lo)
        };
        let (a_lo, a_hi) = fmt(w.think_answer);
        let (b_lo, b_hi) = fmt(w.answer_format);
        (r_lo + a_lo + b_lo, r_hi + a_hi + b_hi)
    }
}
