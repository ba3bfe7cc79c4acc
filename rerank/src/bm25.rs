//! First-stage retrieval: BM25 over a corpus with [tantivy](https://docs.rs/tantivy).
//!
//! Title and text are indexed as one field, analysed as English (lower case, stop
//! words removed, Snowball stemming); queries go through the same analyser and every
//! term is a `SHOULD` clause, so a document's score is tantivy's BM25 (k1 = 1.2,
//! b = 0.75) summed over the query terms.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use rerank_core::data::Corpus;
use rerank_core::Query;
use tantivy::collector::TopDocs;
use tantivy::query::{BooleanQuery, Occur, TermQuery};
use tantivy::schema::{
    Field, IndexRecordOption, Schema, TextFieldIndexing, TextOptions, Value, STORED, STRING,
};
use tantivy::tokenizer::{
    Language, LowerCaser, RemoveLongFilter, SimpleTokenizer, Stemmer, StopWordFilter, TextAnalyzer,
};
use tantivy::{Index, IndexReader, TantivyDocument, Term};

use crate::error::{Error, Result};

const ANALYZER: &str = "en_bm25";

/// The file beside an on-disk index that says what it was built from.
pub const ORIGIN_FILE: &str = "rerank-index.json";

/// What an on-disk index was built from, recorded in [`ORIGIN_FILE`] so that reusing
/// the index for another corpus can be refused instead of answering from the wrong
/// documents.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndexOrigin {
    /// The corpus file, as it was given.
    pub corpus: PathBuf,
    /// SHA-256 of the corpus file's bytes.
    pub sha256: String,
    /// Documents indexed.
    pub documents: u64,
}

impl IndexOrigin {
    /// The record for `corpus_file`, hashing its bytes.
    pub fn of_file(corpus_file: &Path, documents: u64) -> Result<IndexOrigin> {
        Ok(IndexOrigin {
            corpus: corpus_file.to_path_buf(),
            sha256: file_sha256(corpus_file)?,
            documents,
        })
    }

    /// Reads the record of the index in `dir` (`None` if it has none: an index built
    /// without one, or by another program).
    pub fn read(dir: &Path) -> Result<Option<IndexOrigin>> {
        let path = dir.join(ORIGIN_FILE);
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(cause) => return Err(Error::Io { path, cause }),
        };
        serde_json::from_str(&text)
            .map(Some)
            .map_err(|e| Error::Index(format!("{}: not an index record: {e}", path.display())))
    }

    /// Writes the record into `dir`.
    pub fn write(&self, dir: &Path) -> Result<()> {
        let path = dir.join(ORIGIN_FILE);
        let text = serde_json::to_string_pretty(self).expect("the record serialises");
        std::fs::write(&path, text + "\n").map_err(|cause| Error::Io { path, cause })
    }
}

/// SHA-256 of a file's bytes, in hex.
pub fn file_sha256(path: &Path) -> Result<String> {
    Ok(rerank_model::registry::sha256_file(path)?)
}

/// A BM25 index over a corpus.
///
/// ```
/// use rerank::bm25::Bm25Index;
/// use rerank::core::{data::Corpus, Document, Query};
/// let corpus = Corpus::from_docs([
///     Document::new("d1", "the solar wind streams from the sun"),
///     Document::new("d2", "bees dance to show where flowers are"),
/// ]);
/// let index = Bm25Index::build(&corpus, None)?;
/// let hits = index.search(&Query::new("q", "Solar winds"), 10)?;
/// assert_eq!(hits[0].0, "d1");
/// assert_eq!(hits.len(), 1);
/// # Ok::<(), rerank::Error>(())
/// ```
pub struct Bm25Index {
    index: Index,
    reader: IndexReader,
    id: Field,
    body: Field,
}

fn analyzer() -> TextAnalyzer {
    TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(40))
        .filter(LowerCaser)
        .filter(StopWordFilter::new(Language::English).expect("English stop words are built in"))
        .filter(Stemmer::new(Language::English))
        .build()
}

fn schema() -> (Schema, Field, Field) {
    let mut b = Schema::builder();
    let id = b.add_text_field("id", STRING | STORED);
    let body = b.add_text_field(
        "body",
        TextOptions::default().set_indexing_options(
            TextFieldIndexing::default()
                .set_tokenizer(ANALYZER)
                .set_index_option(IndexRecordOption::WithFreqs),
        ),
    );
    (b.build(), id, body)
}

