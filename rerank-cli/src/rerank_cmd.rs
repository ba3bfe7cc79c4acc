//! `rerank rerank`: rerank a first-stage TREC run with a language model, query by
//! query, resumably, with a trace of every model call.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context, Result};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use rerank::output::RunOutput;
use rerank::{candidates_from_run, Method, MethodParams, Reranker};
use rerank_core::data::{read_topics, Corpus};
use rerank_core::{Fallback, ParseOutcome, Query, Ranking};
use rerank_eval::Run;
use rerank_model::candle::{CandleBackend, Weights};
use rerank_model::http::{HttpBackend, HttpConfig};
use rerank_model::{AnyBackend, ModelSource};
use rerank_prompt::parse::SetwiseMode;
use rerank_prompt::Template;

use crate::values::{self, at_least_one};

/// How the model is chosen and run (shared with `demo`).
#[derive(Args, Clone, Debug)]
pub struct ModelArgs {
    /// candle: this process runs the model; http: an OpenAI-compatible server does
    /// (vLLM, SGLang, llama.cpp's server, Ollama)
    #[arg(long, default_value = "candle", value_parser = ["candle", "http"])]
    pub backend: String,

    /// candle: a known model name (see `rerank fetch-model --list`), a GGUF file, a
    /// safetensors folder, or a Hugging Face repo id in the local hub cache.
    /// http: the model name the server serves
    #[arg(long, default_value = rerank_model::DEFAULT_MODEL)]
    pub model: String,

    /// http: the server's base URL, with /v1
    #[arg(long, default_value = "http://127.0.0.1:8000/v1")]
    pub base_url: String,

    /// http: environment variable holding the API key (sent as a bearer token)
    #[arg(long, default_value = "OPENAI_API_KEY")]
    pub api_key_env: String,

    /// http: requests in flight at once
    #[arg(long, default_value_t = 4, value_parser = at_least_one)]
    pub concurrency: usize,

    /// http: seconds before one attempt of a request is abandoned
    #[arg(long, default_value_t = 600.0, value_parser = values::seconds)]
    pub timeout: f64,

    /// http: retries of a failed request (connection errors, timeouts, 429, 5xx, bad bodies)
    #[arg(long, default_value_t = 4)]
    pub retries: u32,

    /// http: extra JSON fields for every request body, for server-specific settings
    /// (llama-cpp-python's server: '{"repeat_penalty": 1.0}' for plain greedy decoding)
    #[arg(long, value_name = "JSON")]
    pub extra_body: Option<String>,

    /// http: the served model's tokenizer for passage truncation (a known model name,
    /// GGUF file or safetensors folder); without it, tokens are estimated from characters
    #[arg(long)]
    pub tokenizer: Option<String>,

    /// Where to run the model: cpu, cuda, cuda:N or metal (GPU builds need the
    /// `cuda` / `metal` feature)
    #[arg(long, default_value = "cpu")]
    pub device: String,

    /// candle: how GGUF weights are held: quantized (small and fast) or dense (f32:
    /// exact products, several times the memory, slower decoding)
    #[arg(long, default_value = "quantized", value_parser = ["quantized", "dense"])]
    pub weights: String,

    /// candle: a PEFT LoRA adapter folder (adapter_config.json and
    /// adapter_model.safetensors), as `rerank train` or PEFT writes it
    #[arg(long, value_name = "DIR")]
    pub adapter: Option<std::path::PathBuf>,

    /// Most tokens generated per model call (reasoning included)
    #[arg(long, default_value_t = 1024, value_parser = at_least_one)]
    pub max_new_tokens: usize,

    /// Sampling temperature (0: greedy)
    #[arg(long, default_value_t = 0.0, value_parser = values::temperature)]
    pub temperature: f32,

    /// Nucleus sampling threshold
    #[arg(long, default_value_t = 1.0, value_parser = values::top_p)]
    pub top_p: f32,

