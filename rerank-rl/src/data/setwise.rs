//! Rank-R1-style training sets (ielab/llm-rankers, `Rank-R1/create_dataset.py` and
//! `create_dataset_v0.2.py`): one labelled positive and negatives, shuffled together,
//! each passage written `[i] {title} {text}` by the Rank-R1 template.
//!
//! Rank-R1 took MS MARCO's positives and Tevatron's hard negatives; here, as users have
//! them, positives are the query's judged relevant documents (in the corpus) and
//! negatives come from the first-stage run's top `pool`: documents unjudged or judged
//! below the relevance level. [`Negatives::Fixed`] takes 19 (v0.1, sets of 20);
//! [`Negatives::Weighted`] draws the count from 1 to `max` with weight proportional to
//! the count (v0.2, `random.choices(nums, weights=nums)`).

use rand::seq::SliceRandom;
use rand::Rng;

use super::{example, pools, query_rng, BuildReport, Example, Sources, Truth};
use crate::error::{Error, Result};

/// How many negatives a set has.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Negatives {
    /// Always this many (Rank-R1 v0.1: 19).
    Fixed(usize),
    /// From 1 to `max`, a count `c` drawn with weight `c` (Rank-R1 v0.2: max 9).
    Weighted {
        /// The most negatives.
        max: usize,
    },
}

/// How Rank-R1 sets are drawn.
#[derive(Clone, Debug, PartialEq)]
pub struct SetwiseConfig {
    /// Sets per query (each with a positive drawn from the query's relevant ones).
    pub sets_per_query: usize,
    /// Negatives per set.
    pub negatives: Negatives,
    /// First-stage depth the negatives come from (100).
    pub pool: usize,
    /// The seed.
    pub seed: u64,
}

impl Default for SetwiseConfig {
    fn default() -> Self {
        SetwiseConfig {
            sets_per_query: 1,
            negatives: Negatives::Fixed(19),
            pool: 100,
            seed: 0,
        }
    }
}

/// Draws the sets of every query; see the module documentation.
pub fn build(src: &Sources<'_>, cfg: &SetwiseConfig) -> Result<(Vec<Example>, BuildReport)> {
    let most = match cfg.negatives {
        Negatives::Fixed(n) | Negatives::Weighted { max: n } => n,
    };
    if cfg.sets_per_query == 0 || most == 0 {
        return Err(Error::Config(
            "sets per query and negatives must be at least 1".into(),
        ));
    }
    let mut report = BuildReport::new(
        "rank-r1",
        cfg.seed,
        &[
            "queries dropped: no relevant document in the corpus",
            "drawn",
            "dropped: too few negatives in the run",
            "kept",
        ],
    );
    let level = src.relevance_level.max(1);
    let mut out = Vec::new();
    for pool in pools(src, cfg.pool, &mut report)? {
        let mut rng = query_rng(cfg.seed, &pool.query.id);
        let judged = src.qrels.get(&pool.query.id).expect("pools are labelled");
        let mut positives: Vec<_> = judged
            .iter()
            .filter(|&(_, rel)| rel >= level)
            .filter_map(|(d, _)| src.corpus.get(d))
            .collect();
        positives.sort_by(|a, b| a.id.cmp(&b.id));
        let negatives: Vec<_> = pool
            .docs
            .iter()
            .zip(&pool.labels)
            .filter(|(_, &l)| l < level)
            .map(|(d, _)| *d)
            .collect();
        if positives.is_empty() {
            report.count("queries dropped: no relevant document in the corpus", 1);
            src.tick();
            continue;
        }
        let mut kept = 0;
        for _ in 0..cfg.sets_per_query {
            report.count("drawn", 1);
            let count = match cfg.negatives {
                Negatives::Fixed(n) => n,
                Negatives::Weighted { max } => {
                    let max = max.min(negatives.len()).max(1);
                    let total = max * (max + 1) / 2;
                    let mut r = rng.gen_range(0..total);
                    let mut c = 1;
                    while r >= c {
                        r -= c;
                        c += 1;
                    }
                    c
                }
            };
            if negatives.len() < count {
                report.count("dropped: too few negatives in the run", 1);
                continue;
            }
            let positive = *positives.choose(&mut rng).expect("not empty");
            let mut docs: Vec<_> = negatives
                .choose_multiple(&mut rng, count)
                .copied()
                .collect();
            docs.push(positive);
            docs.shuffle(&mut rng);
            let at = docs
                .iter()
                .position(|d| d.id == positive.id)
                .expect("the positive is in the set");
            report.count("kept", 1);
            let truth = Truth::Setwise { positive: at };
            out.push(example(src, &pool, kept, &docs, truth)?);
            kept += 1;
        }
        src.tick();
        report.query_done(pool.split, kept);
    }
    Ok((out, report))
}
