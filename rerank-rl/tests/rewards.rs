//! The rewards on hand-worked cases (perfect, reversed, unchanged, an initial order
//! that is already ideal, malformed answers, no reasoning block, an answer cut off),
//! and on any string at all: finite, inside the documented bounds, and never lower for
//! a better order.

use proptest::prelude::*;
use rerank_rl::reward::{
    ListwiseTruth, RankGain, RankR1Reward, RankR1Rule, RearankReward, RearankWeights, Reward,
    SetwiseTruth,
};

const EPS: f64 = 1e-12;

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < EPS
}

fn dcg(labels: &[i32]) -> f64 {
    labels
        .iter()
        .take(10)
        .enumerate()
        .map(|(i, &r)| r.max(0) as f64 / ((i + 2) as f64).log2())
        .sum()
}

fn answer(order: &[usize]) -> String {
    let ids: Vec<String> = order.iter().map(|i| format!("[{}]", i + 1)).collect();
    format!("<think>reasons</think><answer>{}</answer>", ids.join(" > "))
}

#[test]
fn rearank_worked_by_hand() {
    let r = RearankReward::default();
    // Window of 4: [2] is the best (label 2), [4] next (label 1).
    let truth = ListwiseTruth {
        labels: vec![0, 2, 0, 1],
    };
    let ideal = dcg(&[2, 1, 0, 0]);
    let initial = dcg(&[0, 2, 0, 1]) / ideal;
    let reversed = dcg(&[1, 0, 2, 0]) / ideal;

    // Perfect: r_rank = 1, both format terms: 1.0.
    let s = r.score(&answer(&[1, 3, 0, 2]), &truth);
    assert!(
        close(s.part("rank").unwrap(), 1.0) && close(s.total, 1.0),
        "{s:?}"
    );
    // Unchanged: 0 gain; the format terms alone: 0.2.
    let s = r.score(&answer(&[0, 1, 2, 3]), &truth);
    assert_eq!(s.part("rank"), Some(0.0));
    assert!(close(s.total, 0.2));
    // Reversed: (reversed − initial) / (1 − initial).
    let s = r.score(&answer(&[3, 2, 1, 0]), &truth);
    let want = (reversed - initial) / (1.0 - initial);
    assert!(close(s.part("rank").unwrap(), want), "{s:?} vs {want}");
    assert!(close(s.total, 0.8 * want + 0.2));
    assert!(close(s.part("ndcg").unwrap(), reversed));

    // The other rank terms of the paper's ablation.
    let raw = RearankReward::new(RankGain::Raw, RearankWeights::default());
    let diff = RearankReward::new(RankGain::Difference, RearankWeights::default());
    let s = raw.score(&answer(&[3, 2, 1, 0]), &truth);
    assert!(close(s.part("rank").unwrap(), reversed));
    let s = diff.score(&answer(&[3, 2, 1, 0]), &truth);
    assert!(close(s.part("rank").unwrap(), reversed - initial));

    // Weights are configurable.
    let w = RearankReward::new(
        RankGain::Normalized,
        RearankWeights {
            rank: 1.0,
            think_answer: 0.0,
            answer_format: 0.0,
        },
    );
    assert!(close(w.score(&answer(&[1, 3, 0, 2]), &truth).total, 1.0));
}

#[test]
fn rearank_when_the_initial_order_is_already_ideal() {
    let r = RearankReward::default();
    let truth = ListwiseTruth {
        labels: vec![2, 1, 0, 0],
    };
    // Keeping the perfect order: 0; the worst order: −1; in between: in between.
    let keep = r.score(&answer(&[0, 1, 2, 3]), &truth);
    assert_eq!(keep.part("rank"), Some(0.0));
    let worst = r.score(&answer(&[2, 3, 1, 0]), &truth);
    assert!(close(worst.part("rank").unwrap(), -1.0), "{worst:?}");
    let swap = r.score(&answer(&[1, 0, 2, 3]), &truth);
    let rank = swap.part("rank").unwrap();
    assert!(rank < 0.0 && rank > -1.0, "{rank}");
    // Every order scores the same (all labels equal): 0 whatever the answer.
    let flat = ListwiseTruth {
        labels: vec![1, 1, 1],
    };
    assert_eq!(r.score(&answer(&[2, 1, 0]), &flat).part("rank"), Some(0.0));
    assert_eq!(r.bounds(&flat), (0.0, 0.2));
}