    /// Sampling seed
    #[arg(long, default_value_t = 0)]
    pub seed: u64,

    /// Most prompts per model batch (across queries)
    #[arg(long, default_value_t = 8, value_parser = at_least_one)]
    pub batch: usize,
}

/// Which method and its parameters (shared with `demo`).
#[derive(Args, Clone, Debug)]
pub struct MethodArgs {
    /// rearank | rankgpt (listwise, sliding window), first (listwise in one forward pass
    /// per window, from the identifiers' log-probabilities; no text generated) or
    /// rank-r1 | setwise (setwise heapsort)
    #[arg(long, default_value = "rearank")]
    pub method: String,

    /// Candidates reranked per query (the rest keep their order below them)
    #[arg(long, default_value_t = 100, value_parser = at_least_one)]
    pub top: usize,

    /// Sliding window size (listwise)
    #[arg(long, default_value_t = 20, value_parser = at_least_one)]
    pub window: usize,

    /// Sliding window step (listwise)
    #[arg(long, default_value_t = 10, value_parser = at_least_one)]
    pub step: usize,

    /// Sliding window passes (listwise)
    #[arg(long, default_value_t = 1, value_parser = at_least_one)]
    pub passes: usize,

    /// Children per heap node, sets of N+1 (setwise; default 19 for rank-r1, 3 for setwise)
    #[arg(long, value_parser = at_least_one)]
    pub num_child: Option<usize>,

    /// Top documents a setwise sort produces
    #[arg(short = 'k', long, default_value_t = 10, value_parser = at_least_one)]
    pub k: usize,

    /// Who wins a setwise comparison the model gave no usable answer to: keep-top (the
    /// heap parent stays, as Rank-R1 does) or first-stage (the first stage's best of the
    /// set, so unreadable answers leave the first-stage order as it was)
    #[arg(long, default_value = "keep-top", value_parser = ["keep-top", "first-stage"])]
    pub fallback: String,

    /// How setwise answers are read: reference (Rank-R1's rule, exactly `[k]` inside the
    /// answer tags) or lenient (also `3`, `Document 3`, a bare `[3]` without tags)
    #[arg(long, default_value = "reference", value_parser = ["reference", "lenient"])]
    pub setwise_parse: String,

    /// How a setwise method reads the model: generate (the model answers, Rank-R1's way)
    /// or likelihood (one forward pass, the pick is the label whose `[k]` is likeliest
    /// after the answer prefix, llm-rankers' way; no text generated)
    #[arg(long, default_value = "generate", value_parser = ["generate", "likelihood"])]
    pub setwise_scoring: String,

    /// The prompt: a built-in template's name (rearank, rankgpt, rank-r1, setwise,
    /// rank-r1-v0.2, rankzephyr; `--method first --prompt rearank` reads REARANK's prompt
    /// in one pass) or a TOML template file (see examples/custom_prompt) instead of the
    /// method's
    #[arg(long)]
    pub prompt: Option<PathBuf>,
}

#[derive(Args, Debug)]
#[command(
    after_help = "Example:\n  rerank retrieve --corpus data/vaswani/doc-text.trec \
    --topics data/vaswani/query-text.trec -o bm25.run\n  rerank rerank --run bm25.run \
    --topics data/vaswani/query-text.trec --corpus data/vaswani/doc-text.trec \
    --model smollm2-135m --method rearank --top 20 -o rearank.run\n\n\
    Results are written query by query (the run, the trace, and OUTPUT.progress). Run the \
    same command again after an interruption and it carries on with the queries not yet \
    done; --overwrite starts over."
)]
pub struct RerankArgs {
    /// First-stage TREC run to rerank
    #[arg(long)]
    pub run: PathBuf,

    /// Topics: TREC <top> records, TSV (qid<TAB>text) or JSON lines (_id, text)
    #[arg(long)]
    pub topics: PathBuf,

