//! `rerank eval compare`: several runs against a baseline, with significance tests.

use std::collections::HashMap;
use std::io::Write;
use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::{Args, ValueEnum};
use rerank_eval::stats::{self, CompareOptions, Test};
use rerank_eval::{Evaluation, Evaluator, Qrels, Summary};

use crate::eval_opts::CommonOpts;

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum TestArg {
    /// Paired two-sided t-test
    TTest,
    /// Paired two-sided randomization (sign-flip) test
    Randomization,
    /// Percentile bootstrap of the mean difference
    Bootstrap,
}

#[derive(Args, Debug)]
pub struct CompareArgs {
    /// Relevance judgements (TREC qrels)
    pub qrels: PathBuf,

    /// Runs to compare; the first is the baseline the others are tested against
    #[arg(num_args = 2.., required = true)]
    pub runs: Vec<PathBuf>,

    #[command(flatten)]
    pub common: CommonOpts,

    /// The significance test
    #[arg(long, value_enum, default_value = "t-test")]
    pub test: TestArg,

    /// Permutations (randomization test) or resamples (bootstrap)
    #[arg(long, default_value_t = 10_000, value_parser = crate::values::at_least_one)]
    pub samples: usize,

    /// Seed for the randomization test and the bootstrap
    #[arg(long, default_value_t = 42)]
    pub seed: u64,

    /// Significance level, after Holm–Bonferroni correction over all comparisons
    #[arg(long, default_value_t = 0.05)]
    pub alpha: f64,

    /// Do not correct p-values for multiple comparisons
    #[arg(long)]
    pub no_holm: bool,
}

pub fn run(args: CompareArgs) -> Result<()> {
    if !(args.alpha > 0.0 && args.alpha < 1.0) {
        bail!("--alpha must be between 0 and 1, got {}", args.alpha);
    }
    let measures = args
        .common
        .measures_or(&["map", "ndcg_cut.10", "P.10", "recip_rank"]);
    let evaluator = Evaluator::new(&measures, args.common.options())?;
    let qrels = Qrels::from_path(&args.qrels)?;
    let evals: Vec<Evaluation> = args
        .runs
        .iter()
        .map(|p| {
            evaluator
                .evaluate_file(&qrels, p)
                .with_context(|| format!("evaluating {}", p.display()))
        })
        .collect::<Result<_>>()?;
    let table = build_table(&args, &evals)?;
    let mut out = std::io::stdout().lock();
    print_table(&mut out, &args, &table)?;
    Ok(())
}

struct Table {
    names: Vec<String>,
    columns: Vec<String>,
    /// means[run][column]
    means: Vec<Vec<f64>>,
    /// p[run-1][column] (raw), adjusted
    p_raw: Vec<Vec<f64>>,
    p_adj: Vec<Vec<f64>>,
    queries: usize,
    mismatched: bool,
}

