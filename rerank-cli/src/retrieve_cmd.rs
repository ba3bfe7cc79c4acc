//! `rerank retrieve`: BM25 first stage over a corpus, written as a TREC run.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use rerank::bm25::Bm25Index;
use rerank_core::data::{read_topics, Corpus};

#[derive(Args, Debug)]
#[command(
    after_help = "Example:\n  rerank retrieve --corpus data/vaswani/doc-text.trec \
    --topics data/vaswani/query-text.trec -k 100 -o bm25.run\n\n\
    Documents (title and text) and queries are analysed as English: lower case, stop words \
    removed, Snowball stemming; scores are tantivy's BM25 (k1 1.2, b 0.75)."
)]
pub struct RetrieveArgs {
    /// Corpus: BEIR JSON lines (_id, title, text), TSV (id<TAB>text) or TREC <DOC> records
    #[arg(long)]
    pub corpus: Option<PathBuf>,

    /// Topics: TREC <top> records, TSV (qid<TAB>text) or JSON lines (_id, text)
    #[arg(long)]
    pub topics: PathBuf,

    /// Documents per query
    #[arg(short = 'k', long, default_value_t = 100)]
    pub k: usize,

    /// Keep the index in this folder: built there if it is empty or missing, reused
    /// otherwise (then --corpus may be left out)
    #[arg(long)]
    pub index: Option<PathBuf>,

    /// Output TREC run ("-" for standard output)
    #[arg(short, long, default_value = "-")]
    pub output: PathBuf,

    /// Run tag (last column)
    #[arg(long, default_value = "bm25")]
    pub tag: String,
}

pub fn run(args: RetrieveArgs) -> Result<()> {
    let topics = read_topics(&args.topics)?;
    let index = match (&args.index, &args.corpus) {
        (Some(dir), _) if dir.join("meta.json").is_file() => {
            eprintln!("using the index in {}", dir.display());
            Bm25Index::open(dir)?
        }
        (dir, Some(corpus)) => {
            let corpus = Corpus::read(corpus)?;
            eprintln!("indexing {} documents", corpus.len());
            Bm25Index::build(&corpus, dir.as_deref())?
        }
        (_, None) => anyhow::bail!("give --corpus (or --index with an index built before)"),
    };
    let mut out: Box<dyn Write> = if args.output.as_os_str() == "-" {
        Box::new(std::io::stdout().lock())
    } else {
        let f = std::fs::File::create(&args.output)
            .with_context(|| format!("creating {}", args.output.display()))?;
        Box::new(std::io::BufWriter::new(f))
    };
    let bar = ProgressBar::new(topics.len() as u64).with_style(
        ProgressStyle::with_template("{bar:30} {pos}/{len} queries {elapsed}")
            .expect("valid template"),
    );
    let mut empty = Vec::new();
    for q in &topics {
        let hits = index.search(q, args.k)?;
        if hits.is_empty() {
            empty.push(q.id.clone());
        }
        for (i, (doc, score)) in hits.iter().enumerate() {
            writeln!(out, "{} Q0 {} {} {} {}", q.id, doc, i + 1, score, args.tag)?;
        }
        bar.inc(1);
    }
    bar.finish_and_clear();
    out.flush()?;
    if !empty.is_empty() {
        eprintln!(
            "warning: {} queries found nothing (no searchable term): {}",
            empty.len(),
            empty.join(", ")
        );
    }
    Ok(())
}
