//! The trec_eval options that `rerank eval` and `rerank eval compare` share.

use clap::Args;
use rerank_eval::EvalOptions;

/// Options shared by `eval` and `eval compare`, with trec_eval's letters.
#[derive(Args, Clone, Debug)]
pub struct CommonOpts {
    /// Measure to compute, trec_eval style: a name (`map`), a name with parameters
    /// (`P.5,10`, `ndcg_cut.10`, `ndcg.1=3,2=9`), or a set (`official`, `all_trec`,
    /// `set`). Repeatable. Default: `official`
    #[arg(short = 'm', long = "measure", value_name = "MEASURE")]
    pub measures: Vec<String>,

    /// Minimum judgement counted as relevant by binary measures
    #[arg(
        short = 'l',
        long = "level_for_rel",
        value_name = "NUM",
        default_value_t = 1,
        allow_negative_numbers = true
    )]
    pub level: i32,

    /// Average over every query of the qrels; a query without results scores 0
    #[arg(short = 'c', long = "complete_rel_info_wanted")]
    pub complete: bool,

    /// Drop unjudged documents before measuring (trec_eval: DO NOT USE unless you know why)
    #[arg(short = 'J', long = "Judged_docs_only")]
    pub judged_only: bool,

    /// Evaluate only the first NUM documents of each ranking
    #[arg(short = 'M', long = "Max_retrieved_per_topic", value_name = "NUM")]
    pub max_docs: Option<usize>,

    /// Number of documents in the collection (used by utility's 4th coefficient)
    #[arg(
        short = 'N',
        long = "Number_docs_in_coll",
        value_name = "NUM",
        default_value_t = 0
    )]
    pub num_docs: u64,

    /// Turn recall fractions into ranks as trec_eval 9 and pytrec_eval do
    /// (`(long)(f*R + 0.9)`) instead of trec_eval 10's rounding (iprec_at_recall, 11pt_avg)
    #[arg(long)]
    pub legacy_recall_cutoffs: bool,
}

impl CommonOpts {
    pub fn options(&self) -> EvalOptions {
        EvalOptions {
            relevance_level: self.level,
            average_complete: self.complete,
            judged_docs_only: self.judged_only,
            max_docs_per_topic: self.max_docs.unwrap_or(usize::MAX),
            num_docs_in_coll: self.num_docs,
            legacy_recall_cutoffs: self.legacy_recall_cutoffs,
        }
    }

    pub fn measures_or(&self, default: &[&str]) -> Vec<String> {
        if self.measures.is_empty() {
            default.iter().map(|s| s.to_string()).collect()
        } else {
            self.measures.clone()
        }
    }
}
