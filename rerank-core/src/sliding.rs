//! Listwise reranking with a sliding window (RankGPT, REARANK).
//!
//! The window walks from the bottom of the ranked list to the top: with 100
//! candidates, a window of 20 and a step of 10 it visits positions 80–100, 70–90, …,
//! 0–20 (9 windows), and each window's answer reorders only that window, so a strong
//! document found low in the list can climb to the top in a single pass.

use std::ops::Range;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::judge::{is_permutation, JudgeError, ListwiseAnswer};
use crate::machine::{CallSlot, Machine};
use crate::trace::CallTrace;
use crate::types::{Candidate, Query};

/// Which windows a pass visits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Coverage {
    /// Exactly the windows of RankGPT's loop: start at `rank_end - window`, move up by
    /// `step` while the start is at least `rank_start`. When `rank_end - rank_start -
    /// window` is not a multiple of `step`, the top `(rank_end - rank_start - window)
    /// % step` positions are never inside a window (RankGPT's behaviour). Windows are
    /// computed on `rank_end` as given, then cut to the candidates that exist; a
    /// window left with fewer than two candidates is skipped rather than sent to the
    /// model (RankGPT would send it).
    #[default]
    RankGpt,
    /// Like `RankGpt`, but the last window is moved to start at `rank_start`, so every
    /// position in `rank_start..rank_end` is covered (needs `step <= window`).
    Full,
}

/// Sliding-window configuration. Defaults: positions 0–100, window 20, step 10, one
/// pass, RankGPT's windows.
///
/// ```
/// use rerank_core::SlidingWindow;
/// let w = SlidingWindow::default();
/// let windows = w.windows(100);
/// assert_eq!(windows.len(), 9);
/// assert_eq!(windows[0], 80..100);
/// assert_eq!(windows[8], 0..20);
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SlidingWindow {
    /// First position (0-based) that may move.
    pub rank_start: usize,
    /// One past the last position that may move.
    pub rank_end: usize,
    /// Candidates per window.
    pub window: usize,
    /// How far the window moves up each time.
    pub step: usize,
    /// Number of passes (each over the result of the previous one).
    pub passes: usize,
    /// Which windows a pass visits.
    pub coverage: Coverage,
}

impl Default for SlidingWindow {
    fn default() -> Self {
        SlidingWindow {
            rank_start: 0,
            rank_end: 100,
            window: 20,
            step: 10,
            passes: 1,
            coverage: Coverage::RankGpt,
        }
    }
}

impl SlidingWindow {
    /// Checks the configuration.
    pub fn validate(&self) -> Result<()> {
        let bad = |m: &str| Err(Error::Config(format!("sliding window: {m}")));
        if self.window == 0 || self.step == 0 || self.passes == 0 {
            return bad("window, step and passes must be at least 1");
        }
        if self.rank_end <= self.rank_start {
            return bad("rank_end must be greater than rank_start");
        }
        if self.coverage == Coverage::Full && self.step > self.window {
            return bad(
                "full coverage needs step <= window (otherwise positions fall between windows)",
            );
        }
        Ok(())
    }

    /// The windows of one pass over `n` candidates, in visiting order (bottom up).
    pub fn windows(&self, n: usize) -> Vec<Range<usize>> {
        let mut out = Vec::new();
        let (start0, end0) = (self.rank_start as isize, self.rank_end as isize);
        let (w, s) = (self.window as isize, self.step.max(1) as isize);
        let clip =
            |r: Range<isize>| (r.start.max(0) as usize).min(n)..(r.end.max(0) as usize).min(n);
        match self.coverage {
            Coverage::RankGpt => {
                let (mut start, mut end) = (end0 - w, end0);
                while start >= start0 {
                    let r = clip(start..end);
                    if r.len() > 1 {
                        out.push(r);
                    }
                    start -= s;
                    end -= s;
                }
            }
            Coverage::Full => {
                let top = end0.min(n as isize);
                let mut end = top;
                loop {
                    if end - w <= start0 {
                        // The last window, moved up to start at rank_start.
                        let r = clip(start0..(start0 + w).min(top));
                        if r.len() > 1 {
                            out.push(r);
                        }
                        break;
                    }
                    let r = clip(end - w..end);
                    if r.len() > 1 {
                        out.push(r);
                    }
                    end -= s;
                }
            }
        }
        out
    }

    /// Number of judge calls for `n` candidates (all passes).
    pub fn num_calls(&self, n: usize) -> usize {
        self.windows(n).len() * self.passes
    }
}

/// One query's progress through the windows.
pub(crate) struct SlidingState {
    query: Query,
    ranking: Vec<Candidate>,
    windows: Vec<Range<usize>>,
    next: usize,
    calls: Vec<CallTrace>,
}

impl SlidingState {
    pub(crate) fn new(cfg: &SlidingWindow, query: Query, ranking: Vec<Candidate>) -> Self {
        let one = cfg.windows(ranking.len());
        let windows = (0..cfg.passes).flat_map(|_| one.iter().cloned()).collect();
        SlidingState {
            query,
            ranking,
            windows,
            next: 0,
            calls: Vec::new(),
        }
    }
}

impl Machine for SlidingState {
    type Answer = ListwiseAnswer;

    fn query(&self) -> &Query {
        &self.query
    }

    fn ranking(&self) -> &[Candidate] {
        &self.ranking
    }

    fn pending(&mut self) -> Vec<Vec<usize>> {
        match self.windows.get(self.next) {
            Some(r) => vec![r.clone().collect()],
            None => Vec::new(),
        }
    }

    fn resolve(&mut self, slots: Vec<CallSlot<ListwiseAnswer>>) {
        for slot in slots {
            let range = self.windows[self.next].clone();
            self.next += 1;
            let mut trace = slot.trace(
                &self.query,
                "sliding_window",
                self.calls.len(),
                &self.ranking,
            );
            match slot.answer {
                Ok(a)
                    if a.record.parse.as_ref().map(|p| p.outcome)
                        == Some(crate::trace::ParseOutcome::Empty) =>
                {
                    trace.error = Some("no usable answer; window kept".into());
                    trace.record = a.record;
                }
                Ok(a) if is_permutation(&a.order, range.len()) => {
                    let window: Vec<Candidate> = a
                        .order
                        .iter()
                        .map(|&i| self.ranking[range.start + i].clone())
                        .collect();
                    self.ranking[range.clone()].clone_from_slice(&window);
                    trace.applied = true;
                    trace.record = a.record;
                }
                Ok(a) => {
                    trace.error = Some(format!(
                        "the judge's order {:?} is not a permutation of the {} window positions; window kept",
                        a.order,
                        range.len()
                    ));
                    trace.record = a.record;
                }
                Err(JudgeError(e)) => trace.error = Some(format!("judge failed: {e}; window kept")),
            }
            self.calls.push(trace);
        }
    }

    fn is_done(&self) -> bool {
        self.next >= self.windows.len()
    }

    fn finish(self: Box<Self>) -> crate::types::Ranking {
        crate::types::Ranking {
            query_id: self.query.id,
            candidates: self.ranking,
            calls: self.calls,
        }
    }
}
