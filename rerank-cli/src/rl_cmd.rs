//! `rerank rl`: the training recipe's data and rewards. `build-data` turns topics, a
//! corpus, qrels and a first-stage run into REARANK windows or Rank-R1 sets (JSON
//! lines for TRL and this project, parquet for verl, the Python reward module, a
//! report); `reward` scores a file of completions.

use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use rerank_core::data::{read_topics, Corpus};
use rerank_eval::{Qrels, Run};
use rerank_model::{ModelSource, TokenizerCounter};
use rerank_prompt::Template;
use rerank_rl::data::listwise::{ListwiseConfig, NdcgFilter};
use rerank_rl::data::setwise::{Negatives, SetwiseConfig};
use rerank_rl::data::{io, BuildReport, Example, Sources, Split, SplitSpec};
use rerank_rl::export;

use crate::values::{at_least_one, with_suffix};

#[derive(Subcommand, Debug)]
pub enum RlCommand {
    /// Build training examples (REARANK windows or Rank-R1 sets) from topics, a corpus,
    /// qrels and a first-stage run, split by query; writes JSON lines, verl parquet,
    /// the Python reward module and a report
    BuildData(Box<BuildArgs>),
    /// Score a file of completions (JSON lines: {"id": …, "completion": …}) against
    /// the examples they answer
    Reward(RewardArgs),
    /// Answer a split's examples greedily with a model (and an adapter) and report the
    /// mean reward, the share of answers in the method's format and (REARANK) the
    /// nDCG@10 of the orders they give: the before-and-after of a training run
    Evaluate(Box<EvaluateArgs>),
}

#[derive(Args, Debug)]
#[command(
    after_help = "Example (the base model, then the trained adapter, on the held-out split):\n  \
    rerank rl evaluate --data rl-data/test.jsonl --model smollm2-135m -o before\n  \
    rerank rl evaluate --data rl-data/test.jsonl --model smollm2-135m --adapter run/adapter -o after\n\n\
    Writes OUTPUT.answers.jsonl (each example's answer, reward, format and nDCG@10) and \
    OUTPUT.json (the means)."
)]
pub struct EvaluateArgs {
    /// The examples (a split file written by `rerank rl build-data`)
    #[arg(long)]
    pub data: PathBuf,

    #[command(flatten)]
    pub model: crate::rerank_cmd::ModelArgs,

    /// Generation stops when an answer contains this (kept in it; repeatable), as
    /// inference stops at `</answer>`
    #[arg(long)]
    pub stop: Vec<String>,

    /// REARANK's rank term: normalized (the paper's), raw or difference (its ablations)
    #[arg(long, default_value = "normalized", value_parser = ["normalized", "raw", "difference"])]
    pub gain: String,

    /// Output prefix: writes OUTPUT.answers.jsonl and OUTPUT.json
    #[arg(short, long)]
    pub output: PathBuf,
}

#[derive(Args, Debug)]
#[command(
    after_help = "Example (REARANK, the Vaswani collection, a BM25 run from `rerank retrieve`):\n  \
    rerank rl build-data --method rearank --topics data/vaswani/query-text.trec \
    --corpus data/vaswani/doc-text.trec --qrels data/vaswani/qrels --run bm25.run \
    --validation 0.1 --test 0.45 --seed 1 -o rl-data\n\n\
    Writes rl-data/{train,validation,test}.jsonl (TRL's conversational format), \
    rl-data/verl/{split}.parquet, rl-data/rerank_reward.py (verl's compute_score, TRL's \
    reward_func), rl-data/report.json and rl-data/{split}-queries.txt (each split's query ids)."
)]
pub struct BuildArgs {
    /// rearank (windows ranked with the REARANK prompt) or rank-r1 (sets, the best one picked)
    #[arg(long, value_parser = ["rearank", "rank-r1"])]
    pub method: String,

    /// Topics: TREC <top> records, TSV (qid<TAB>text) or JSON lines
    #[arg(long)]
    pub topics: PathBuf,

    /// Corpus: BEIR JSON lines, TSV (id<TAB>text) or TREC <DOC> records
    #[arg(long)]
    pub corpus: PathBuf,

    /// Relevance judgements (TREC qrels)
    #[arg(long)]
    pub qrels: PathBuf,

    /// First-stage TREC run the windows and negatives are drawn from
    #[arg(long)]
    pub run: PathBuf,

