//! From a first-stage run to the candidate lists a reranker takes.

use std::collections::HashMap;

use rerank_core::data::Corpus;
use rerank_core::{Candidate, Query};
use rerank_eval::Run;

/// What did not line up between topics, run and corpus.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CandidateReport {
    /// `(query id, document id)` pairs of the run whose document is not in the corpus
    /// (skipped).
    pub missing_docs: Vec<(String, String)>,
    /// Topics with no ranking in the run (nothing to rerank).
    pub topics_without_run: Vec<String>,
    /// Query ids of the run with no topic (skipped).
    pub run_without_topic: Vec<String>,
}

impl CandidateReport {
    /// Whether everything lined up.
    pub fn is_clean(&self) -> bool {
        self.missing_docs.is_empty()
            && self.topics_without_run.is_empty()
            && self.run_without_topic.is_empty()
    }
}

/// Each topic's first `depth` documents of the run (in trec_eval's order: score
/// descending), with their text from the corpus; documents missing from the corpus are
/// skipped and reported. Queries come in topic order.
pub fn candidates_from_run(
    run: &Run,
    topics: &[Query],
    corpus: &Corpus,
    depth: usize,
) -> (Vec<(Query, Vec<Candidate>)>, CandidateReport) {
    let mut report = CandidateReport::default();
    let known: HashMap<&str, ()> = topics.iter().map(|q| (q.id.as_str(), ())).collect();
    for q in run {
        if !known.contains_key(q.qid()) {
            report.run_without_topic.push(q.qid().to_owned());
        }
    }
    let mut out = Vec::new();
    for topic in topics {
        let Some(results) = run.get(&topic.id) else {
            report.topics_without_run.push(topic.id.clone());
            continue;
        };
        let mut cands = Vec::new();
        for i in results.ranked_indices() {
            if cands.len() == depth {
                break;
            }
            let (docno, score) = results.get(i as usize);
            match corpus.get(docno) {
                Some(d) => {
                    let rank = cands.len() + 1;
                    cands.push(Candidate::new(d.clone(), score, rank));
                }
                None => report
                    .missing_docs
                    .push((topic.id.clone(), docno.to_owned())),
            }
        }
        out.push((topic.clone(), cands));
    }
    (out, report)
}
