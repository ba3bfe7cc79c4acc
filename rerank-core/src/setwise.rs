//! Setwise reranking (Rank-R1): the judge picks the best of a set, and a sort built on
//! that comparison finds the top `k`; the other candidates follow in first-stage
//! order.
//!
//! As in Rank-R1, the documents of a set are shuffled before every comparison (the
//! labels `[1]…[n]` stay in order), so that the model cannot simply prefer the first
//! position; the shuffle is seeded per query and can be switched off. With
//! `permutations > 1` each comparison is asked that many times, in different orders,
//! and the majority wins. A comparison with no usable answer keeps the set's top, as
//! Rank-R1 does, or gives the win to the first stage's best ([`Fallback`]).

use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::bubblesort::BubbleSort;
use crate::error::{Error, Result};
use crate::heapsort::HeapSort;
use crate::judge::{JudgeError, SetwiseAnswer};
use crate::machine::{CallSlot, Machine};
use crate::trace::CallTrace;
use crate::types::{Candidate, Query, Ranking};

/// The sort built on setwise comparisons.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum SortMethod {
    /// A heap with `num_child` children per node (Rank-R1's default).
    #[default]
    HeapSort,
    /// Sets sliding up from the bottom, `k` passes.
    BubbleSort,
}

/// Who wins a vote that ends in a tie.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum TieBreak {
    /// A random one of the tied candidates (Rank-R1), from the query's seeded generator.
    #[default]
    Random,
    /// The tied candidate that comes first in the set (the heap parent, the set's top).
    Earliest,
}

/// What a comparison without a usable answer does (every answer unreadable, out of
/// range, or the judge failed).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Fallback {
    /// Nothing moves: the set's first position wins (the heap parent, the top of a
    /// bubblesort window), as Rank-R1's code (llm-rankers' `best_ind = 0`) does. When
    /// most comparisons fail this scrambles the first stage's order: with every one
    /// failing, heapsort's top 10 is the first stage's 1st, then its last leaves.
    #[default]
    KeepTop,
    /// The candidate of the set that the first stage ranked highest wins, so a judge
    /// that never answers leaves the first stage's order exactly as it was.
    FirstStage,
}

/// Setwise configuration. Defaults: Rank-R1's heapsort with 19 children per node
/// (sets of 20), top 10, one shuffled permutation per comparison.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Setwise {
    /// The sort.
    pub method: SortMethod,
    /// Children per heap node; a set holds up to `num_child + 1` candidates.
    pub num_child: usize,
    /// How many top candidates to find.
    pub k: usize,
    /// Shuffle each set before showing it (Rank-R1 does).
    pub shuffle: bool,
    /// Times each comparison is asked (in different random orders when shuffling);
    /// the majority wins.
    pub permutations: usize,
    /// Who wins a tied vote.
    pub tie_break: TieBreak,
    /// Who wins a comparison without a usable answer.
    #[serde(default)]
    pub fallback: Fallback,
    /// Seed of the shuffles and random tie-breaks (combined with the query id, so a
    /// query's result does not depend on which other queries run with it).
    pub seed: u64,
}

impl Default for Setwise {
    fn default() -> Self {
        Setwise {
            method: SortMethod::HeapSort,
            num_child: 19,
            k: 10,
            shuffle: true,
            permutations: 1,
            tie_break: TieBreak::Random,
            fallback: Fallback::KeepTop,
            seed: 929,
        }
    }
}

impl Setwise {
    /// Checks the configuration.
    pub fn validate(&self) -> Result<()> {
        if self.num_child == 0 || self.k == 0 || self.permutations == 0 {
            return Err(Error::Config(
                "setwise: num_child, k and permutations must be at least 1".into(),
            ));
        }
        Ok(())
    }
}

fn query_seed(seed: u64, query_id: &str) -> u64 {
    // FNV-1a: stable across platforms and releases.
    let mut h = 0xcbf29ce484222325u64 ^ seed;
    for b in query_id.bytes() {
        h ^= b as u64;
        h = h.wrapping_mul(0x100000001b3);
    }
    h
}

enum Sorter {
    Heap(HeapSort),
    Bubble(BubbleSort),
}

/// One query's setwise sort.
pub(crate) struct SetwiseState {
    cfg: Setwise,
    query: Query,
    original: Vec<Candidate>,
    arr: Vec<Candidate>,
    sorter: Sorter,
    rng: ChaCha8Rng,
    /// The comparison in progress: the set (positions) and the orders shown.
    current: Option<(Vec<usize>, Vec<Vec<usize>>)>,
    finished: bool,
    calls: Vec<CallTrace>,
}

impl SetwiseState {
    pub(crate) fn new(cfg: &Setwise, query: Query, ranking: Vec<Candidate>) -> Self {
        let n = ranking.len();
        let sorter = match cfg.method {
            SortMethod::HeapSort => Sorter::Heap(HeapSort::new(n, cfg.num_child, cfg.k)),
            SortMethod::BubbleSort => Sorter::Bubble(BubbleSort::new(n, cfg.num_child, cfg.k)),
        };
        let rng = ChaCha8Rng::seed_from_u64(query_seed(cfg.seed, &query.id));
        SetwiseState {
            cfg: cfg.clone(),
            query,
            original: ranking.clone(),
            arr: ranking,
            sorter,
            rng,
            current: None,
            finished: false,
            calls: Vec::new(),
        }
    }

