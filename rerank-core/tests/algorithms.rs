//! The ranking algorithms with judges built from labels: perfect, reversing, random,
//! malformed and failing. Whatever the judge does, every query ends with a permutation
//! of its candidates.

use std::collections::HashSet;

use proptest::prelude::*;
use rerank_core::oracle::{Counting, FailingJudge, LabelJudge, RandomJudge, ReverseJudge};
use rerank_core::{
    candidates_from_docs, rerank_listwise, rerank_setwise, Candidate, Coverage, Document,
    DriverOptions, Fallback, Query, Ranking, Setwise, SlidingWindow, SortMethod, TieBreak,
};

fn candidates(n: usize) -> Vec<Candidate> {
    candidates_from_docs((0..n).map(|i| Document::new(format!("d{i}"), format!("text {i}"))))
}

fn assert_permutation(r: &Ranking, n: usize) {
    let ids: HashSet<&str> = r.candidates.iter().map(|c| c.id()).collect();
    assert_eq!(r.candidates.len(), n);
    assert_eq!(ids.len(), n, "duplicates in {:?}", r.ids());
    assert!((0..n).all(|i| ids.contains(format!("d{i}").as_str())));
}

#[test]
fn one_pass_lifts_the_best_from_position_100_to_the_top() {
    let q = Query::new("q", "query");
    let mut judge = Counting::new(LabelJudge::new([("q", "d99", 3)]));
    let out = rerank_listwise(
        &mut judge,
        &SlidingWindow::default(),
        vec![(q, candidates(100))],
        &DriverOptions::default(),
        |_| {},
    )
    .unwrap();
    assert_eq!(out[0].ids()[0], "d99");
    assert_eq!(
        out[0].calls.len(),
        9,
        "RankGPT's loop visits 9 windows over 100 candidates"
    );
    assert_eq!(judge.requests, 9);
    // The rest kept their relative order.
    assert_eq!(&out[0].ids()[1..4], &["d0", "d1", "d2"]);
    // Windows visited bottom up.
    assert_eq!(out[0].calls[0].positions, (80..100).collect::<Vec<_>>());
    assert_eq!(out[0].calls[8].positions, (0..20).collect::<Vec<_>>());
}

#[test]
fn rankgpt_windows_skip_the_top_when_the_span_is_not_a_multiple_of_the_step() {
    let w = SlidingWindow {
        rank_end: 95,
        ..Default::default()
    };
    let windows = w.windows(100);
    assert_eq!(windows.len(), 8);
    assert_eq!(
        windows.last().unwrap().clone(),
        5..25,
        "positions 0..5 are never in a window"
    );
    let full = SlidingWindow {
        coverage: Coverage::Full,
        ..w.clone()
    };
    let windows = full.windows(100);
    // The last window is moved up to start at rank_start, a full window.
    assert_eq!(windows.last().unwrap().clone(), 0..20);
    let covered: HashSet<usize> = windows.iter().flat_map(|r| r.clone()).collect();
    assert_eq!(covered.len(), 95);
    // Fewer candidates than rank_end: RankGPT's windows are cut to what exists
    // (hits[10:30] and hits[0:20] for 15 candidates); empty ones are skipped.
    assert_eq!(SlidingWindow::default().windows(15), vec![10..15, 0..15]);
    assert!(SlidingWindow {
        step: 30,
        coverage: Coverage::Full,
        ..Default::default()
    }
    .validate()
    .is_err());
}

