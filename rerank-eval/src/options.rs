//! Evaluation options: trec_eval's command-line switches as a struct.

/// How an evaluation treats its input; each field is one of trec_eval's switches.
///
/// ```
/// use rerank_eval::EvalOptions;
/// // trec_eval -l2 -c -M100
/// let opts = EvalOptions { relevance_level: 2, average_complete: true, max_docs_per_topic: 100, ..Default::default() };
/// assert!(!opts.judged_docs_only);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct EvalOptions {
    /// `-l`: the lowest judgement counted as relevant by binary measures (default 1).
    pub relevance_level: i32,
    /// `-c`: average over every query of the qrels; a query with no results counts as
    /// a query that retrieved nothing relevant (default off: only queries with both
    /// judgements and results are averaged).
    pub average_complete: bool,
    /// `-J`: drop unjudged documents from every ranking before measuring. trec_eval
    /// warns against it; so do we.
    pub judged_docs_only: bool,
    /// `-M`: evaluate only the first this-many documents of each ranking.
    pub max_docs_per_topic: usize,
    /// `-N`: number of documents in the collection (used by `utility`'s fourth
    /// coefficient only).
    pub num_docs_in_coll: u64,
    /// How a recall fraction becomes a number of relevant documents in
    /// `iprec_at_recall` and `11pt_avg`. trec_eval 10.0 rounds (`lround(f * R)`);
    /// trec_eval 9 and earlier (and pytrec_eval, which embeds version 9) used
    /// `(long)(f * R + 0.9)`. Default: the 10.0 rule.
    pub legacy_recall_cutoffs: bool,
}

impl Default for EvalOptions {
    fn default() -> Self {
        EvalOptions {
            relevance_level: 1,
            average_complete: false,
            judged_docs_only: false,
            max_docs_per_topic: usize::MAX,
            num_docs_in_coll: 0,
            legacy_recall_cutoffs: false,
        }
    }
}
