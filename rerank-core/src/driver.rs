//! Many queries at once: each step gathers every request that is ready, across all
//! queries, into one batch call to the judge.
//!
//! Within a query the algorithm's order is kept (a sliding window waits for the window
//! below it; a heapsort for its previous comparison), so a step holds at most one
//! window or comparison per query — plus the permutations of that comparison when
//! setwise voting is on.

use crate::judge::{JudgeError, JudgeRequest, ListwiseJudge, SetwiseJudge};
use crate::machine::{CallSlot, Machine};
use crate::setwise::{Setwise, SetwiseState};
use crate::sliding::{SlidingState, SlidingWindow};
use crate::types::{Candidate, Query, Ranking};
use crate::Result;

/// How the driver batches.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DriverOptions {
    /// Most requests in one judge call (0: no limit). A query's voting permutations
    /// are never split across calls, so a call may exceed this by that many.
    pub max_batch: usize,
}

/// Reranks every query with sliding windows, batching windows across queries.
/// `on_done` sees each query's result as soon as it is complete (to write it out);
/// the results are also returned, in input order.
///
/// ```
/// use rerank_core::{candidates_from_docs, oracle::LabelJudge, rerank_listwise, Document, DriverOptions, Query, SlidingWindow};
/// let docs = (0..30).map(|i| Document::new(format!("d{i}"), "text"));
/// let candidates = candidates_from_docs(docs);
/// let mut judge = LabelJudge::new([("q", "d29", 2), ("q", "d28", 1)]);
/// let out = rerank_listwise(&mut judge, &SlidingWindow::default(), vec![(Query::new("q", "x"), candidates)], &DriverOptions::default(), |_| {})?;
/// assert_eq!(&out[0].ids()[..2], &["d29", "d28"]);
/// # Ok::<(), rerank_core::Error>(())
/// ```
pub fn rerank_listwise(
    judge: &mut impl ListwiseJudge,
    method: &SlidingWindow,
    queries: Vec<(Query, Vec<Candidate>)>,
    opts: &DriverOptions,
    on_done: impl FnMut(&Ranking),
) -> Result<Vec<Ranking>> {
    method.validate()?;
    let machines = queries
        .into_iter()
        .map(|(q, c)| Box::new(SlidingState::new(method, q, c)))
        .collect();
    Ok(drive_all(
        machines,
        opts,
        |reqs| judge.rank_windows(reqs),
        on_done,
    ))
}

/// Reranks every query with setwise comparisons (heapsort or bubblesort), batching
/// comparisons across queries.
pub fn rerank_setwise(
    judge: &mut impl SetwiseJudge,
    method: &Setwise,
    queries: Vec<(Query, Vec<Candidate>)>,
    opts: &DriverOptions,
    on_done: impl FnMut(&Ranking),
) -> Result<Vec<Ranking>> {
    method.validate()?;
    let machines = queries
        .into_iter()
        .map(|(q, c)| Box::new(SetwiseState::new(method, q, c)))
        .collect();
    Ok(drive_all(
        machines,
        opts,
        |reqs| judge.pick_best(reqs),
        on_done,
    ))
}

/// Where a streaming driver gets queries from: a server's queue, say.
///
/// The driver asks before every step, so queries that arrive while others are being
/// reranked join the next batch (continuous batching) instead of waiting for the
/// whole batch to end.
pub trait QueryFeed {
    /// The queries that have arrived. With `wait` (nothing is being reranked) it may
    /// block until some arrive; without, it returns at once (an empty list when none
    /// has). `None`: the feed is closed, and the driver ends once the queries it has
    /// are done.
    fn arrivals(&mut self, wait: bool) -> Option<Vec<(Query, Vec<Candidate>)>>;
}

/// Reranks queries from a feed with sliding windows as they arrive, batching windows
/// across whatever queries are in progress; `on_done` gets each query's ranking as
/// soon as it is complete. Returns when the feed is closed and every query is done.
pub fn rerank_listwise_feed(
    judge: &mut impl ListwiseJudge,
    method: &SlidingWindow,
    feed: &mut impl QueryFeed,
    opts: &DriverOptions,
    mut on_done: impl FnMut(Ranking),
) -> Result<()> {
    method.validate()?;
    drive(
        |wait| {
            feed.arrivals(wait).map(|qs| {
                qs.into_iter()
                    .map(|(q, c)| Box::new(SlidingState::new(method, q, c)))
                    .collect()
            })
        },
        opts,
        |reqs| judge.rank_windows(reqs),
        |_, r| on_done(r),
    );
    Ok(())
}