    /// What a failed comparison does, for its trace.
    fn fallback_note(&self) -> &'static str {
        match self.cfg.fallback {
            Fallback::KeepTop => "; no swap (Rank-R1's policy)",
            Fallback::FirstStage => "; the first stage's best of the set wins",
        }
    }

    /// Index in `set` of the candidate the first stage ranked highest.
    fn first_stage_best(&self, set: &[usize]) -> Option<usize> {
        let rank = |pos: usize| {
            let id = self.arr[pos].id();
            self.original.iter().position(|c| c.id() == id)
        };
        (0..set.len()).min_by_key(|&i| rank(set[i]).unwrap_or(usize::MAX))
    }

    fn method_name(&self) -> &'static str {
        match self.cfg.method {
            SortMethod::HeapSort => "heapsort",
            SortMethod::BubbleSort => "bubblesort",
        }
    }
}

impl Machine for SetwiseState {
    type Answer = SetwiseAnswer;

    fn query(&self) -> &Query {
        &self.query
    }

    fn ranking(&self) -> &[Candidate] {
        &self.arr
    }

    fn pending(&mut self) -> Vec<Vec<usize>> {
        if self.finished {
            return Vec::new();
        }
        if self.current.is_none() {
            let next = match &mut self.sorter {
                Sorter::Heap(h) => h.next_set(&mut self.arr),
                Sorter::Bubble(b) => b.next_set(&mut self.arr),
            };
            let Some(set) = next else {
                self.finished = true;
                return Vec::new();
            };
            let shown = (0..self.cfg.permutations)
                .map(|_| {
                    let mut order = set.clone();
                    if self.cfg.shuffle {
                        order.shuffle(&mut self.rng);
                    }
                    order
                })
                .collect();
            self.current = Some((set, shown));
        }
        self.current
            .as_ref()
            .map(|(_, shown)| shown.clone())
            .unwrap_or_default()
    }

    fn resolve(&mut self, slots: Vec<CallSlot<SetwiseAnswer>>) {
        let Some((set, _)) = self.current.take() else {
            return;
        };
        let mut votes = vec![0usize; set.len()];
        for slot in slots {
            let mut trace =
                slot.trace(&self.query, self.method_name(), self.calls.len(), &self.arr);
            match slot.answer {
                Ok(a) => {
                    match a.best.and_then(|b| slot.positions.get(b)) {
                        Some(pos) => {
                            let in_set = set
                                .iter()
                                .position(|p| p == pos)
                                .expect("shown positions come from the set");
                            votes[in_set] += 1;
                            trace.applied = true;
                        }
                        None => {
                            trace.error = Some(
                                match a.best {
                                    Some(b) => format!(
                                        "picked [{}] of a set of {}",
                                        b + 1,
                                        slot.positions.len()
                                    ),
                                    None => "no usable answer".into(),
                                } + self.fallback_note(),
                            )
                        }
                    }
                    trace.record = a.record;
                }
                Err(JudgeError(e)) => {
                    trace.error = Some(format!("judge failed: {e}{}", self.fallback_note()))
                }
            }
            self.calls.push(trace);
        }
        let max = votes.iter().copied().max().unwrap_or(0);
        let winner = if max == 0 {
            match self.cfg.fallback {
                Fallback::KeepTop => None,
                Fallback::FirstStage => self.first_stage_best(&set),
            }
        } else {
            let tied: Vec<usize> = (0..votes.len()).filter(|&i| votes[i] == max).collect();
            Some(match self.cfg.tie_break {
                _ if tied.len() == 1 => tied[0],
                TieBreak::Earliest => tied[0],
                TieBreak::Random => tied[self.rng.gen_range(0..tied.len())],
            })
        };
        match &mut self.sorter {
            Sorter::Heap(h) => h.answer(&mut self.arr, winner),
            Sorter::Bubble(b) => b.answer(&mut self.arr, winner),
        }
    }

    fn is_done(&self) -> bool {
        self.finished
    }

    fn finish(self: Box<Self>) -> Ranking {
        let order = match &self.sorter {
            Sorter::Heap(h) => h.order(),
            Sorter::Bubble(b) => b.order(),
        };
        let k = self.cfg.k.min(self.arr.len());
        let top: Vec<Candidate> = order[..k].iter().map(|&i| self.arr[i].clone()).collect();
        let in_top: std::collections::HashSet<&str> = top.iter().map(|c| c.id()).collect();
        let rest: Vec<Candidate> = self
            .original
            .iter()
            .filter(|c| !in_top.contains(c.id()))
            .cloned()
            .collect();
        Ranking {
            query_id: self.query.id,
            candidates: top.into_iter().chain(rest).collect(),
            calls: self.calls,
        }
    }
}
