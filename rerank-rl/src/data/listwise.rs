//! REARANK-style training windows (paper §4.1): for each labelled query, `samples`
//! times, `window` passages drawn at random from the first-stage top `pool`; a draw
//! without a relevant passage is dropped, and so is one whose nDCG@10 is below
//! `min_ndcg`.
//!
//! Choices the paper leaves open (its repository has no training code), each a
//! parameter:
//!
//! - the drawn passages are shown in their first-stage order (the window as the
//!   sliding window would show it), which is the "initial" order of the reward;
//! - [`NdcgFilter::Initial`] (the paper's main text: the draw's initial order, nDCG over
//!   the draw's own labels) or [`NdcgFilter::Best`] (its ablation's wording, "the best
//!   possible nDCG@10": the draw in its ideal order, against every judged document of
//!   the query, so it measures how much of the query's relevant material the draw
//!   holds; over the draw's own labels the best possible is always 1);
//! - a query whose pool is no larger than the window gives one draw, the whole pool;
//! - with [`ListwiseConfig::shuffle_train`], the training split's windows are shown
//!   in a random order instead (RankZephyr's augmentation of shuffled inputs): the
//!   same draws, kept or dropped by the same filter on their first-stage order, so a
//!   policy cannot score by keeping the order it is shown, which in first-stage order
//!   is often nearly ideal. Validation and test windows keep the first-stage order
//!   that inference shows.

use rand::seq::index::sample;
use rand::seq::SliceRandom;
use rerank_eval::measures::ndcg_cut_of_labels;

use super::{example, pools, query_rng, BuildReport, Example, Sources, Split, Truth};
use crate::error::{Error, Result};

/// Which nDCG@10 the draw filter compares with `min_ndcg`; see the module docs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum NdcgFilter {
    /// The draw's initial order, over its own labels (the paper's main text).
    #[default]
    Initial,
    /// The draw's best order, over all the query's judgements (the ablation's wording).
    Best,
}

/// How REARANK windows are drawn.
#[derive(Clone, Debug, PartialEq)]
pub struct ListwiseConfig {
    /// Draws per query (50).
    pub samples: usize,
    /// Passages per draw (20).
    pub window: usize,
    /// First-stage depth drawn from (100).
    pub pool: usize,
    /// Draws below this nDCG@10 are dropped (0.1).
    pub min_ndcg: f64,
    /// Which nDCG the filter reads.
    pub filter: NdcgFilter,
    /// The seed.
    pub seed: u64,
    /// Show the training split's windows shuffled (see the module documentation).
    pub shuffle_train: bool,
}

impl Default for ListwiseConfig {
    fn default() -> Self {
        ListwiseConfig {
            samples: 50,
            window: 20,
            pool: 100,
            min_ndcg: 0.1,
            filter: NdcgFilter::Initial,
            seed: 0,
            shuffle_train: false,
        }
    }
}

/// Draws the windows of every query; see the module documentation.
pub fn build(src: &Sources<'_>, cfg: &ListwiseConfig) -> Result<(Vec<Example>, BuildReport)> {
    if cfg.samples == 0 || cfg.window < 2 || cfg.pool < 2 {
        return Err(Error::Config(
            "samples must be at least 1, window and pool at least 2".into(),
        ));
    }
    let mut report = BuildReport::new(
        "rearank",
        cfg.seed,
        &[
            "drawn",
            "dropped: no relevant passage",
            "dropped: nDCG@10 below the minimum",
            "kept",
        ],
    );
    let mut out = Vec::new();
    for pool in pools(src, cfg.pool, &mut report)? {
        let mut rng = query_rng(cfg.seed, &pool.query.id);
        // Its own stream, so the draws are the same with and without shuffling.
        let mut shuffle_rng = query_rng(cfg.seed ^ 0x5348_5546_464c_4521, &pool.query.id);
        let n = pool.docs.len();
        let draws = if n <= cfg.window {
            1.min(n)
        } else {
            cfg.samples
        };
        let mut kept = 0;
        for _ in 0..draws {
            report.count("drawn", 1);
            let mut chosen: Vec<usize> = if n <= cfg.window {
                (0..n).collect()
            } else {
                sample(&mut rng, n, cfg.window).into_vec()
            };
            chosen.sort_unstable();
            let labels: Vec<i32> = chosen.iter().map(|&i| pool.labels[i]).collect();
            if !labels.iter().any(|&l| l >= src.relevance_level.max(1)) {
                report.count("dropped: no relevant passage", 1);
                continue;
            }
            let ndcg = match cfg.filter {
                NdcgFilter::Initial => ndcg_cut_of_labels(&labels, &labels, 10),
                NdcgFilter::Best => {
                    let mut best = labels.clone();
                    best.sort_unstable_by(|a, b| b.cmp(a));
                    ndcg_cut_of_labels(&best, &pool.judged, 10)
                }
            };
            if ndcg < cfg.min_ndcg {
                report.count("dropped: nDCG@10 below the minimum", 1);
                continue;
            }
            report.count("kept", 1);
            let labels = if cfg.shuffle_train && pool.split == Split::Train {
                chosen.shuffle(&mut shuffle_rng);
                chosen.iter().map(|&i| pool.labels[i]).collect()
            } else {
                labels
            };
            let docs: Vec<_> = chosen.iter().map(|&i| pool.docs[i]).collect();
            let truth = Truth::Listwise { labels };
            out.push(example(src, &pool, kept, &docs, truth)?);
            kept += 1;
        }
        src.tick();
        report.query_done(pool.split, kept);
    }
    Ok((out, report))
}