    /// Training queries, one id per line (instead of --validation/--test fractions)
    #[arg(long, value_name = "FILE", conflicts_with_all = ["validation", "test"])]
    pub train_queries: Option<PathBuf>,

    /// Validation queries, one id per line (with --train-queries)
    #[arg(long, value_name = "FILE", requires = "train_queries")]
    pub validation_queries: Option<PathBuf>,

    /// Test queries, one id per line (with --train-queries)
    #[arg(long, value_name = "FILE", requires = "train_queries")]
    pub test_queries: Option<PathBuf>,

    /// Share of the labelled queries for validation (seeded by --seed)
    #[arg(long, default_value_t = 0.0)]
    pub validation: f64,

    /// Share of the labelled queries for test (seeded by --seed)
    #[arg(long, default_value_t = 0.0)]
    pub test: f64,

    /// Seed of the split and of every draw
    #[arg(long, default_value_t = 0)]
    pub seed: u64,

    /// First-stage depth drawn from
    #[arg(long, default_value_t = 100, value_parser = at_least_one)]
    pub pool: usize,

    /// rearank: draws per query
    #[arg(long, default_value_t = 50, value_parser = at_least_one)]
    pub samples: usize,

    /// rearank: passages per window
    #[arg(long, default_value_t = 20, value_parser = at_least_one)]
    pub window: usize,

    /// rearank: windows whose nDCG@10 is below this are dropped
    #[arg(long, default_value_t = 0.1)]
    pub min_ndcg: f64,

    /// rearank: which nDCG@10 the filter reads: initial (the window's own order) or
    /// best (its ideal order against all the query's judgements)
    #[arg(long, default_value = "initial", value_parser = ["initial", "best"])]
    pub ndcg_filter: String,

    /// rearank: show the training split's windows in a random order (the same draws;
    /// validation and test keep the first-stage order inference shows)
    #[arg(long)]
    pub shuffle_train: bool,

    /// rank-r1: sets per query
    #[arg(long, default_value_t = 1, value_parser = at_least_one)]
    pub sets_per_query: usize,

    /// rank-r1: negatives per set (19: sets of 20, Rank-R1 v0.1)
    #[arg(long, default_value_t = 19, value_parser = at_least_one)]
    pub negatives: usize,

    /// rank-r1: draw the number of negatives from 1 to --negatives, weighted by the
    /// count (Rank-R1 v0.2)
    #[arg(long)]
    pub weighted_negatives: bool,

    /// The model whose tokenizer truncates passages when the template cuts by tokens
    /// (Rank-R1: 512): a known name, GGUF file or safetensors folder
    #[arg(long, default_value = rerank_model::DEFAULT_MODEL)]
    pub tokenizer: String,

    /// Minimum judgement counted as relevant
    #[arg(long, default_value_t = 1)]
    pub relevance_level: i32,

    /// Output folder
    #[arg(short, long)]
    pub output: PathBuf,
}

#[derive(Args, Debug)]
pub struct RewardArgs {
    /// The examples (a split file written by `rerank rl build-data`)
    #[arg(long)]
    pub data: PathBuf,

    /// Completions, JSON lines {"id": "rearank/12/0", "completion": "<think>…"}
    #[arg(long)]
    pub completions: PathBuf,

    /// REARANK's rank term: normalized (the paper's), raw or difference
    #[arg(long, default_value = "normalized", value_parser = ["normalized", "raw", "difference"])]
    pub gain: String,

    /// Rank-R1's rule: exact (the published one) or lenient
    #[arg(long, default_value = "exact", value_parser = ["exact", "lenient"])]
    pub rule: String,

    /// Write each completion's reward and parts here (JSON lines; default: standard output)
    #[arg(short, long)]
    pub output: Option<PathBuf>,
}

pub fn run(cmd: RlCommand) -> Result<()> {
    match cmd {
        RlCommand::BuildData(a) => build_data(*a),
        RlCommand::Reward(a) => reward(a),
        RlCommand::Evaluate(a) => evaluate(*a),
    }
}

