//! Training sets from the inputs a reranker already has: topics, a corpus, qrels and a
//! first-stage run (the readers of `rerank rerank`).
//!
//! - [`listwise`]: REARANK-style windows — per labelled query, `samples` draws of
//!   `window` passages from the run's top `pool`, shown in first-stage order, kept when
//!   they hold a relevant passage and pass the nDCG@10 filter.
//! - [`setwise`]: Rank-R1-style sets — a labelled positive and negatives from the run
//!   (unjudged or judged non-relevant), shuffled.
//! - [`split`]: which query goes to train, validation and test (lists of ids, or a
//!   seeded fraction).
//!
//! Every draw is seeded per query (the same seed gives the same examples, whatever the
//! order of the queries), every prompt is rendered by the template inference uses
//! ([`rerank_prompt::Template::render`]), and a [`BuildReport`] says how many queries
//! and samples each filter kept and dropped.

pub mod io;
pub mod listwise;
pub mod setwise;
pub mod split;

use std::collections::{BTreeMap, HashMap};

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rerank_core::data::Corpus;
use rerank_core::{Document, Query};
use rerank_eval::{Qrels, Run};
use rerank_prompt::{Message, Template, TokenCounter};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::reward::{ListwiseTruth, SetwiseTruth};

pub use split::{Split, SplitSpec};

/// What an example is judged against, by method.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "method")]
pub enum Truth {
    /// A REARANK window: each passage's label, in prompt order.
    #[serde(rename = "rearank")]
    Listwise {
        /// Graded labels (0: not relevant or unjudged).
        labels: Vec<i32>,
    },
    /// A Rank-R1 set: which passage is the positive (0-based, in prompt order).
    #[serde(rename = "rank-r1")]
    Setwise {
        /// The positive.
        positive: usize,
    },
}

/// One training example: the prompt, and what its answers are judged against. One
/// JSON line of a training file; also the row of TRL's conversational datasets
/// (`prompt` as chat messages, the other fields as columns its reward functions get).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Example {
    /// Unique within a build: `{method}/{qid}/{n}`.
    pub id: String,
    /// The query.
    pub qid: String,
    /// `train`, `validation` or `test`.
    pub split: Split,
    /// The chat messages a model is given (system first).
    pub prompt: Vec<Message>,
    /// The documents shown, in prompt order.
    pub doc_ids: Vec<String>,
    /// The ground truth.
    #[serde(flatten)]
    pub truth: Truth,
    /// The ground truth as the exported reward functions take it: Rank-R1's label
    /// (`[7]`), or REARANK's labels as a JSON list (`[0,2,1,…]`).
    pub ground_truth: String,
}

impl Example {
    /// The method's name (`rearank`, `rank-r1`).
    pub fn method(&self) -> &'static str {
        match self.truth {
            Truth::Listwise { .. } => "rearank",
            Truth::Setwise { .. } => "rank-r1",
        }
    }

    /// The listwise truth, for [`crate::reward::RearankReward`].
    pub fn listwise_truth(&self) -> Option<ListwiseTruth> {
        match &self.truth {
            Truth::Listwise { labels } => Some(ListwiseTruth {
                labels: labels.clone(),
            }),
            Truth::Setwise { .. } => None,
        }
    }

    /// The setwise truth, for [`crate::reward::RankR1Reward`].
    pub fn setwise_truth(&self) -> Option<SetwiseTruth> {
        match self.truth {
            Truth::Setwise { positive } => Some(SetwiseTruth {
                positive,
                n: self.doc_ids.len(),
            }),
            Truth::Listwise { .. } => None,
        }
    }

    /// `ground_truth` for a truth.
    pub fn ground_truth_of(truth: &Truth) -> String {
        match truth {
            Truth::Listwise { labels } => serde_json::to_string(labels).expect("labels serialise"),
            Truth::Setwise { positive } => format!("[{}]", positive + 1),
        }
    }
}

/// The inputs every builder reads from.
pub struct Sources<'a> {
    /// The queries.
    pub topics: &'a [Query],
    /// The documents.
    pub corpus: &'a Corpus,
    /// The relevance judgements.
    pub qrels: &'a Qrels,
    /// The first-stage run the windows and negatives come from.
    pub run: &'a Run,
    /// Which query goes where.
    pub split: &'a BTreeMap<String, Split>,
    /// The prompt template (the method's, as inference uses it).
    pub template: &'a Template,
    /// The model's tokenizer, for templates that truncate passages by tokens.
    pub tokenizer: Option<&'a dyn TokenCounter>,
    /// Minimum label counted as relevant (1, trec_eval's default).
    pub relevance_level: i32,
    /// Called after each query (for a progress bar).
    pub progress: Option<&'a dyn Fn()>,
}

impl Sources<'_> {
    pub(crate) fn tick(&self) {
        if let Some(p) = self.progress {
            p();
        }
    }
}

/// Counts of one build, before and after each filter.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BuildReport {
    /// `rearank` or `rank-r1`.
    pub method: String,
    /// The seed.
    pub seed: u64,
    /// Queries in the topics.
    pub topics: usize,
    /// Of those, queries with relevance judgements.
    pub labelled: usize,
    /// Of those, queries with a first-stage ranking.
    pub with_run: usize,
    /// Of those, queries assigned to a split.
    pub in_split: usize,
    /// Run documents skipped because the corpus does not have them.
    pub missing_docs: usize,
    /// The method's filters in the order they apply (`drawn`, `dropped: no relevant
    /// passage`, …, `kept`), each with its count summed over queries.
    pub stages: Vec<Stage>,
    /// Examples written, per split.
    pub examples: BTreeMap<String, usize>,
    /// Queries that gave at least one example, per split.
    pub queries: BTreeMap<String, usize>,
}