    /// Corpus: BEIR JSON lines (_id, title, text), TSV (id<TAB>text) or TREC <DOC> records
    #[arg(long)]
    pub corpus: PathBuf,

    #[command(flatten)]
    pub model: ModelArgs,

    #[command(flatten)]
    pub method: MethodArgs,

    /// Output TREC run
    #[arg(short, long)]
    pub output: PathBuf,

    /// JSON lines trace of every model call (default: OUTPUT.trace.jsonl)
    #[arg(long)]
    pub trace: Option<PathBuf>,

    /// Run tag (default: the method name)
    #[arg(long)]
    pub tag: Option<String>,

    /// Start over instead of resuming an existing output
    #[arg(long)]
    pub overwrite: bool,

    /// Rerank only the first N topics (in topic file order)
    #[arg(long, value_parser = at_least_one)]
    pub limit: Option<usize>,

    /// Rerank only the topics listed in this file, one id per line (`rerank rl
    /// build-data` writes one per split: test-queries.txt, …)
    #[arg(long, value_name = "FILE")]
    pub queries: Option<PathBuf>,
}

fn device_error(spec: &str, e: &candle_core::Error) -> anyhow::Error {
    anyhow::anyhow!(
        "--device {spec}: {}",
        rerank_model::candle::candle_message(e)
    )
}

pub fn parse_device(spec: &str) -> Result<candle_core::Device> {
    let d = match spec {
        "cpu" => candle_core::Device::Cpu,
        "metal" => candle_core::Device::new_metal(0).map_err(|e| device_error(spec, &e))?,
        s if s == "cuda" || s.starts_with("cuda:") => {
            let n: usize = s
                .strip_prefix("cuda:")
                .map(|n| n.parse())
                .transpose()
                .with_context(|| format!("bad device '{s}' (cuda:N)"))?
                .unwrap_or(0);
            candle_core::Device::new_cuda(n).map_err(|e| device_error(spec, &e))?
        }
        other => bail!("unknown device '{other}'; use cpu, cuda, cuda:N or metal"),
    };
    Ok(d)
}

pub fn load_tokenizer(spec: &str) -> Result<tokenizers::Tokenizer> {
    let source = ModelSource::resolve(spec).with_context(|| {
        format!(
            "--tokenizer '{spec}' is not a known model name, a GGUF file or a safetensors folder"
        )
    })?;
    Ok(source.tokenizer()?)
}

/// The backend the arguments describe.
pub fn build_backend(m: &ModelArgs) -> Result<AnyBackend> {
    match m.backend.as_str() {
        "http" => {
            if let Some(dir) = &m.adapter {
                bail!(
                    "--adapter {} applies to the candle backend; with --backend http, load the adapter in the server (vLLM: --lora-modules name={}) and pass its name as --model",
                    dir.display(),
                    dir.display()
                );
            }
            let mut config =
                HttpConfig::new(&m.base_url, &m.model).api_key_from_env(&m.api_key_env);
            config.concurrency = m.concurrency;
            config.timeout = std::time::Duration::from_secs_f64(m.timeout);
            config.retry.max_retries = m.retries;
            if let Some(extra) = &m.extra_body {
                let v: serde_json::Value = serde_json::from_str(extra)
                    .with_context(|| format!("--extra-body is not valid JSON: {extra}"))?;
                let serde_json::Value::Object(map) = v else {
                    bail!("--extra-body must be a JSON object, like '{{\"repeat_penalty\": 1.0}}'");
                };
                config.extra_body = map;
            }
            let mut b = HttpBackend::new(config)?;
            if let Some(t) = &m.tokenizer {
                b = b.with_tokenizer(load_tokenizer(t)?);
            }
            Ok(b.into())
        }
        _ => {
            let source = ModelSource::resolve(&m.model)?;
            let weights = match m.weights.as_str() {
                "dense" => Weights::Dense,
                _ => Weights::Quantized,
            };
            let device = parse_device(&m.device)?;
            if device.is_cpu() {
                // The decoder allocates and frees large buffers per layer: keep them.
                rerank_model::candle::keep_freed_memory();
            }
            let mut backend = CandleBackend::load_with(&source, &device, weights)?;
            if let Some(dir) = &m.adapter {
                backend.load_adapter(dir)?;
            }
            Ok(backend.into())
        }
    }
}