fn build_table(args: &CompareArgs, evals: &[Evaluation]) -> Result<Table> {
    let base = &evals[0];
    let columns: Vec<usize> = base
        .columns()
        .iter()
        .enumerate()
        .filter(|(_, c)| c.summary == Summary::Mean)
        .map(|(i, _)| i)
        .collect();
    if columns.is_empty() {
        bail!("none of the measures is averaged over queries; choose e.g. -m map -m ndcg_cut.10");
    }
    let test = match args.test {
        TestArg::TTest => Test::TTest,
        TestArg::Randomization => Test::Randomization,
        TestArg::Bootstrap => Test::Bootstrap,
    };
    let opts = CompareOptions {
        test,
        samples: args.samples,
        seed: args.seed,
        confidence: 1.0 - args.alpha,
    };
    let mut names: Vec<String> = evals.iter().map(|e| e.run_name().to_owned()).collect();
    let unique: std::collections::HashSet<&String> = names.iter().collect();
    if unique.len() < names.len() {
        names = args.runs.iter().map(|p| p.display().to_string()).collect();
    }
    let mut means = Vec::new();
    let mut p_raw = Vec::new();
    let mut mismatched = false;
    let mut queries = base.qids().len();
    for (r, e) in evals.iter().enumerate() {
        means.push(columns.iter().map(|&c| e.summary()[c]).collect());
        if r == 0 {
            continue;
        }
        // Pair queries evaluated in both runs.
        let rows: HashMap<&str, usize> = e
            .qids()
            .iter()
            .enumerate()
            .map(|(i, q)| (q.as_str(), i))
            .collect();
        let pairs: Vec<(usize, usize)> = base
            .qids()
            .iter()
            .enumerate()
            .filter_map(|(i, q)| rows.get(q.as_str()).map(|&j| (i, j)))
            .collect();
        if pairs.len() != base.qids().len() || pairs.len() != e.qids().len() {
            mismatched = true;
        }
        queries = queries.min(pairs.len());
        let mut ps = Vec::new();
        for &c in &columns {
            let a: Vec<f64> = pairs.iter().map(|&(i, _)| base.matrix()[[i, c]]).collect();
            let b: Vec<f64> = pairs.iter().map(|&(_, j)| e.matrix()[[j, c]]).collect();
            let cmp = stats::compare(&a, &b, &opts)
                .with_context(|| format!("comparing {} with {}", names[r], names[0]))?;
            ps.push(cmp.p_value);
        }
        p_raw.push(ps);
    }
    let flat: Vec<f64> = p_raw.iter().flatten().copied().collect();
    let adj = if args.no_holm {
        flat.clone()
    } else {
        stats::holm_bonferroni(&flat)
    };
    let p_adj = adj.chunks(columns.len()).map(|c| c.to_vec()).collect();
    Ok(Table {
        names,
        columns: columns
            .iter()
            .map(|&c| base.columns()[c].name.clone())
            .collect(),
        means,
        p_raw,
        p_adj,
        queries,
        mismatched,
    })
}

fn print_table(out: &mut impl Write, args: &CompareArgs, t: &Table) -> Result<()> {
    let test = match args.test {
        TestArg::TTest => "paired t-test",
        TestArg::Randomization => "paired randomization test",
        TestArg::Bootstrap => "percentile bootstrap",
    };
    let correction = if args.no_holm {
        "no correction".to_string()
    } else {
        format!(
            "Holm-Bonferroni over {} comparisons",
            t.p_raw.len() * t.columns.len()
        )
    };
    writeln!(
        out,
        "{} queries; baseline: {}; {test} (two-sided), alpha = {}, {correction}",
        t.queries, t.names[0], args.alpha
    )?;
    if t.mismatched {
        writeln!(out, "note: the runs cover different queries; tests use the queries they share (use -c to count missing queries as 0)")?;
    }
    let name_w = t
        .names
        .iter()
        .map(|n| n.chars().count())
        .max()
        .unwrap_or(3)
        .max(3);
    let col_w: Vec<usize> = t.columns.iter().map(|c| c.len().max(8)).collect();
    write!(out, "\n{:<name_w$}", "run")?;
    for (c, w) in t.columns.iter().zip(&col_w) {
        write!(out, "  {c:>w$}")?;
    }
    writeln!(out)?;
    for (r, name) in t.names.iter().enumerate() {
        write!(out, "{name:<name_w$}")?;
        for (c, w) in col_w.iter().enumerate() {
            let mean = t.means[r][c];
            let mark = if r == 0 {
                " "
            } else if t.p_adj[r - 1][c] <= args.alpha {
                if mean > t.means[0][c] {
                    "▲"
                } else {
                    "▼"
                }
            } else {
                " "
            };
            let cell = format!("{mean:.4}{mark}");
            write!(out, "  {cell:>w$}")?;
        }
        writeln!(out)?;
    }
    writeln!(
        out,
        "\n▲/▼: significantly better/worse than the baseline at alpha = {}",
        args.alpha
    )?;
    writeln!(
        out,
        "\np-values{}:",
        if args.no_holm {
            ""
        } else {
            " (Holm-adjusted; raw in brackets)"
        }
    )?;
    for (r, name) in t.names.iter().enumerate().skip(1) {
        write!(out, "{name:<name_w$}")?;
        for (c, w) in col_w.iter().enumerate() {
            let cell = if args.no_holm {
                format!("{:.4}", t.p_raw[r - 1][c])
            } else {
                format!("{:.4} [{:.4}]", t.p_adj[r - 1][c], t.p_raw[r - 1][c])
            };
            write!(out, "  {cell:>w$}")?;
        }
        writeln!(out)?;
    }
    Ok(())
}