fn build_data(a: BuildArgs) -> Result<()> {
    let topics = read_topics(&a.topics)?;
    let corpus = Corpus::read(&a.corpus)?;
    let qrels = Qrels::from_path(&a.qrels)?;
    let run = Run::from_path(&a.run)?;
    let judged: Vec<&str> = topics
        .iter()
        .map(|q| q.id.as_str())
        .filter(|id| qrels.get(id).is_some())
        .collect();
    if judged.is_empty() {
        bail!(
            "no topic of {} has relevance judgements in {}; check that they belong together",
            a.topics.display(),
            a.qrels.display()
        );
    }
    let spec = match &a.train_queries {
        Some(train) => SplitSpec::Lists {
            train: train.clone(),
            validation: a.validation_queries.clone(),
            test: a.test_queries.clone(),
        },
        None => SplitSpec::Fraction {
            validation: a.validation,
            test: a.test,
            seed: a.seed,
        },
    };
    let split = spec.assign(&judged)?;
    let template = Template::builtin(&a.method)?;
    let tokenizer = ModelSource::resolve(&a.tokenizer)
        .and_then(|s| s.tokenizer())
        .with_context(|| format!("--tokenizer '{}'", a.tokenizer))?;
    let counter = TokenizerCounter(&tokenizer);
    let bar = ProgressBar::new(split.len() as u64).with_style(
        ProgressStyle::with_template("{bar:30} {pos}/{len} queries {elapsed}")
            .expect("valid template"),
    );
    let tick = || bar.inc(1);
    let src = Sources {
        topics: &topics,
        corpus: &corpus,
        qrels: &qrels,
        run: &run,
        split: &split,
        template: &template,
        tokenizer: Some(&counter),
        relevance_level: a.relevance_level,
        progress: Some(&tick),
    };
    let (examples, report) = match a.method.as_str() {
        "rearank" => {
            if !(0.0..=1.0).contains(&a.min_ndcg) {
                bail!("--min-ndcg must be from 0 to 1, got {}", a.min_ndcg);
            }
            rerank_rl::data::listwise::build(
                &src,
                &ListwiseConfig {
                    samples: a.samples,
                    window: a.window,
                    pool: a.pool,
                    min_ndcg: a.min_ndcg,
                    filter: if a.ndcg_filter == "best" {
                        NdcgFilter::Best
                    } else {
                        NdcgFilter::Initial
                    },
                    seed: a.seed,
                    shuffle_train: a.shuffle_train,
                },
            )?
        }
        _ => rerank_rl::data::setwise::build(
            &src,
            &SetwiseConfig {
                sets_per_query: a.sets_per_query,
                negatives: if a.weighted_negatives {
                    Negatives::Weighted { max: a.negatives }
                } else {
                    Negatives::Fixed(a.negatives)
                },
                pool: a.pool,
                seed: a.seed,
            },
        )?,
    };
    bar.finish_and_clear();
    if examples.is_empty() {
        bail!(
            "no example survived the filters ({}); see the counts above",
            stages(&report)
        );
    }
    write_outputs(&a.output, &examples, &report)?;
    write_query_lists(&a.output, &split)?;
    print_report(&report);
    eprintln!("written to {}", a.output.display());
    Ok(())
}

fn stages(r: &BuildReport) -> String {
    r.stages
        .iter()
        .map(|s| format!("{}: {}", s.name, s.count))
        .collect::<Vec<_>>()
        .join(", ")
}