/// The reranker the arguments describe, and a description of everything that
/// determines its results (for resuming).
pub fn build_reranker(
    m: &ModelArgs,
    a: &MethodArgs,
) -> Result<(Reranker<AnyBackend>, serde_json::Value)> {
    let method: Method = a.method.parse()?;
    build_reranker_with(build_backend(m)?, method, m, a)
}

/// [`build_reranker`] on a backend built already (the server wraps it to count its
/// batches).
pub fn build_reranker_with<B: rerank_model::Backend + 'static>(
    backend: B,
    method: Method,
    m: &ModelArgs,
    a: &MethodArgs,
) -> Result<(Reranker<B>, serde_json::Value)> {
    let params = MethodParams {
        top: a.top,
        window: a.window,
        step: a.step,
        passes: a.passes,
        num_child: a.num_child,
        k: a.k,
        fallback: if a.fallback == "first-stage" {
            Fallback::FirstStage
        } else {
            Fallback::KeepTop
        },
    };
    let batch = if m.backend == "http" {
        m.batch.max(m.concurrency)
    } else {
        m.batch
    };
    let mut builder = Reranker::builder()
        .backend(backend)
        .method(method)
        .params(params)
        .setwise_mode(if a.setwise_parse == "lenient" {
            SetwiseMode::Lenient
        } else {
            SetwiseMode::Reference
        })
        .batch_size(batch)
        .sampling(rerank_model::SamplingParams {
            max_new_tokens: m.max_new_tokens,
            temperature: m.temperature,
            top_p: m.top_p,
            seed: m.seed,
            ..Default::default()
        });
    if a.setwise_scoring == "likelihood" {
        if method.template_kind() != rerank_prompt::TemplateKind::Setwise {
            anyhow::bail!(
                "--setwise-scoring likelihood applies to the setwise methods (rank-r1, setwise), not {method}; for a listwise window read in one pass use --method first"
            );
        }
        builder = builder.scoring(rerank::Scoring::Likelihood);
    }
    let mut prompt = serde_json::Value::String(method.template_name().into());
    if let Some(p) = &a.prompt {
        let name = p.to_string_lossy();
        let t = if !p.exists() && rerank_prompt::template::BUILTIN.contains(&name.as_ref()) {
            prompt = serde_json::Value::String(name.to_string());
            Template::builtin(&name)?
        } else {
            let t = Template::from_toml_file_as(p, method.template_kind())?;
            prompt = serde_json::json!({"file": p, "text": std::fs::read_to_string(p)?});
            t
        };
        if t.kind != method.template_kind() {
            anyhow::bail!(
                "--prompt {name}: a {} template, but {method} needs a {} one",
                t.kind.name(),
                method.template_kind().name()
            );
        }
        builder = builder.template(t);
    }
    let reranker = builder.build()?;
    let mut config = serde_json::json!({
        "backend": m.backend,
        "extra_body": m.extra_body,
        "weights": if m.backend == "candle" { Some(&m.weights) } else { None },
        "model": m.model,
        "method": method.name(),
        "prompt": prompt,
        "top": a.top, "window": a.window, "step": a.step, "passes": a.passes,
        "num_child": a.num_child, "k": a.k,
        "max_new_tokens": m.max_new_tokens, "temperature": m.temperature,
        "top_p": m.top_p, "seed": m.seed,
    });
    // The setwise options are recorded only when not the default, so runs started
    // before they existed still resume.
    for (key, value, default) in [
        ("fallback", &a.fallback, "keep-top"),
        ("setwise_parse", &a.setwise_parse, "reference"),
        ("setwise_scoring", &a.setwise_scoring, "generate"),
    ] {
        if value != default {
            config[key] = value.as_str().into();
        }
    }
    // Likewise the adapter: its folder and the hash of its weights.
    if let Some(dir) = &m.adapter {
        let weights = dir.join(rerank_model::candle::peft::WEIGHTS_FILE);
        config["adapter"] = serde_json::json!({
            "dir": dir,
            "sha256": rerank_model::registry::sha256_file(&weights)?,
        });
    }
    Ok((reranker, config))
}

