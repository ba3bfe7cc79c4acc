//! Queries, documents, candidates and rankings.

use serde::{Deserialize, Serialize};

/// A search query.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Query {
    /// Query id (a TREC topic number, say).
    pub id: String,
    /// The query text shown to the model.
    pub text: String,
}

impl Query {
    /// A query.
    pub fn new(id: impl Into<String>, text: impl Into<String>) -> Self {
        Query {
            id: id.into(),
            text: text.into(),
        }
    }
}

/// A document of the collection.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Document {
    /// Document id (docno).
    pub id: String,
    /// Title, when the collection has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Body text.
    pub text: String,
}

impl Document {
    /// A document without title.
    pub fn new(id: impl Into<String>, text: impl Into<String>) -> Self {
        Document {
            id: id.into(),
            title: None,
            text: text.into(),
        }
    }

    /// Adds a title.
    pub fn with_title(mut self, title: impl Into<String>) -> Self {
        self.title = Some(title.into());
        self
    }
}

/// A document retrieved by the first stage: its score and rank there.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Candidate {
    /// The document.
    pub doc: Document,
    /// First-stage score.
    pub score: f64,
    /// First-stage rank, from 1.
    pub rank: usize,
}

impl Candidate {
    /// A candidate.
    pub fn new(doc: Document, score: f64, rank: usize) -> Self {
        Candidate { doc, score, rank }
    }

    /// The document id.
    pub fn id(&self) -> &str {
        &self.doc.id
    }
}

/// Candidates in first-stage order, ranks 1.. and descending scores taken from the
/// order given.
pub fn candidates_from_docs(docs: impl IntoIterator<Item = Document>) -> Vec<Candidate> {
    let docs: Vec<Document> = docs.into_iter().collect();
    let n = docs.len();
    docs.into_iter()
        .enumerate()
        .map(|(i, d)| Candidate::new(d, (n - i) as f64, i + 1))
        .collect()
}

/// A reranked list for one query, with the record of every model call that made it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Ranking {
    /// The query id.
    pub query_id: String,
    /// Candidates in the new order, best first.
    pub candidates: Vec<Candidate>,
    /// Every judge call for this query, in order.
    pub calls: Vec<crate::trace::CallTrace>,
}

impl Ranking {
    /// Document ids in order.
    pub fn ids(&self) -> Vec<&str> {
        self.candidates.iter().map(Candidate::id).collect()
    }

    /// How many judge calls failed or gave an unusable answer (the window or set kept
    /// its order).
    pub fn fallbacks(&self) -> usize {
        self.calls.iter().filter(|c| !c.applied).count()
    }
}