#[test]
fn rearank_on_malformed_and_cut_off_answers() {
    let r = RearankReward::default();
    let truth = ListwiseTruth {
        labels: vec![0, 0, 1],
    };
    let best = r.score(&answer(&[2, 0, 1]), &truth).part("rank").unwrap();
    let cases: &[(&str, f64, f64, f64)] = &[
        // (output, rank, think_answer, answer_format)
        // No think block: the answer still ranks; one format term lost.
        ("<answer>[3] > [1] > [2]</answer>", best, 0.0, 1.0),
        // Bare numbers: read, but not in the asked-for form.
        ("<think>x</think><answer>3 > 1 > 2</answer>", best, 1.0, 0.0),
        // Cut off inside the answer: read as far as it goes, no format terms.
        ("<think>x</think><answer>[3] > [1", best, 0.0, 0.0),
        // Cut off while reasoning: no answer, the window keeps its order.
        ("<think>I should first compare", 0.0, 0.0, 0.0),
        // Nothing usable at all.
        ("I cannot rank these.", 0.0, 0.0, 0.0),
        // Repeats and out-of-range identifiers: dropped in the order, the form still holds.
        (
            "<think>x</think><answer>[3] > [3] > [9]</answer>",
            best,
            1.0,
            1.0,
        ),
        // Words around the identifiers: read, not the form.
        (
            "<think>x</think><answer>Passage [3] is best</answer>",
            best,
            1.0,
            0.0,
        ),
        // The last answer block is the answer.
        (
            "<think>the form is <answer>[1] > [2]</answer></think><answer>[3] > [1] > [2]</answer>",
            best,
            1.0,
            1.0,
        ),
        ("", 0.0, 0.0, 0.0),
    ];
    for &(out, rank, f1, f2) in cases {
        let s = r.score(out, &truth);
        assert!(close(s.part("rank").unwrap(), rank), "{out:?}: {s:?}");
        assert_eq!(s.part("think_answer"), Some(f1), "{out:?}");
        assert_eq!(s.part("answer_format"), Some(f2), "{out:?}");
        assert!(close(s.total, 0.8 * rank + 0.1 * f1 + 0.1 * f2), "{out:?}");
    }
}

#[test]
fn rank_r1_worked_by_hand() {
    let exact = RankR1Reward::new(RankR1Rule::Exact);
    let lenient = RankR1Reward::new(RankR1Rule::Lenient);
    let t = SetwiseTruth { positive: 2, n: 5 }; // the answer is [3]
    let cases: &[(&str, f64, f64)] = &[
        // (output, exact, lenient)
        ("<think>3 is it</think><answer>[3]</answer>", 1.0, 1.0),
        ("<think>3</think>\n\n<answer>  [3]\n</answer>", 1.0, 1.0),
        ("<think>x</think><answer>[2]</answer>", 0.0, 0.0),
        // No reasoning block, or text between the blocks: the published rule says no.
        ("<answer>[3]</answer>", 0.0, 1.0),
        ("<think>x</think> so: <answer>[3]</answer>", 0.0, 1.0),
        // Not exactly [3].
        ("<think>x</think><answer>3</answer>", 0.0, 1.0),
        ("<think>x</think><answer>Document [3].</answer>", 0.0, 1.0),
        ("<think>x</think><answer>[03]</answer>", 0.0, 1.0),
        // Case: the published rule reads the tags as written; the lenient one in any case.
        ("<THINK>x</THINK><ANSWER>[3]</ANSWER>", 0.0, 1.0),
        // The first matching block counts for the published rule.
        (
            "<think>a</think><answer>[1]</answer><think>b</think><answer>[3]</answer>",
            0.0,
            0.0,
        ),
        // Cut off, nothing, out of range.
        ("<think>I would pick [3] but", 0.0, 0.0),
        ("", 0.0, 0.0),
        ("<think>x</think><answer>[6]</answer>", 0.0, 0.0),
    ];
    for &(out, e, l) in cases {
        assert_eq!(exact.score(out, &t).total, e, "exact {out:?}");
        assert_eq!(lenient.score(out, &t).total, l, "lenient {out:?}");
        let parts = exact.score(out, &t);
        assert_eq!(
            (parts.part("exact"), parts.part("lenient")),
            (Some(e), Some(l))
        );
    }
}