/// One filter of a build and how many samples (or queries) it concerned.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stage {
    /// What happened (`drawn`, `dropped: no relevant passage`, `kept`, …).
    pub name: String,
    /// How often.
    pub count: usize,
}

impl BuildReport {
    /// A report whose stages are listed in this order (counts start at 0).
    pub(crate) fn new(method: &str, seed: u64, stages: &[&str]) -> BuildReport {
        BuildReport {
            method: method.into(),
            seed,
            stages: stages
                .iter()
                .map(|s| Stage {
                    name: (*s).into(),
                    count: 0,
                })
                .collect(),
            ..BuildReport::default()
        }
    }

    pub(crate) fn count(&mut self, stage: &str, n: usize) {
        match self.stages.iter_mut().find(|s| s.name == stage) {
            Some(s) => s.count += n,
            None => self.stages.push(Stage {
                name: stage.to_owned(),
                count: n,
            }),
        }
    }

    /// The count of a stage.
    pub fn stage(&self, name: &str) -> usize {
        self.stages
            .iter()
            .find(|s| s.name == name)
            .map_or(0, |s| s.count)
    }
}

/// One query's first-stage candidates, with their labels, in run order.
pub(crate) struct Pool<'a> {
    pub query: &'a Query,
    pub split: Split,
    pub docs: Vec<&'a Document>,
    pub labels: Vec<i32>,
    /// Every judged label of the query (for nDCG against the full judgements).
    pub judged: Vec<i32>,
}

/// The queries that can give examples (topics with judgements and a run, assigned to a
/// split), each with its first `depth` run documents found in the corpus.
pub(crate) fn pools<'a>(
    src: &Sources<'a>,
    depth: usize,
    report: &mut BuildReport,
) -> Result<Vec<Pool<'a>>> {
    report.topics = src.topics.len();
    let mut out = Vec::new();
    for q in src.topics {
        let Some(judged) = src.qrels.get(&q.id) else {
            continue;
        };
        report.labelled += 1;
        let Some(results) = src.run.get(&q.id) else {
            continue;
        };
        report.with_run += 1;
        let Some(&split) = src.split.get(&q.id) else {
            continue;
        };
        report.in_split += 1;
        let labels_of: HashMap<&str, i32> = judged.iter().collect();
        let mut seen = std::collections::HashSet::new();
        let (mut docs, mut labels) = (Vec::new(), Vec::new());
        for i in results.ranked_indices() {
            if docs.len() == depth {
                break;
            }
            let (docno, _) = results.get(i as usize);
            if !seen.insert(docno) {
                continue;
            }
            match src.corpus.get(docno) {
                Some(d) => {
                    docs.push(d);
                    labels.push(labels_of.get(docno).copied().unwrap_or(0));
                }
                None => report.missing_docs += 1,
            }
        }
        out.push(Pool {
            query: q,
            split,
            docs,
            labels,
            judged: judged.iter().map(|(_, r)| r).collect(),
        });
    }
    for (name, wanted) in [
        (Split::Train, true),
        (Split::Validation, false),
        (Split::Test, false),
    ] {
        let any = out.iter().any(|p| p.split == name);
        let assigned = src.split.values().any(|&s| s == name);
        if assigned && !any && wanted {
            return Err(Error::Inputs(format!(
                "no query of the {name} split has both relevance judgements and a first-stage \
                 ranking; check that the qrels, the run and the split lists name the same queries"
            )));
        }
    }
    Ok(out)
}

/// A generator for one query's draws: the same seed and query id give the same
/// numbers on every machine and in any query order.
pub(crate) fn query_rng(seed: u64, qid: &str) -> ChaCha8Rng {
    // FNV-1a over the id, mixed with the seed.
    let mut h = 0xcbf2_9ce4_8422_2325u64 ^ seed;
    for b in qid.bytes() {
        h ^= b as u64;
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    ChaCha8Rng::seed_from_u64(h)
}

/// The `n`-th example of a query: its prompt rendered for these documents, in this
/// order.
pub(crate) fn example(
    src: &Sources<'_>,
    pool: &Pool<'_>,
    n: usize,
    docs: &[&Document],
    truth: Truth,
) -> Result<Example> {
    let method = match truth {
        Truth::Listwise { .. } => "rearank",
        Truth::Setwise { .. } => "rank-r1",
    };
    Ok(Example {
        id: format!("{method}/{}/{n}", pool.query.id),
        qid: pool.query.id.clone(),
        split: pool.split,
        prompt: src
            .template
            .render(&pool.query.text, docs, src.tokenizer, true)?,
        doc_ids: docs.iter().map(|d| d.id.clone()).collect(),
        ground_truth: Example::ground_truth_of(&truth),
        truth,
    })
}

impl BuildReport {
    /// Records that a query of `split` is done and gave `kept` examples.
    pub(crate) fn query_done(&mut self, split: Split, kept: usize) {
        if kept > 0 {
            *self.queries.entry(split.to_string()).or_default() += 1;
            *self.examples.entry(split.to_string()).or_default() += kept;
        }
    }
}