/// Tokens and parse outcomes over finished queries.
#[derive(Default)]
pub struct Tally {
    pub queries: usize,
    pub calls: usize,
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    pub fallbacks: usize,
    pub parse_failures: usize,
}

impl Tally {
    pub fn add(&mut self, r: &Ranking) {
        self.queries += 1;
        self.fallbacks += r.fallbacks();
        for c in &r.calls {
            self.calls += 1;
            self.prompt_tokens += c.record.prompt_tokens.unwrap_or(0);
            self.completion_tokens += c.record.completion_tokens.unwrap_or(0);
            let outcome = c.record.parse.as_ref().map(|p| p.outcome);
            if !c.applied || outcome.is_some_and(|o| o != ParseOutcome::Ok) {
                self.parse_failures += 1;
            }
        }
    }
}

/// A list for a warning: the first few items, then how many more.
fn some_of(items: impl ExactSizeIterator<Item = String>) -> String {
    let n = items.len();
    let shown: Vec<String> = items.take(5).collect();
    if n > shown.len() {
        format!("{}, … ({} more)", shown.join(", "), n - shown.len())
    } else {
        shown.join(", ")
    }
}

/// Says what did not line up between the run, the topics and the corpus.
fn warn_about(report: &rerank::CandidateReport, args: &RerankArgs) {
    let pairs = |v: &[(String, String)]| some_of(v.iter().map(|(q, d)| format!("{q}/{d}")));
    if !report.missing_docs.is_empty() {
        eprintln!(
            "warning: {} documents of {} are not in {} and were skipped ({}); \
             check that the run and the corpus belong together",
            report.missing_docs.len(),
            args.run.display(),
            args.corpus.display(),
            pairs(&report.missing_docs)
        );
    }
    if !report.duplicate_docs.is_empty() {
        eprintln!(
            "warning: {} documents are listed more than once for the same query in {}; \
             each keeps its best rank and the repeats were dropped ({})",
            report.duplicate_docs.len(),
            args.run.display(),
            pairs(&report.duplicate_docs)
        );
    }
    if !report.topics_without_run.is_empty() {
        eprintln!(
            "warning: {} topics have no ranking in {} (nothing to rerank): {}",
            report.topics_without_run.len(),
            args.run.display(),
            some_of(report.topics_without_run.iter().cloned())
        );
    }
    if !report.topics_without_candidates.is_empty() {
        eprintln!(
            "warning: {} topics have a ranking in {} but none of its documents is in {}, \
             so they are left out of the output: {}",
            report.topics_without_candidates.len(),
            args.run.display(),
            args.corpus.display(),
            some_of(report.topics_without_candidates.iter().cloned())
        );
    }
}

/// The topics named in `list` (one id per line), in topic file order; an id the topics
/// lack is an error naming the list's line.
fn only_listed(topics: Vec<Query>, list: &Path, topics_file: &Path) -> Result<Vec<Query>> {
    let ids = rerank_rl::data::split::read_ids(list)?;
    let known: HashSet<&str> = topics.iter().map(|t| t.id.as_str()).collect();
    if let Some((id, line)) = ids.iter().find(|(id, _)| !known.contains(id.as_str())) {
        bail!(
            "{}:{line}: query '{id}' is not in {}",
            list.display(),
            topics_file.display()
        );
    }
    let wanted: HashSet<&str> = ids.iter().map(|(id, _)| id.as_str()).collect();
    Ok(topics
        .into_iter()
        .filter(|t| wanted.contains(t.id.as_str()))
        .collect())
}