#[test]
fn perfect_heapsort_and_bubblesort_return_the_exact_top_10() {
    // Distinct labels in a scrambled order: the true top 10 is unique.
    let n = 100;
    let labels: Vec<(String, String, i32)> = (0..n)
        .map(|i| ("q".to_string(), format!("d{i}"), ((i * 37) % n) as i32))
        .collect();
    let mut truth: Vec<(i32, String)> = labels.iter().map(|(_, d, l)| (*l, d.clone())).collect();
    truth.sort_by(|a, b| b.cmp(a));
    let top10: Vec<String> = truth[..10].iter().map(|(_, d)| d.clone()).collect();
    for method in [SortMethod::HeapSort, SortMethod::BubbleSort] {
        for shuffle in [false, true] {
            let cfg = Setwise {
                method,
                shuffle,
                ..Default::default()
            };
            let mut judge = Counting::new(LabelJudge::new(labels.clone()));
            let out = rerank_setwise(
                &mut judge,
                &cfg,
                vec![(Query::new("q", "x"), candidates(n))],
                &DriverOptions::default(),
                |_| {},
            )
            .unwrap();
            assert_eq!(
                &out[0].ids()[..10],
                top10
                    .iter()
                    .map(String::as_str)
                    .collect::<Vec<_>>()
                    .as_slice(),
                "{method:?}"
            );
            assert_permutation(&out[0], n);
            // The rest follow in first-stage order.
            let rest: Vec<&str> = out[0].ids()[10..].to_vec();
            let mut sorted = rest.clone();
            sorted.sort_by_key(|d| d[1..].parse::<usize>().unwrap());
            assert_eq!(rest, sorted);
            // Every set holds at most num_child + 1 = 20 documents.
            assert!(out[0]
                .calls
                .iter()
                .all(|c| c.positions.len() <= 20 && c.positions.len() >= 2));
            // The counts the README quotes (perfect judge, these labels).
            let expected = match method {
                SortMethod::HeapSort => 23,
                SortMethod::BubbleSort => 49,
            };
            assert_eq!(
                out[0].calls.len(),
                expected,
                "{method:?} shuffle={shuffle}: comparisons for n=100, sets of 20, k=10"
            );
            assert_eq!(judge.requests, expected);
        }
    }
}

#[test]
fn any_judge_leaves_a_permutation() {
    let n = 57;
    let q = || vec![(Query::new("q", "x"), candidates(n))];
    let opts = DriverOptions::default();
    let sw = SlidingWindow {
        passes: 2,
        ..Default::default()
    };
    let out = rerank_listwise(&mut ReverseJudge, &sw, q(), &opts, |_| {}).unwrap();
    assert_permutation(&out[0], n);
    let out = rerank_listwise(&mut RandomJudge::new(1, 0.3), &sw, q(), &opts, |_| {}).unwrap();
    assert_permutation(&out[0], n);
    assert!(
        out[0].fallbacks() > 0,
        "malformed answers are recorded as fallbacks"
    );
    for method in [SortMethod::HeapSort, SortMethod::BubbleSort] {
        let cfg = Setwise {
            method,
            permutations: 3,
            ..Default::default()
        };
        for out in [
            rerank_setwise(&mut ReverseJudge, &cfg, q(), &opts, |_| {}).unwrap(),
            rerank_setwise(&mut RandomJudge::new(2, 0.3), &cfg, q(), &opts, |_| {}).unwrap(),
        ] {
            assert_permutation(&out[0], n);
        }
    }
}

#[test]
fn a_failing_judge_keeps_every_window_and_records_why() {
    let n = 100;
    let out = rerank_listwise(
        &mut FailingJudge,
        &SlidingWindow::default(),
        vec![(Query::new("q", "x"), candidates(n))],
        &DriverOptions::default(),
        |_| {},
    )
    .unwrap();
    assert_eq!(
        out[0].ids(),
        candidates(n).iter().map(|c| c.id()).collect::<Vec<_>>()
    );
    assert_eq!(out[0].calls.len(), 9);
    assert!(out[0]
        .calls
        .iter()
        .all(|c| !c.applied && c.error.as_deref().unwrap().contains("judge failed")));
    let out = rerank_setwise(
        &mut FailingJudge,
        &Setwise::default(),
        vec![(Query::new("q", "x"), candidates(n))],
        &DriverOptions::default(),
        |_| {},
    )
    .unwrap();
    // No comparison moves anything, but heapsort's extraction still swaps the heap's
    // root out (as llm-rankers does): the first-stage top stays first, and the
    // "top 10" is the root followed by the heap's last leaves.
    assert_permutation(&out[0], n);
    assert_eq!(out[0].ids()[0], "d0");
    assert_eq!(&out[0].ids()[1..3], &["d99", "d98"]);
    assert!(out[0]
        .calls
        .iter()
        .all(|c| !c.applied && c.error.as_deref().unwrap().contains("no swap")));
}

