//! From a first-stage run to the candidate lists a reranker takes.

use std::collections::{HashMap, HashSet};

use rerank_core::data::Corpus;
use rerank_core::{Candidate, Query};
use rerank_eval::Run;

/// What did not line up between topics, run and corpus.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CandidateReport {
    /// `(query id, document id)` pairs of the run whose document is not in the corpus
    /// (skipped).
    pub missing_docs: Vec<(String, String)>,
    /// `(query id, document id)` pairs listed more than once in one query's ranking:
    /// the best-ranked occurrence is kept, the later ones are dropped (trec_eval
    /// refuses a run with such repeats, and a reranked list must not repeat a
    /// document).
    pub duplicate_docs: Vec<(String, String)>,
    /// Topics with no ranking in the run (nothing to rerank).
    pub topics_without_run: Vec<String>,
    /// Topics whose ranking names no document of the corpus: nothing is left to
    /// rerank, so they are not among the returned queries.
    pub topics_without_candidates: Vec<String>,
    /// Query ids of the run with no topic (skipped).
    pub run_without_topic: Vec<String>,
}

impl CandidateReport {
    /// Whether everything lined up.
    pub fn is_clean(&self) -> bool {
        self.missing_docs.is_empty()
            && self.duplicate_docs.is_empty()
            && self.topics_without_run.is_empty()
            && self.topics_without_candidates.is_empty()
            && self.run_without_topic.is_empty()
    }
}

/// Each topic's first `depth` documents of the run (in trec_eval's order: score
/// descending), with their text from the corpus. Documents missing from the corpus
/// and repeats of a document are skipped, topics left with no candidate are left
/// out, and all of it is reported. Queries come in topic order.
///
/// ```
/// use rerank::candidates_from_run;
/// use rerank::core::{data::Corpus, Document, Query};
/// use rerank::eval::Run;
/// let corpus = Corpus::from_docs([Document::new("a", "A."), Document::new("b", "B.")]);
/// let mut run = Run::new("bm25");
/// run.push_ranking("1", ["a", "gone", "a", "b"]).push_ranking("2", ["gone"]);
/// let topics = [Query::new("1", "q one"), Query::new("2", "q two")];
/// let (queries, report) = candidates_from_run(&run, &topics, &corpus, 100);
/// assert_eq!(queries.len(), 1);
/// let ids: Vec<_> = queries[0].1.iter().map(|c| c.id()).collect();
/// assert_eq!(ids, ["a", "b"]);
/// assert_eq!(report.duplicate_docs, [("1".to_string(), "a".to_string())]);
/// assert_eq!(report.topics_without_candidates, ["2"]);
/// ```
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
        let mut seen = HashSet::new();
        for i in results.ranked_indices() {
            if cands.len() == depth {
                break;
            }
            let (docno, score) = results.get(i as usize);
            if !seen.insert(docno) {
                report
                    .duplicate_docs
                    .push((topic.id.clone(), docno.to_owned()));
                continue;
            }
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
        if cands.is_empty() {
            report.topics_without_candidates.push(topic.id.clone());
            continue;
        }
        out.push((topic.clone(), cands));
    }
    (out, report)
}