fn default_trace(output: &Path) -> PathBuf {
    values::with_suffix(output, ".trace.jsonl")
}

pub fn run(args: RerankArgs) -> Result<()> {
    let mut topics = read_topics(&args.topics)?;
    if let Some(list) = &args.queries {
        topics = only_listed(topics, list, &args.topics)?;
    }
    if let Some(n) = args.limit {
        topics.truncate(n);
    }
    let corpus = Corpus::read(&args.corpus)?;
    let first_stage = Run::from_path(&args.run)?;
    let (queries, report) = candidates_from_run(&first_stage, &topics, &corpus, usize::MAX);
    warn_about(&report, &args);
    if queries.is_empty() {
        bail!(
            "nothing to rerank: no topic of {} has a ranking in {} with documents in {}; \
             check that they belong together",
            args.topics.display(),
            args.run.display(),
            args.corpus.display()
        );
    }
    if args.model.backend == "http" {
        eprintln!("using {} at {}", args.model.model, args.model.base_url);
    } else {
        eprintln!("loading {}", args.model.model);
    }
    let (mut reranker, mut config) = build_reranker(&args.model, &args.method)?;
    config["run"] = serde_json::json!(args.run);
    config["topics"] = serde_json::json!(args.topics);
    config["corpus"] = serde_json::json!(args.corpus);
    let trace = args
        .trace
        .clone()
        .unwrap_or_else(|| default_trace(&args.output));
    let tag = args
        .tag
        .clone()
        .unwrap_or_else(|| args.method.method.clone());
    let mut out = RunOutput::open(&args.output, Some(&trace), &config, &tag, args.overwrite)?;
    let todo: Vec<_> = queries
        .into_iter()
        .filter(|(q, _)| !out.is_done(&q.id))
        .collect();
    if out.done_count() > 0 {
        eprintln!(
            "resuming {}: {} queries already done, {} to go",
            args.output.display(),
            out.done_count(),
            todo.len()
        );
    }
    let bar = ProgressBar::new(todo.len() as u64).with_style(
        ProgressStyle::with_template(
            "{bar:30} {pos}/{len} queries  {elapsed_precise} (ETA {eta})  {msg}",
        )
        .expect("valid template"),
    );
    bar.tick();
    let start = Instant::now();
    let mut tally = Tally::default();
    let mut write_error = None;
    reranker.rerank_batch(todo, |r| {
        if write_error.is_some() {
            return;
        }
        if let Err(e) = out.write(r) {
            write_error = Some(e);
            return;
        }
        tally.add(r);
        let secs = start.elapsed().as_secs_f64();
        bar.set_message(format!(
            "{:.0} tokens/s, {} fallbacks",
            (tally.prompt_tokens + tally.completion_tokens) as f64 / secs,
            tally.fallbacks
        ));
        bar.inc(1);
    })?;
    bar.finish_and_clear();
    if let Some(e) = write_error {
        return Err(e.into());
    }
    let secs = start.elapsed().as_secs_f64();
    eprintln!(
        "reranked {} queries in {:.1} s ({:.1} s/query): {} model calls, {} prompt + {} completion tokens, \
         {} calls not cleanly parsed, {} fell back to the input order",
        tally.queries,
        secs,
        secs / tally.queries.max(1) as f64,
        tally.calls,
        tally.prompt_tokens,
        tally.completion_tokens,
        tally.parse_failures,
        tally.fallbacks
    );
    eprintln!("run: {}\ntrace: {}", args.output.display(), trace.display());
    Ok(())
}