fn tantivy_err(what: &str) -> impl Fn(tantivy::TantivyError) -> Error + '_ {
    move |e| Error::Index(format!("{what}: {e}"))
}

impl Bm25Index {
    /// Indexes every document (title and text). With `dir`, the index is written
    /// there (an empty or missing folder) and can be reopened with
    /// [`Bm25Index::open`]; without, it lives in memory.
    pub fn build(corpus: &Corpus, dir: Option<&Path>) -> Result<Bm25Index> {
        let (schema, id, body) = schema();
        let index = match dir {
            None => Index::create_in_ram(schema),
            Some(d) => {
                std::fs::create_dir_all(d).map_err(|cause| Error::Io {
                    path: d.to_path_buf(),
                    cause,
                })?;
                Index::create_in_dir(d, schema).map_err(tantivy_err("creating the index"))?
            }
        };
        index.tokenizers().register(ANALYZER, analyzer());
        // One indexing thread: the same corpus always gives the same index, so ties
        // between equal scores break the same way on every machine.
        let mut writer = index
            .writer_with_num_threads::<TantivyDocument>(1, 200_000_000)
            .map_err(tantivy_err("opening the index writer"))?;
        for d in corpus {
            let mut doc = TantivyDocument::default();
            doc.add_text(id, &d.id);
            match &d.title {
                Some(t) => doc.add_text(body, format!("{t}\n{}", d.text)),
                None => doc.add_text(body, &d.text),
            }
            writer
                .add_document(doc)
                .map_err(tantivy_err("adding a document"))?;
        }
        writer.commit().map_err(tantivy_err("committing"))?;
        Self::from_index(index)
    }

    /// Opens an index written by [`Bm25Index::build`] into `dir`.
    pub fn open(dir: &Path) -> Result<Bm25Index> {
        let index = Index::open_in_dir(dir).map_err(|e| {
            Error::Index(format!(
                "cannot open the index in {}: {e} (build it with `rerank retrieve --index DIR`)",
                dir.display()
            ))
        })?;
        index.tokenizers().register(ANALYZER, analyzer());
        Self::from_index(index)
    }

    fn from_index(index: Index) -> Result<Bm25Index> {
        let schema = index.schema();
        let (Ok(id), Ok(body)) = (schema.get_field("id"), schema.get_field("body")) else {
            return Err(Error::Index(
                "not an index written by rerank (no id and body fields)".into(),
            ));
        };
        let reader = index.reader().map_err(tantivy_err("opening a reader"))?;
        Ok(Bm25Index {
            index,
            reader,
            id,
            body,
        })
    }

    /// Number of indexed documents.
    pub fn len(&self) -> u64 {
        self.reader.searcher().num_docs()
    }

    /// Whether the index is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The query's terms after analysis (what BM25 scores).
    pub fn terms(&self, text: &str) -> Vec<String> {
        let mut a = analyzer();
        let mut stream = a.token_stream(text);
        let mut out = Vec::new();
        while stream.advance() {
            out.push(stream.token().text.clone());
        }
        out
    }

    /// The top `k` documents for a query: `(doc id, BM25 score)`, best first. A query
    /// with no searchable term (only stop words, say) finds nothing.
    pub fn search(&self, query: &Query, k: usize) -> Result<Vec<(String, f32)>> {
        let clauses: Vec<(Occur, Box<dyn tantivy::query::Query>)> = self
            .terms(&query.text)
            .into_iter()
            .map(|t| {
                let q: Box<dyn tantivy::query::Query> = Box::new(TermQuery::new(
                    Term::from_field_text(self.body, &t),
                    IndexRecordOption::WithFreqs,
                ));
                (Occur::Should, q)
            })
            .collect();
        if clauses.is_empty() || k == 0 {
            return Ok(Vec::new());
        }
        let searcher = self.reader.searcher();
        let hits = searcher
            .search(
                &BooleanQuery::new(clauses),
                &TopDocs::with_limit(k).order_by_score(),
            )
            .map_err(tantivy_err("searching"))?;
        hits.into_iter()
            .map(|(score, addr)| {
                let doc: TantivyDocument = searcher.doc(addr).map_err(tantivy_err("reading"))?;
                let id = doc
                    .get_first(self.id)
                    .and_then(|v| v.as_str())
                    .unwrap_or_default()
                    .to_string();
                Ok((id, score))
            })
            .collect()
    }

    /// The index itself, for custom tantivy queries.
    pub fn tantivy_index(&self) -> &Index {
        &self.index
    }
}
