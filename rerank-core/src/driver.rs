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
    Ok(drive(
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
    Ok(drive(machines, opts, |reqs| judge.pick_best(reqs), on_done))
}

fn drive<A, M: Machine<Answer = A>>(
    mut machines: Vec<Box<M>>,
    opts: &DriverOptions,
    mut call: impl FnMut(&[JudgeRequest<'_>]) -> Vec<Result<A, JudgeError>>,
    mut on_done: impl FnMut(&Ranking),
) -> Vec<Ranking> {
    let n = machines.len();
    let mut results: Vec<Option<Ranking>> = (0..n).map(|_| None).collect();
    let mut active: Vec<Option<Box<M>>> = machines.drain(..).map(Some).collect();
    loop {
        // Retire finished queries.
        for (i, slot) in active.iter_mut().enumerate() {
            if slot.as_ref().is_some_and(|m| m.is_done()) {
                let ranking = slot.take().expect("checked").finish();
                on_done(&ranking);
                results[i] = Some(ranking);
            }
        }
        // Gather ready requests.
        let mut plan: Vec<(usize, Vec<Vec<usize>>)> = Vec::new();
        let mut size = 0;
        for (i, slot) in active.iter_mut().enumerate() {
            let Some(m) = slot else { continue };
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
            // Every machine is done, or (defensively) has nothing left to ask: finish
            // whatever is still active rather than loop.
            for (i, slot) in active.iter_mut().enumerate() {
                if let Some(m) = slot.take() {
                    let ranking = m.finish();
                    on_done(&ranking);
                    results[i] = Some(ranking);
                }
            }
            break;
        }
        let answers = {
            let requests: Vec<JudgeRequest<'_>> = plan
                .iter()
                .flat_map(|(i, groups)| {
                    let m = active[*i].as_ref().expect("active");
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
            active[i].as_mut().expect("active").resolve(slots);
        }
    }
    results
        .into_iter()
        .map(|r| r.expect("every query finishes"))
        .collect()
}