/// [`rerank_listwise_feed`] for setwise sorts.
pub fn rerank_setwise_feed(
    judge: &mut impl SetwiseJudge,
    method: &Setwise,
    feed: &mut impl QueryFeed,
    opts: &DriverOptions,
    mut on_done: impl FnMut(Ranking),
) -> Result<()> {
    method.validate()?;
    drive(
        |wait| {
            feed.arrivals(wait).map(|qs| {
                qs.into_iter()
                    .map(|(q, c)| Box::new(SetwiseState::new(method, q, c)))
                    .collect()
            })
        },
        opts,
        |reqs| judge.pick_best(reqs),
        |_, r| on_done(r),
    );
    Ok(())
}

/// All of `machines` at once: the results in input order.
fn drive_all<A, M: Machine<Answer = A>>(
    machines: Vec<Box<M>>,
    opts: &DriverOptions,
    call: impl FnMut(&[JudgeRequest<'_>]) -> Vec<Result<A, JudgeError>>,
    mut on_done: impl FnMut(&Ranking),
) -> Vec<Ranking> {
    let n = machines.len();
    let mut once = Some(machines);
    let mut results: Vec<Option<Ranking>> = (0..n).map(|_| None).collect();
    drive(
        |_| once.take(),
        opts,
        call,
        |i, r| {
            on_done(&r);
            results[i] = Some(r);
        },
    );
    results
        .into_iter()
        .map(|r| r.expect("every query finishes"))
        .collect()
}

/// The driver's loop: admit what the feed has, gather one request per active query
/// (its voting permutations together), call the judge once, resolve, retire finished
/// queries (`on_done` gets each one's admission index and ranking). Ends when the feed
/// is closed and nothing is active.
fn drive<A, M: Machine<Answer = A>>(
    mut admit: impl FnMut(bool) -> Option<Vec<Box<M>>>,
    opts: &DriverOptions,
    mut call: impl FnMut(&[JudgeRequest<'_>]) -> Vec<Result<A, JudgeError>>,
    mut on_done: impl FnMut(usize, Ranking),
) {
    // (admission index, machine)
    let mut active: Vec<(usize, Box<M>)> = Vec::new();
    let mut admitted = 0usize;
    let mut open = true;
    loop {
        if open {
            match admit(active.is_empty()) {
                Some(new) => {
                    for m in new {
                        active.push((admitted, m));
                        admitted += 1;
                    }
                }
                None => open = false,
            }
        }
        // Retire finished queries.
        let mut i = 0;
        while i < active.len() {
            if active[i].1.is_done() {
                let (idx, m) = active.remove(i);
                on_done(idx, m.finish());
            } else {
                i += 1;
            }
        }
        if active.is_empty() {
            if open {
                continue;
            }
            break;
        }
        // Gather ready requests.
        let mut plan: Vec<(usize, Vec<Vec<usize>>)> = Vec::new();
        let mut size = 0;
        for (i, (_, m)) in active.iter_mut().enumerate() {
            let groups = m.pending();
            if groups.is_empty() {
                continue;
            }
            if opts.max_batch > 0 && size > 0 && size + groups.len() > opts.max_batch {
                break;
            }
            size += groups.len();
            plan.push((i, groups));
        }
        if plan.is_empty() {
            // Every active machine has nothing left to ask (defensively): finish them
            // rather than loop.
            for (idx, m) in active.drain(..) {
                on_done(idx, m.finish());
            }
            continue;
        }
        let answers = {
            let requests: Vec<JudgeRequest<'_>> = plan
                .iter()
                .flat_map(|(i, groups)| {
                    let m = &active[*i].1;
                    groups.iter().map(move |g| JudgeRequest {
                        query: m.query(),
                        candidates: g.iter().map(|&p| &m.ranking()[p]).collect(),
                    })
                })
                .collect();
            let mut answers = call(&requests);
            if answers.len() != requests.len() {
                let msg = format!(
                    "the judge returned {} answers for {} request{}",
                    answers.len(),
                    requests.len(),
                    if requests.len() == 1 { "" } else { "s" }
                );
                answers.truncate(requests.len());
                while answers.len() < requests.len() {
                    answers.push(Err(JudgeError(msg.clone())));
                }
            }
            answers
        };
        let mut answers = answers.into_iter();
        for (i, groups) in plan {
            let slots = groups
                .into_iter()
                .map(|positions| CallSlot {
                    positions,
                    answer: answers.next().expect("one answer per request"),
                })
                .collect();
            active[i].1.resolve(slots);
        }
    }
}