#[test]
fn many_queries_progress_together_in_batches() {
    let queries: Vec<(Query, Vec<Candidate>)> = (0..7)
        .map(|i| (Query::new(format!("q{i}"), "x"), candidates(100)))
        .collect();
    let labels: Vec<(String, String, i32)> = (0..7)
        .map(|i| (format!("q{i}"), format!("d{}", 99 - i), 1))
        .collect();
    // Listwise: one window per query per step → 9 steps of 7 requests.
    let mut judge = Counting::new(LabelJudge::new(labels.clone()));
    let mut done = Vec::new();
    let out = rerank_listwise(
        &mut judge,
        &SlidingWindow::default(),
        queries.clone(),
        &DriverOptions::default(),
        |r| done.push(r.query_id.clone()),
    )
    .unwrap();
    assert_eq!((judge.batches, judge.requests, judge.max_batch), (9, 63, 7));
    assert_eq!(done.len(), 7);
    for (i, r) in out.iter().enumerate() {
        assert_eq!(r.query_id, format!("q{i}"), "results in input order");
        assert_eq!(r.ids()[0], format!("d{}", 99 - i));
    }
    // With a batch limit the result is the same, in more, smaller calls.
    let mut small = Counting::new(LabelJudge::new(labels.clone()));
    let out2 = rerank_listwise(
        &mut small,
        &SlidingWindow::default(),
        queries.clone(),
        &DriverOptions { max_batch: 3 },
        |_| {},
    )
    .unwrap();
    assert!(small.max_batch <= 3 && small.batches > 9);
    assert_eq!(
        out.iter().map(|r| r.ids()).collect::<Vec<_>>(),
        out2.iter().map(|r| r.ids()).collect::<Vec<_>>()
    );
    // Setwise with voting: a comparison's permutations travel together.
    let cfg = Setwise {
        permutations: 3,
        tie_break: TieBreak::Earliest,
        ..Default::default()
    };
    let mut judge = Counting::new(LabelJudge::new(labels.clone()));
    let out3 = rerank_setwise(
        &mut judge,
        &cfg,
        queries.clone(),
        &DriverOptions { max_batch: 4 },
        |_| {},
    )
    .unwrap();
    assert_eq!(
        judge.max_batch, 3,
        "one query's 3 permutations per call when max_batch is 4"
    );
    for (i, r) in out3.iter().enumerate() {
        assert_eq!(r.ids()[0], format!("d{}", 99 - i));
    }
    // Results do not depend on the batch size (shuffles are seeded per query).
    let mut judge = LabelJudge::new(labels);
    let out4 =
        rerank_setwise(&mut judge, &cfg, queries, &DriverOptions::default(), |_| {}).unwrap();
    assert_eq!(out3, out4);
}

