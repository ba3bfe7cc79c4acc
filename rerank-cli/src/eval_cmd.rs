//! `rerank eval`: trec_eval's command line and output.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand};
use rerank_eval::{Evaluator, Qrels};

use crate::eval_opts::CommonOpts;

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
