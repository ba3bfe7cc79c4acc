//! Property tests: for any qrels and run, evaluation never panics, the streaming and
//! in-memory readers agree, order of lines does not matter, and bounded measures stay
//! in [0, 1].

use proptest::prelude::*;
use rerank_eval::{EvalOptions, Evaluator, Qrels, Run, Summary};

fn qrels_lines() -> impl Strategy<Value = Vec<(u8, u8, i8)>> {
    prop::collection::vec((0u8..5, 0u8..30, -2i8..4), 1..80)
}

fn run_lines() -> impl Strategy<Value = Vec<(u8, u8, i16)>> {
    prop::collection::vec((0u8..6, 0u8..40, -20i16..20), 1..150)
}

fn to_files(q: &[(u8, u8, i8)], r: &[(u8, u8, i16)]) -> (String, String) {
    let mut seen = std::collections::HashSet::new();
    let mut qrels = String::new();
    for &(qid, doc, rel) in q {
        if seen.insert((qid, doc)) {
            qrels.push_str(&format!("q{qid} 0 d{doc} {rel}\n"));
        }
    }
    let mut seen = std::collections::HashSet::new();
    let mut run = String::new();
    for &(qid, doc, score) in r {
        if seen.insert((qid, doc)) {
            run.push_str(&format!("q{qid} Q0 d{doc} 0 {} tag\n", score as f64 / 4.0));
        }
    }
    (qrels, run)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn evaluation_is_total_and_bounded(q in qrels_lines(), r in run_lines(), level in 0i32..3, judged in any::<bool>(), complete in any::<bool>()) {
        let (qrels_text, run_text) = to_files(&q, &r);
        let qrels = Qrels::parse(qrels_text.as_bytes(), "q".as_ref()).unwrap();
        let run = Run::parse(run_text.as_bytes(), "r".as_ref()).unwrap();
        let opts = EvalOptions { relevance_level: level, judged_docs_only: judged, average_complete: complete, ..Default::default() };
        let ev = Evaluator::new(["all_trec", "dcg", "ideal_dcg"], opts).unwrap();
        match ev.evaluate(&qrels, &run) {
            Ok(e) => {
                for (c, col) in e.columns().iter().enumerate() {
                    let bounded = col.summary == Summary::Mean
                        && !["utility", "Rndcg", "dcg", "ideal_dcg"].iter().any(|n| col.name.starts_with(n))
                        && !col.name.starts_with("iprec_at_recall") && !col.name.starts_with("11pt");
                    if bounded {
                        for &v in e.matrix().column(c) {
                            prop_assert!((0.0..=1.0 + 1e-12).contains(&v), "{} = {}", col.name, v);
                        }
                    }
                }
            }
            Err(rerank_eval::Error::NoQueriesInCommon { .. }) => {}
            Err(other) => prop_assert!(false, "unexpected error {other}"),
        }
    }

    #[test]
    fn streaming_equals_in_memory_and_line_order_is_irrelevant(q in qrels_lines(), r in run_lines(), seed in any::<u64>()) {
        let (qrels_text, run_text) = to_files(&q, &r);
        let qrels = Qrels::parse(qrels_text.as_bytes(), "q".as_ref()).unwrap();
        let ev = Evaluator::new(["all_trec"], EvalOptions::default()).unwrap();
        let dir = tempfile::tempdir().unwrap();
        // Shuffle the run's lines: queries become non-contiguous.
        let mut lines: Vec<&str> = run_text.lines().collect();
        let mut x = seed | 1;
        for i in (1..lines.len()).rev() {
            x ^= x << 13; x ^= x >> 7; x ^= x << 17;
            lines.swap(i, (x % (i as u64 + 1)) as usize);
        }
        let shuffled = lines.join("\n") + "\n";
        let p1 = dir.path().join("sorted");
        let p2 = dir.path().join("shuffled");
        std::fs::write(&p1, &run_text).unwrap();
        std::fs::write(&p2, &shuffled).unwrap();
        let a = ev.evaluate_file(&qrels, &p1).map(|e| e.to_trec_eval_string(true)).map_err(|e| e.to_string());
        let b = ev.evaluate_file(&qrels, &p2).map(|e| e.to_trec_eval_string(true)).map_err(|e| e.to_string());
        let c = Run::parse(run_text.as_bytes(), "x".as_ref()).and_then(|r| ev.evaluate(&qrels, &r)).map(|e| e.to_trec_eval_string(true)).map_err(|e| e.to_string());
        prop_assert_eq!(&a, &c);
        // Cut in parts read by separate threads, at any line: the same result.
        for parts in 2..=4 {
            let p = ev.evaluate_file_in_parts(&qrels, &p1, parts).map(|e| e.to_trec_eval_string(true)).map_err(|e| e.to_string());
            prop_assert_eq!(&p, &c, "{} parts", parts);
            let q = ev.evaluate_file_in_parts(&qrels, &p2, parts).map(|e| e.to_trec_eval_string(true)).map_err(|e| e.to_string());
            prop_assert_eq!(q.is_ok(), b.is_ok(), "{} parts, shuffled", parts);
            if let (Ok(q), Ok(b)) = (&q, &b) {
                prop_assert_eq!(q, b);
            }
        }
        prop_assert_eq!(a.is_ok(), b.is_ok());
        if let (Ok(a), Ok(b)) = (&a, &b) {
            prop_assert_eq!(a, b);
        }
    }

    #[test]
    fn parsers_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
        let _ = Qrels::parse(&bytes, "q".as_ref());
        let _ = Run::parse(&bytes, "r".as_ref());
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    /// The labels-in-order form of nDCG@k is trec_eval's ndcg_cut.k of the same ranking.
    #[test]
    fn ndcg_of_labels_is_ndcg_cut(labels in prop::collection::vec(-1i32..4, 1..30), order_seed in any::<u64>(), k in 1usize..25) {
        use rand::{seq::SliceRandom, SeedableRng};
        let n = labels.len();
        let mut order: Vec<usize> = (0..n).collect();
        order.shuffle(&mut rand_chacha::ChaCha8Rng::seed_from_u64(order_seed));
        let qrels = Qrels::from_judgements(
            (0..n).map(|d| ("q".to_string(), format!("d{d}"), labels[d])),
        ).unwrap();
        let mut run = Run::new("r");
        let ids: Vec<String> = order.iter().map(|d| format!("d{d}")).collect();
        run.push_ranking("q", ids.iter().map(String::as_str));
        let measure = format!("ndcg_cut.{k}");
        let want = Evaluator::new([measure.as_str()], EvalOptions::default()).unwrap()
            .evaluate(&qrels, &run).unwrap().value("q", &format!("ndcg_cut_{k}")).unwrap();
        let ranked: Vec<i32> = order.iter().map(|&d| labels[d]).collect();
        let got = rerank_eval::measures::ndcg_cut_of_labels(&ranked, &labels, k);
        prop_assert!((got - want).abs() < 1e-12, "{} vs {}", got, want);
    }
}