#[test]
fn traces_serialise_as_json_lines() {
    let out = rerank_listwise(
        &mut ReverseJudge,
        &SlidingWindow::default(),
        vec![(Query::new("q", "x"), candidates(30))],
        &DriverOptions::default(),
        |_| {},
    )
    .unwrap();
    let mut buf = Vec::new();
    rerank_core::trace::write_jsonl(&mut buf, &out[0].calls).unwrap();
    let text = String::from_utf8(buf).unwrap();
    assert_eq!(text.lines().count(), out[0].calls.len());
    let first: rerank_core::CallTrace = serde_json::from_str(text.lines().next().unwrap()).unwrap();
    assert_eq!(first, out[0].calls[0]);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn always_a_permutation(n in 0usize..130, window in 1usize..30, step in 1usize..30, passes in 1usize..3,
                            full in any::<bool>(), num_child in 1usize..25, k in 1usize..30,
                            heap in any::<bool>(), perms in 1usize..4, seed in any::<u64>(), invalid in 0.0f64..1.0,
                            first_stage in any::<bool>()) {
        let q = || vec![(Query::new("q", "x"), candidates(n))];
        let opts = DriverOptions::default();
        let sw = SlidingWindow { window, step: if full { step.min(window) } else { step }, passes,
            coverage: if full { Coverage::Full } else { Coverage::RankGpt }, ..Default::default() };
        let out = rerank_listwise(&mut RandomJudge::new(seed, invalid), &sw, q(), &opts, |_| {}).unwrap();
        assert_permutation(&out[0], n);
        let fallback = if first_stage { Fallback::FirstStage } else { Fallback::KeepTop };
        let cfg = Setwise { method: if heap { SortMethod::HeapSort } else { SortMethod::BubbleSort }, num_child, k, permutations: perms, seed, fallback, ..Default::default() };
        let out = rerank_setwise(&mut RandomJudge::new(seed, invalid), &cfg, q(), &opts, |_| {}).unwrap();
        assert_permutation(&out[0], n);
    }

    /// With the first-stage fallback a judge that never answers changes nothing, for
    /// either sort and any shape; with Rank-R1's keep-the-top it does (checked above).
    #[test]
    fn first_stage_fallback_keeps_the_order_when_every_answer_fails(
        n in 0usize..130, num_child in 1usize..25, k in 1usize..30, heap in any::<bool>(),
        perms in 1usize..4, seed in any::<u64>()) {
        let cfg = Setwise { method: if heap { SortMethod::HeapSort } else { SortMethod::BubbleSort },
            num_child, k, permutations: perms, seed, fallback: Fallback::FirstStage, ..Default::default() };
        let out = rerank_setwise(&mut FailingJudge, &cfg, vec![(Query::new("q", "x"), candidates(n))],
            &DriverOptions::default(), |_| {}).unwrap();
        let first_stage = candidates(n);
        prop_assert_eq!(out[0].ids(), first_stage.iter().map(|c| c.id()).collect::<Vec<_>>());
        prop_assert!(out[0].calls.iter().all(|c| !c.applied
            && c.error.as_deref().unwrap().ends_with("the first stage's best of the set wins")));
    }
}

/// A judge whose every answer was unreadable: the parser's identity order, marked
/// `Empty`.
struct Unreadable;