fn write_outputs(dir: &Path, examples: &[Example], report: &BuildReport) -> Result<()> {
    let verl = dir.join("verl");
    std::fs::create_dir_all(&verl).with_context(|| format!("creating {}", verl.display()))?;
    export::trl::write_splits(dir, examples)?;
    export::verl::write_splits(&verl, examples)?;
    export::write_reward_module(dir)?;
    let path = dir.join("report.json");
    std::fs::write(&path, serde_json::to_string_pretty(report)? + "\n")
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

/// `{split}-queries.txt`: the queries of each split, one id per line (what
/// `--train-queries` and `rerank rerank --queries` read), so the held-out queries can
/// be reranked end to end.
fn write_query_lists(dir: &Path, split: &BTreeMap<String, Split>) -> Result<()> {
    for s in Split::ALL {
        let ids: Vec<&str> = split
            .iter()
            .filter(|(_, v)| **v == s)
            .map(|(q, _)| q.as_str())
            .collect();
        if ids.is_empty() {
            continue;
        }
        let path = dir.join(format!("{}-queries.txt", s.name()));
        std::fs::write(&path, ids.join("\n") + "\n")
            .with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}

fn print_report(r: &BuildReport) {
    eprintln!(
        "{}: {} topics, {} with judgements, {} with a first-stage ranking, {} in a split",
        r.method, r.topics, r.labelled, r.with_run, r.in_split
    );
    if r.missing_docs > 0 {
        eprintln!(
            "  {} run documents are not in the corpus (skipped)",
            r.missing_docs
        );
    }
    for s in &r.stages {
        eprintln!("  {:<52} {}", s.name, s.count);
    }
    for split in Split::ALL {
        let name = split.name();
        if let Some(n) = r.examples.get(name) {
            eprintln!(
                "  {name:<10} {n} examples from {} queries",
                r.queries.get(name).copied().unwrap_or(0)
            );
        }
    }
}

fn reward(a: RewardArgs) -> Result<()> {
    let examples = io::read_examples(&a.data)?;
    let by_id: HashMap<&str, &Example> = examples.iter().map(|e| (e.id.as_str(), e)).collect();
    let completions = io::read_completions(&a.completions)?;
    let rewards = rerank_rl::train::config::RewardConfig {
        gain: a.gain.clone(),
        setwise_rule: a.rule.clone(),
        ..Default::default()
    }
    .rewards()
    .map_err(anyhow::Error::msg)?;
    let mut out: Box<dyn std::io::Write> = match &a.output {
        Some(p) => Box::new(std::io::BufWriter::new(
            std::fs::File::create(p).with_context(|| format!("creating {}", p.display()))?,
        )),
        None => Box::new(std::io::stdout().lock()),
    };
    let mut totals: BTreeMap<&str, (usize, f64)> = BTreeMap::new();
    for (i, c) in completions.iter().enumerate() {
        let Some(e) = by_id.get(c.id.as_str()) else {
            bail!(
                "{}: completion {} answers example '{}', which {} does not have",
                a.completions.display(),
                i + 1,
                c.id,
                a.data.display()
            );
        };
        let s = rewards.score(e, &c.completion);
        let mut line = serde_json::json!({"id": c.id, "reward": s.total});
        for p in &s.parts {
            line[p.name] = p.value.into();
        }
        writeln!(out, "{line}")?;
        let t = totals.entry(e.method()).or_default();
        t.0 += 1;
        t.1 += s.total;
    }
    out.flush()?;
    for (method, (n, sum)) in totals {
        eprintln!(
            "{method}: {n} completions, mean reward {:.4}",
            sum / n.max(1) as f64
        );
    }
    Ok(())
}

fn evaluate(a: EvaluateArgs) -> Result<()> {
    let examples = io::read_examples(&a.data)?;
    if examples.is_empty() {
        bail!("{}: no examples", a.data.display());
    }
    let mut backend = crate::rerank_cmd::build_backend(&a.model)?;
    let options = rerank_rl::evaluate::EvalOptions {
        max_new_tokens: a.model.max_new_tokens,
        batch: a.model.batch,
        stop: a.stop.clone(),
    };
    let rewards = rerank_rl::train::config::RewardConfig {
        gain: a.gain.clone(),
        ..Default::default()
    }
    .rewards()
    .map_err(anyhow::Error::msg)?;
    let bar = ProgressBar::new(examples.len() as u64).with_style(
        ProgressStyle::with_template("{bar:30} {pos}/{len} examples {elapsed} (eta {eta})")
            .expect("valid template"),
    );
    let (summary, answers) =
        rerank_rl::evaluate::evaluate(&mut backend, &examples, &options, &rewards, |n| {
            bar.set_position(n as u64)
        })?;
    bar.finish_and_clear();
    let path = with_suffix(&a.output, ".answers.jsonl");
    let mut lines = String::new();
    for answer in &answers {
        lines += &(serde_json::to_string(answer)? + "\n");
    }
    std::fs::write(&path, lines).with_context(|| format!("writing {}", path.display()))?;
    let report = serde_json::json!({
        "data": a.data,
        "model": a.model.model,
        "adapter": a.model.adapter,
        "max_new_tokens": a.model.max_new_tokens,
        "stop": a.stop,
        "gain": a.gain,
        "summary": summary,
    });
    let path = with_suffix(&a.output, ".json");
    std::fs::write(&path, serde_json::to_string_pretty(&report)? + "\n")
        .with_context(|| format!("writing {}", path.display()))?;
    eprintln!(
        "{} examples: mean reward {:.4}, in format {:.1}%, {:.0} tokens per answer",
        summary.examples,
        summary.reward,
        100.0 * summary.parsed,
        summary.completion_tokens
    );
    if let (Some(after), Some(before)) = (summary.ndcg, summary.ndcg_initial) {
        eprintln!("nDCG@10 of the windows: {after:.4} reranked, {before:.4} as shown");
    }
    eprintln!("written to {}", path.display());
    Ok(())
}
