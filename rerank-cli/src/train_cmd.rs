//! `rerank train`: GRPO with LoRA on the candle decoder, from one TOML configuration.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use rerank_rl::train::{EvalRecord, TrainConfig, Trainer};

/// `rerank train CONFIG.toml -o OUT`.
#[derive(Args)]
pub struct TrainArgs {
    /// The run's configuration (TOML: model, data from `rerank rl build-data`, LoRA,
    /// rollout, GRPO, optimizer and run settings; see rerank-rl's `train::config`)
    pub config: PathBuf,

    /// Output folder: train-config.json, metrics.jsonl (a line per step), eval.jsonl,
    /// training.png (reward, KL and validation over the steps),
    /// checkpoint/ (resumed from when the command is run again) and adapter/ (the
    /// trained LoRA adapter in PEFT's format, for `rerank rerank --adapter`, PEFT, vLLM)
    #[arg(short, long)]
    pub output: PathBuf,
}

fn eval_line(r: &EvalRecord) -> String {
    let e = &r.summary;
    let ndcg = match (e.ndcg, e.ndcg_initial) {
        (Some(n), Some(i)) => format!(", nDCG@10 {n:.4} (order shown {i:.4})"),
        _ => String::new(),
    };
    format!(
        "validation after {} steps: reward {:.4}, parsed {:.0}% of {}{ndcg} [{:.0} s]",
        r.step,
        e.reward,
        100.0 * e.parsed,
        e.examples,
        r.seconds
    )
}

/// Runs (or resumes) the training run.
pub fn run(a: TrainArgs) -> Result<()> {
    rerank_model::candle::keep_freed_memory();
    let config = TrainConfig::from_file(&a.config)?;
    let steps = config.run.steps;
    let (eval_every, checkpoint_every) = (config.run.eval_every, config.run.checkpoint_every);
    eprintln!(
        "loading {} (quantized for sampling, f32 for training)",
        config.model
    );
    let mut trainer = Trainer::open(config, &a.output)
        .with_context(|| format!("opening the run in {}", a.output.display()))?;
    if trainer.step() > 0 {
        eprintln!(
            "resuming {} from its checkpoint after step {} of {steps}",
            a.output.display(),
            trainer.step()
        );
    } else if let Some(e) = trainer.evaluate()? {
        eprintln!("{}", eval_line(&e));
    }
    let bar = ProgressBar::new(steps).with_style(
        ProgressStyle::with_template(
            "{bar:30} step {pos}/{len}  {elapsed_precise} (ETA {eta})  {msg}",
        )
        .expect("valid template"),
    );
    bar.set_position(trainer.step());
    bar.tick();
    while !trainer.finished() {
        let r = trainer.train_step()?;
        bar.set_position(r.step);
        bar.set_message(format!(
            "reward {:.3}  KL {:.4}  parsed {:.0}%  {:.0} tok/s",
            r.update.reward_mean,
            r.update.kl,
            100.0 * r.parsed,
            r.rollout_tokens_per_s
        ));
        let last = trainer.finished();
        if (eval_every > 0 && r.step % eval_every == 0) || last {
            if let Some(e) = trainer.evaluate()? {
                bar.println(eval_line(&e));
            }
            rerank_rl::train::chart::draw(&a.output)?;
        }
        if r.step % checkpoint_every == 0 || last {
            trainer.checkpoint()?;
        }
    }
    bar.finish();
    rerank_rl::train::chart::draw(&a.output)?;
    let adapter = a.output.join("adapter");
    trainer.save_adapter(&adapter)?;
    eprintln!(
        "adapter: {} (rerank rerank --adapter {})",
        adapter.display(),
        adapter.display()
    );
    Ok(())
}