impl rerank_core::ListwiseJudge for Unreadable {
    fn rank_windows(
        &mut self,
        requests: &[rerank_core::JudgeRequest<'_>],
    ) -> Vec<Result<rerank_core::ListwiseAnswer, rerank_core::JudgeError>> {
        requests
            .iter()
            .map(|r| {
                let mut report = rerank_core::ParseReport::ok(rerank_core::AnswerSource::Whole);
                report.outcome = rerank_core::ParseOutcome::Empty;
                Ok(rerank_core::ListwiseAnswer {
                    order: (0..r.candidates.len()).collect(),
                    record: rerank_core::CallRecord {
                        parse: Some(report),
                        ..Default::default()
                    },
                })
            })
            .collect()
    }
}

#[test]
fn an_unreadable_answer_is_a_fallback() {
    let q = Query::new("q", "query");
    let out = rerank_listwise(
        &mut Unreadable,
        &SlidingWindow::default(),
        vec![(q, candidates(30))],
        &DriverOptions::default(),
        |_| {},
    )
    .unwrap();
    assert_eq!(out[0].calls.len(), 3);
    assert_eq!(out[0].fallbacks(), 3);
    assert!(out[0]
        .calls
        .iter()
        .all(|c| c.error.as_deref() == Some("no usable answer; window kept")));
    assert_permutation(&out[0], 30);
}

/// A judge of the public traits that answers too few or too many requests.
struct MiscountingJudge {
    /// Answers given per call: the number of requests plus this (may be negative).
    delta: isize,
}

impl rerank_core::ListwiseJudge for MiscountingJudge {
    fn rank_windows(
        &mut self,
        requests: &[rerank_core::JudgeRequest<'_>],
    ) -> Vec<Result<rerank_core::ListwiseAnswer, rerank_core::JudgeError>> {
        let n = (requests.len() as isize + self.delta).max(0) as usize;
        (0..n)
            .map(|i| {
                let len = requests.get(i).map_or(2, |r| r.candidates.len());
                Ok(rerank_core::ListwiseAnswer {
                    order: (0..len).rev().collect(),
                    record: Default::default(),
                })
            })
            .collect()
    }
}

impl rerank_core::SetwiseJudge for MiscountingJudge {
    fn pick_best(
        &mut self,
        requests: &[rerank_core::JudgeRequest<'_>],
    ) -> Vec<Result<rerank_core::SetwiseAnswer, rerank_core::JudgeError>> {
        let n = (requests.len() as isize + self.delta).max(0) as usize;
        (0..n)
            .map(|_| {
                Ok(rerank_core::SetwiseAnswer {
                    best: Some(1),
                    record: Default::default(),
                })
            })
            .collect()
    }
}

#[test]
fn a_judge_that_miscounts_its_answers_fails_those_calls_without_a_panic() {
    let queries = || {
        (0..3)
            .map(|q| (Query::new(format!("q{q}"), "x"), candidates(30)))
            .collect::<Vec<_>>()
    };
    for delta in [-1isize, -3, 2] {
        let mut judge = MiscountingJudge { delta };
        let out = rerank_listwise(
            &mut judge,
            &SlidingWindow::default(),
            queries(),
            &DriverOptions::default(),
            |_| {},
        )
        .unwrap();
        let mut judge = MiscountingJudge { delta };
        let set = rerank_setwise(
            &mut judge,
            &Setwise::default(),
            queries(),
            &DriverOptions::default(),
            |_| {},
        )
        .unwrap();
        for r in out.iter().chain(&set) {
            assert_permutation(r, 30);
        }
        let failed: Vec<&str> = out
            .iter()
            .chain(&set)
            .flat_map(|r| &r.calls)
            .filter_map(|c| c.error.as_deref())
            .collect();
        if delta < 0 {
            // Each batch loses its last answers: those calls failed, saying why.
            assert!(!failed.is_empty(), "delta {delta}");
            assert!(
                failed
                    .iter()
                    .all(|e| e.starts_with("judge failed: the judge returned ")
                        && e.contains(" answers for ")),
                "{failed:?}"
            );
        } else {
            // Extra answers are dropped; every call was answered.
            assert!(failed.is_empty(), "{failed:?}");
        }
    }
}

/// Cases found by mutation testing (`cargo mutants` on the sliding window): each
/// pins a behaviour no other test checked.
#[test]
fn sliding_window_edges_the_mutants_found() {
    // Each of window, step and passes must be at least 1, on its own.
    for w in [
        SlidingWindow {
            window: 0,
            ..Default::default()
        },
        SlidingWindow {
            step: 0,
            ..Default::default()
        },
        SlidingWindow {
            passes: 0,
            ..Default::default()
        },
    ] {
        assert!(w.validate().is_err(), "{w:?}");
    }
    assert!(SlidingWindow::default().validate().is_ok());
    // Calls: windows × passes.
    let two = SlidingWindow {
        passes: 2,
        ..Default::default()
    };
    assert_eq!(SlidingWindow::default().num_calls(100), 9);
    assert_eq!(two.num_calls(100), 18);
    assert_eq!(SlidingWindow::default().num_calls(1), 0);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    /// Whatever the sizes: no window of fewer than two candidates is sent (nothing to
    /// order); with full coverage every position in the range is in some window, the
    /// windows run bottom up, and consecutive ones overlap by window − step.
    #[test]
    fn windows_are_never_trivial_and_full_coverage_covers(
        n in 0usize..130, window in 1usize..25, step_frac in 1usize..25, start in 0usize..10, len in 1usize..120,
    ) {
        let step = step_frac.min(window);
        for coverage in [Coverage::RankGpt, Coverage::Full] {
            let w = SlidingWindow { rank_start: start, rank_end: start + len, window, step, passes: 1, coverage };
            let windows = w.windows(n);
            prop_assert!(windows.iter().all(|r| r.len() >= 2 && r.end <= n && r.start >= start));
            prop_assert!(windows.iter().all(|r| r.len() <= window));
            if coverage == Coverage::Full {
                let top = (start + len).min(n);
                if top >= start + 2 && window >= 2 {
                    for p in start..top {
                        prop_assert!(windows.iter().any(|r| r.contains(&p)), "position {} not covered by {:?}", p, windows);
                    }
                }
                for pair in windows.windows(2) {
                    prop_assert!(pair[1].end <= pair[0].end && pair[1].start < pair[0].start);
                    if pair[1].start > start {
                        prop_assert_eq!(pair[0].end - pair[1].end, step);
                        prop_assert_eq!(pair[1].len(), window);
                    }
                }
            }
        }
    }
}

/// A query is handed over as soon as it is finished, not when the whole batch is
/// (what lets `rerank rerank` write and resume query by query).
#[test]
fn a_finished_query_is_handed_over_before_the_others_finish() {
    use std::cell::Cell;
    let calls = Cell::new(0usize);
    struct Tracking<'a> {
        inner: LabelJudge,
        calls: &'a Cell<usize>,
    }
    impl rerank_core::ListwiseJudge for Tracking<'_> {
        fn rank_windows(
            &mut self,
            requests: &[rerank_core::JudgeRequest<'_>],
        ) -> Vec<Result<rerank_core::ListwiseAnswer, rerank_core::JudgeError>> {
            self.calls.set(self.calls.get() + 1);
            self.inner.rank_windows(requests)
        }
    }
    let mut judge = Tracking {
        inner: LabelJudge::new([("long", "d99", 1)]),
        calls: &calls,
    };
    let mut handed = Vec::new();
    rerank_listwise(
        &mut judge,
        &SlidingWindow::default(),
        vec![
            (Query::new("short", "x"), candidates(10)),
            (Query::new("long", "x"), candidates(100)),
        ],
        &DriverOptions::default(),
        |r| handed.push((r.query_id.clone(), calls.get())),
    )
    .unwrap();
    // One window for the short query (with the long one's first), then 8 more.
    assert_eq!(handed, vec![("short".into(), 1), ("long".into(), 9)]);
}

/// Queries fed while others are in progress join the next batch (continuous
/// batching), and each is handed over when it is done.
#[test]
fn a_feed_admits_queries_between_steps() {
    use rerank_core::{rerank_listwise_feed, QueryFeed};
    struct Feed {
        step: usize,
    }
    impl QueryFeed for Feed {
        fn arrivals(&mut self, wait: bool) -> Option<Vec<(Query, Vec<Candidate>)>> {
            self.step += 1;
            match self.step {
                1 => Some(vec![(Query::new("first", "x"), candidates(30))]),
                2 => Some(vec![(Query::new("second", "x"), candidates(30))]),
                // Nothing new for a while, then closed (a waiting call would block).
                3 | 4 => {
                    assert!(!wait, "asked to wait while queries were active");
                    Some(Vec::new())
                }
                _ => None,
            }
        }
    }
    struct Batches(Vec<Vec<String>>);
    impl rerank_core::ListwiseJudge for Batches {
        fn rank_windows(
            &mut self,
            requests: &[rerank_core::JudgeRequest<'_>],
        ) -> Vec<Result<rerank_core::ListwiseAnswer, rerank_core::JudgeError>> {
            self.0
                .push(requests.iter().map(|r| r.query.id.clone()).collect());
            requests
                .iter()
                .map(|r| {
                    Ok(rerank_core::ListwiseAnswer {
                        order: (0..r.candidates.len()).collect(),
                        record: Default::default(),
                    })
                })
                .collect()
        }
    }
    let mut judge = Batches(Vec::new());
    let mut done = Vec::new();
    rerank_listwise_feed(
        &mut judge,
        &SlidingWindow::default(),
        &mut Feed { step: 0 },
        &DriverOptions::default(),
        |r| done.push(r.query_id.clone()),
    )
    .unwrap();
    // 30 candidates: windows 20..30, 10..30 and 0..20 per query; the second query
    // arrives after the first step and shares the next two.
    let ids = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    assert_eq!(
        judge.0,
        vec![
            ids(&["first"]),
            ids(&["first", "second"]),
            ids(&["first", "second"]),
            ids(&["second"]),
        ]
    );
    assert_eq!(done, ["first", "second"]);
}
