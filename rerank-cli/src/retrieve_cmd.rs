//! `rerank retrieve`: BM25 first stage over a corpus, written as a TREC run.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use rerank::bm25::{file_sha256, Bm25Index, IndexOrigin};
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
    #[arg(short = 'k', long, default_value_t = 100, value_parser = crate::values::at_least_one)]
    pub k: usize,

    /// Keep the index in this folder: built there if it is empty or missing, reused
    /// otherwise (then --corpus may be left out; given, it must be the corpus the index
    /// was built from)
    #[arg(long)]
    pub index: Option<PathBuf>,

    /// Rebuild the index in --index from --corpus even if one is there
    #[arg(long, requires = "index")]
    pub reindex: bool,

    /// Output TREC run ("-" for standard output)
    #[arg(short, long, default_value = "-")]
    pub output: PathBuf,

    /// Run tag (last column)
    #[arg(long, default_value = "bm25")]
    pub tag: String,
}

/// The index the arguments describe: in memory, reused from --index (after checking
/// that it was built from --corpus), or built there.
fn open_or_build(args: &RetrieveArgs) -> Result<Bm25Index> {
    let build = |corpus_path: &PathBuf, dir: Option<&std::path::Path>| -> Result<Bm25Index> {
        let corpus = Corpus::read(corpus_path)?;
        eprintln!("indexing {} documents", corpus.len());
        let index = Bm25Index::build(&corpus, dir)?;
        if let Some(d) = dir {
            IndexOrigin::of_file(corpus_path, index.len())?.write(d)?;
        }
        Ok(index)
    };
    let Some(dir) = &args.index else {
        let Some(corpus) = &args.corpus else {
            bail!("give --corpus (or --index with an index built before)");
        };
        return build(corpus, None);
    };
    if dir.exists() && !dir.is_dir() {
        bail!(
            "--index {} is a file; give a folder (it is created if missing)",
            dir.display()
        );
    }
    let has_index = dir.join("meta.json").is_file();
    if has_index && !args.reindex {
        let origin = IndexOrigin::read(dir)?;
        if let Some(corpus) = &args.corpus {
            let sha = file_sha256(corpus)?;
            match &origin {
                Some(o) if o.sha256 == sha => {}
                Some(o) => bail!(
                    "--index {} was built from {} ({} documents), whose contents differ from \
                     --corpus {}; give another --index folder, or add --reindex to rebuild it",
                    dir.display(),
                    o.corpus.display(),
                    o.documents,
                    corpus.display()
                ),
                None => bail!(
                    "--index {} has no record of the corpus it was built from, so it cannot be \
                     checked against --corpus {}; add --reindex to rebuild it, or leave out \
                     --corpus to use it as it is",
                    dir.display(),
                    corpus.display()
                ),
            }
        }
        match &origin {
            Some(o) => eprintln!(
                "using the index in {} (built from {})",
                dir.display(),
                o.corpus.display()
            ),
            None => eprintln!("using the index in {}", dir.display()),
        }
        return Ok(Bm25Index::open(dir)?);
    }
    let Some(corpus) = &args.corpus else {
        bail!(
            "--index {} holds no index yet; give --corpus to build it there",
            dir.display()
        );
    };
    if has_index {
        // --reindex: only a folder holding an index (meta.json) is cleared.
        std::fs::remove_dir_all(dir)
            .with_context(|| format!("clearing the old index in {}", dir.display()))?;
    } else if dir.is_dir()
        && std::fs::read_dir(dir)
            .with_context(|| format!("reading {}", dir.display()))?
            .next()
            .is_some()
    {
        bail!(
            "--index {} is a folder that holds files but no index; give an empty or new folder",
            dir.display()
        );
    }
    build(corpus, Some(dir))
}

pub fn run(args: RetrieveArgs) -> Result<()> {
    let topics = read_topics(&args.topics)?;
    let index = open_or_build(&args)?;
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