fn any_output() -> impl Strategy<Value = String> {
    let pieces = prop::sample::select(vec![
        "<think>",
        "</think>",
        "<answer>",
        "</answer>",
        "[",
        "]",
        " > ",
        ">",
        "1",
        "2",
        "3",
        "7",
        "12",
        "0",
        "x",
        " ",
        "\n",
        "\u{1c}",
        "\u{3000}",
        "３",
        "③",
        "<THINK>",
        "Passage ",
    ]);
    prop::collection::vec(pieces, 0..40).prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn any_output_gets_a_finite_reward_within_bounds(
        out in prop_oneof![any_output(), any::<String>()],
        labels in prop::collection::vec(0i32..4, 1..25),
        gain in prop::sample::select(vec![RankGain::Normalized, RankGain::Raw, RankGain::Difference]),
        positive in 0usize..25,
    ) {
        let r = RearankReward::new(gain, RearankWeights::default());
        let truth = ListwiseTruth { labels: labels.clone() };
        let (lo, hi) = r.bounds(&truth);
        let s = r.score(&out, &truth);
        prop_assert!(s.total.is_finite());
        prop_assert!(s.total >= lo - EPS && s.total <= hi + EPS, "{} not in [{}, {}]", s.total, lo, hi);
        let t = SetwiseTruth { positive: positive % labels.len(), n: labels.len() };
        for rule in [RankR1Rule::Exact, RankR1Rule::Lenient] {
            let v = RankR1Reward::new(rule).score(&out, &t).total;
            prop_assert!(v == 0.0 || v == 1.0);
        }
    }

    #[test]
    fn a_better_order_never_gets_a_lower_rank_reward(
        labels in prop::collection::vec(0i32..4, 2..25),
        a in any::<u64>(), b in any::<u64>(),
        gain in prop::sample::select(vec![RankGain::Normalized, RankGain::Raw, RankGain::Difference]),
    ) {
        use rand::{seq::SliceRandom, SeedableRng};
        let n = labels.len();
        let perm = |seed: u64| {
            let mut p: Vec<usize> = (0..n).collect();
            p.shuffle(&mut rand_chacha::ChaCha8Rng::seed_from_u64(seed));
            p
        };
        let (pa, pb) = (perm(a), perm(b));
        let r = RearankReward::new(gain, RearankWeights::default());
        let truth = ListwiseTruth { labels: labels.clone() };
        let (sa, sb) = (r.score(&answer(&pa), &truth), r.score(&answer(&pb), &truth));
        let ndcg = |p: &[usize]| {
            let ranked: Vec<i32> = p.iter().map(|&i| labels[i]).collect();
            rerank_eval::measures::ndcg_cut_of_labels(&ranked, &labels, 10)
        };
        if ndcg(&pa) > ndcg(&pb) {
            prop_assert!(sa.part("rank").unwrap() >= sb.part("rank").unwrap());
            prop_assert!(sa.total >= sb.total);
        }
    }
}
