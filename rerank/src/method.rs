//! The published reranking setups by name, and what they mean as an algorithm plus a
//! prompt template.

use std::fmt;
use std::str::FromStr;

use rerank_core::{Coverage, Fallback, Setwise, SlidingWindow, SortMethod};
use rerank_model::Scoring;
use rerank_prompt::TemplateKind;

use crate::error::Error;

/// A reranking method.
///
/// | method | template | algorithm (defaults) |
/// | --- | --- | --- |
/// | `rearank` | REARANK's reasoning prompt | sliding window 20, step 10, bottom up |
/// | `rankgpt` | RankGPT's prompt (no reasoning) | sliding window 20, step 10 |
/// | `first` | RankGPT's prompt, read in one forward pass (FIRST: the window ordered by each identifier's log-probability as the answer's first; no text generated) | sliding window 20, step 10 |
/// | `rank-r1` | Rank-R1's reasoning setwise prompt | heapsort, sets of 20 (19 children), top 10 |
/// | `setwise` | Setwise (llm-rankers) prompt | heapsort, sets of 4 (3 children), top 10 |
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Method {
    /// REARANK (listwise with reasoning).
    Rearank,
    /// RankGPT (listwise).
    RankGpt,
    /// FIRST (listwise, single pass): RankGPT's prompt, each window ordered by the
    /// log-probabilities of its identifiers at the answer's first position
    /// ([`rerank_model::Scoring::Likelihood`]).
    First,
    /// Rank-R1 (setwise with reasoning).
    RankR1,
    /// Setwise heapsort with the llm-rankers prompt.
    Setwise,
}

impl Method {
    /// Every method.
    pub const ALL: [Method; 5] = [
        Method::Rearank,
        Method::RankGpt,
        Method::First,
        Method::RankR1,
        Method::Setwise,
    ];

    /// The name used on the command line and in reports.
    pub fn name(self) -> &'static str {
        match self {
            Method::Rearank => "rearank",
            Method::RankGpt => "rankgpt",
            Method::First => "first",
            Method::RankR1 => "rank-r1",
            Method::Setwise => "setwise",
        }
    }

    /// The built-in template this method uses.
    pub fn template_name(self) -> &'static str {
        match self {
            Method::First => "rankgpt",
            m => m.name(),
        }
    }

    /// How the method reads the model: [`Scoring::Likelihood`] for FIRST, generated
    /// answers for the others (a builder or command-line option can change it).
    pub fn scoring(self) -> Scoring {
        match self {
            Method::First => Scoring::Likelihood,
            _ => Scoring::Generate,
        }
    }

    /// Whether this method's template orders windows or picks from sets.
    pub fn template_kind(self) -> TemplateKind {
        match self {
            Method::Rearank | Method::RankGpt | Method::First => TemplateKind::Listwise,
            Method::RankR1 | Method::Setwise => TemplateKind::Setwise,
        }
    }

    /// The algorithm with this method's published parameters, changed by `p`.
    pub fn algorithm(self, p: &MethodParams) -> Algorithm {
        match self {
            Method::Rearank | Method::RankGpt | Method::First => {
                Algorithm::Listwise(SlidingWindow {
                    rank_start: 0,
                    rank_end: p.top,
                    window: p.window,
                    step: p.step,
                    passes: p.passes,
                    coverage: Coverage::RankGpt,
                })
            }
            Method::RankR1 | Method::Setwise => Algorithm::Setwise(Setwise {
                method: SortMethod::HeapSort,
                num_child: p
                    .num_child
                    .unwrap_or(if self == Method::RankR1 { 19 } else { 3 }),
                k: p.k,
                fallback: p.fallback,
                ..Setwise::default()
            }),
        }
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Method {
    type Err = Error;
    fn from_str(s: &str) -> Result<Method, Error> {
        Method::ALL
            .into_iter()
            .find(|m| m.name() == s.to_ascii_lowercase())
            .ok_or_else(|| {
                Error::Config(format!(
                    "unknown method '{s}'; choose one of rearank, rankgpt, first, rank-r1, setwise"
                ))
            })
    }
}

/// The knobs of the published methods.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MethodParams {
    /// How many first-stage candidates are reranked (the rest keep their order
    /// below them). Default 100.
    pub top: usize,
    /// Sliding window size (listwise). Default 20.
    pub window: usize,
    /// Sliding window step (listwise). Default 10.
    pub step: usize,
    /// Sliding window passes (listwise). Default 1.
    pub passes: usize,
    /// Children per heap node (setwise); `None`: the method's own (19 for Rank-R1,
    /// 3 for Setwise).
    pub num_child: Option<usize>,
    /// How many top documents the setwise sort produces. Default 10.
    pub k: usize,
    /// Who wins a setwise comparison without a usable answer. Default: the set's top
    /// stays, as Rank-R1 does.
    pub fallback: Fallback,
}

impl Default for MethodParams {
    fn default() -> Self {
        MethodParams {
            top: 100,
            window: 20,
            step: 10,
            passes: 1,
            num_child: None,
            k: 10,
            fallback: Fallback::KeepTop,
        }
    }
}

/// A ranking algorithm of `rerank-core`, configured.
#[derive(Clone, Debug, PartialEq)]
pub enum Algorithm {
    /// A sliding window asking the model to order each window.
    Listwise(SlidingWindow),
    /// A setwise sort asking the model for the best of each set.
    Setwise(Setwise),
}

impl Algorithm {
    /// Checks the configuration.
    pub fn validate(&self) -> rerank_core::Result<()> {
        match self {
            Algorithm::Listwise(w) => w.validate(),
            Algorithm::Setwise(s) => s.validate(),
        }
    }
}
