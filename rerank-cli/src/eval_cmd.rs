//! `rerank eval`: trec_eval's command line and output.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand};
use rerank_eval::{EvalOptions, Evaluator, Qrels};

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

#[derive(Args, Debug)]
#[command(
    args_conflicts_with_subcommands = true,
    subcommand_negates_reqs = true,
    after_help = "Examples:\n  \
        rerank eval qrels.txt run.txt                      official measures, like trec_eval\n  \
        rerank eval -q -m ndcg_cut.10 qrels.txt run.txt    per-query nDCG@10 and the mean\n  \
        rerank eval -m all_trec -c -M100 qrels.txt run.txt\n  \
        rerank eval compare -m map -m ndcg_cut.10 qrels.txt bm25.run reranked.run\n  \
        rerank eval --list-measures"
)]
pub struct EvalArgs {
    #[command(subcommand)]
    pub compare: Option<EvalSub>,

    /// Relevance judgements (TREC qrels: `qid iter docno rel`)
    #[arg(required_unless_present = "list_measures")]
    pub qrels: Option<PathBuf>,

    /// The run to evaluate (TREC results: `qid Q0 docno rank score tag`); `-` reads stdin
    #[arg(required_unless_present = "list_measures")]
    pub run: Option<PathBuf>,

    #[command(flatten)]
    pub common: CommonOpts,

    /// Also print each query's values
    #[arg(short = 'q', long = "query_eval_wanted")]
    pub per_query: bool,

    /// Do not print the summary over queries (the `all` lines)
    #[arg(short = 'n', long = "nosummary")]
    pub no_summary: bool,

    /// Relevance file format (only `qrels` is supported)
    #[arg(short = 'R', long = "Rel_info_format", default_value = "qrels")]
    pub rel_format: String,

    /// Results file format (only `trec_results` is supported)
    #[arg(short = 'T', long = "Results_format", default_value = "trec_results")]
    pub results_format: String,

    /// Print z-scores instead of raw values, against the means and standard deviations
    /// in FILE (lines `qid measure mean stddev`)
    #[arg(short = 'Z', long = "Zscore", value_name = "FILE")]
    pub zscores: Option<PathBuf>,

    /// List every measure and measure set, then exit
    #[arg(long)]
    pub list_measures: bool,
}

#[derive(Subcommand, Debug)]
pub enum EvalSub {
    /// Compare runs with a baseline (the first run): a table of measures with
    /// significance marks
    Compare(crate::compare_cmd::CompareArgs),
}

pub fn run(args: EvalArgs) -> Result<()> {
    if let Some(EvalSub::Compare(c)) = args.compare {
        return crate::compare_cmd::run(c);
    }
    if args.list_measures {
        return list_measures();
    }
    if args.rel_format != "qrels" || args.results_format != "trec_results" {
        bail!(
            "only -R qrels and -T trec_results are supported (got -R {} -T {})",
            args.rel_format,
            args.results_format
        );
    }
    let (qrels_path, run_path) = (args.qrels.expect("required"), args.run.expect("required"));
    let measures = args.common.measures_or(&["official"]);
    let evaluator = Evaluator::new(&measures, args.common.options())?;
    let qrels = Qrels::from_path(&qrels_path)?;
    let mut eval = evaluator
        .evaluate_file(&qrels, &run_path)
        .with_context(|| format!("evaluating {}", run_path.display()))?;
    if let Some(z) = &args.zscores {
        eval = eval.to_zscores(&rerank_eval::ZScores::from_path(z)?);
    }
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::with_capacity(1 << 16, stdout.lock());
    eval.write_trec_eval(&mut out, args.per_query, !args.no_summary)?;
    out.flush()?;
    Ok(())
}

fn list_measures() -> Result<()> {
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "Measures (trec_eval 10.0 names; parameters after a '.'):\n"
    )?;
    for (name, about) in rerank_eval::measures::all_names() {
        writeln!(out, "  {name:<22} {about}")?;
    }
    writeln!(out, "\nMeasure sets:")?;
    for (name, members) in rerank_eval::measures::nicknames() {
        writeln!(out, "  {name:<22} {}", members.join(" "))?;
    }
    Ok(())
}
