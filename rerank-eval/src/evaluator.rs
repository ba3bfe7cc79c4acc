//! Evaluating runs: measures × queries → an [`Evaluation`].

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::evaluation::{Column, Evaluation};
use crate::measures::{Measure, MeasureKind};
use crate::options::EvalOptions;
use crate::qrels::Qrels;
use crate::ranked::{RankScratch, RankedList};
use crate::run::{QueryResults, Run};

/// Computes a set of measures over runs, with trec_eval's semantics.
///
/// ```
/// use rerank_eval::{EvalOptions, Evaluator, Qrels, Run};
/// let qrels = Qrels::from_judgements([("q1", "a", 1), ("q1", "b", 0), ("q2", "c", 2)])?;
/// let mut run = Run::new("demo");
/// run.push_ranking("q1", ["b", "a"]).push_ranking("q2", ["c"]);
/// let ev = Evaluator::new(["map", "ndcg_cut.10"], EvalOptions::default())?;
/// let result = ev.evaluate(&qrels, &run)?;
/// assert_eq!(result.value("q1", "map"), Some(0.5));
/// assert_eq!(result.mean("map"), Some(0.75));
/// # Ok::<(), rerank_eval::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct Evaluator {
    measures: Vec<Measure>,
    opts: EvalOptions,
    columns: Vec<Column>,
    /// For each measure, the index of its first column.
    starts: Vec<usize>,
}

impl Evaluator {
    /// An evaluator for measures named as trec_eval's `-m` arguments (`"all_trec"`,
    /// `"P.5,10"`, …).
    pub fn new<S: AsRef<str>>(
        measures: impl IntoIterator<Item = S>,
        opts: EvalOptions,
    ) -> Result<Evaluator> {
        Ok(Evaluator::with_measures(
            Measure::parse_list(measures)?,
            opts,
        ))
    }

    /// An evaluator for already parsed measures (kept in trec_eval's order).
    pub fn with_measures(mut measures: Vec<Measure>, opts: EvalOptions) -> Evaluator {
        measures.sort_by_key(|m| m.kind());
        measures.dedup_by_key(|m| m.kind());
        let mut columns = Vec::new();
        let mut starts = Vec::new();
        for (mi, m) in measures.iter().enumerate() {
            starts.push(columns.len());
            for name in m.columns() {
                columns.push(Column {
                    name,
                    measure: mi,
                    kind: m.kind(),
                    value: m.value_kind(),
                    summary: m.summary(),
                    per_query: m.per_query(),
                });
            }
        }
        Evaluator {
            measures,
            opts,
            columns,
            starts,
        }
    }

    /// The measures, in printing order.
    pub fn measures(&self) -> &[Measure] {
        &self.measures
    }

    /// The options.
    pub fn options(&self) -> &EvalOptions {
        &self.opts
    }

    /// The value columns, in printing order.
    pub fn columns(&self) -> &[Column] {
        &self.columns
    }

    /// Evaluates an in-memory run.
    pub fn evaluate(&self, qrels: &Qrels, run: &Run) -> Result<Evaluation> {
        let mut session = self.session(qrels, Path::new("<run>"));
        for q in run {
            session.add(q)?;
        }
        session.finish(run.name().to_owned(), run.len())
    }

    /// Computes every column for one query's ranked list into `row` (zeroed first).
    pub fn compute_row(&self, list: &RankedList, row: &mut [f64], text: &mut String) {
        row.iter_mut().for_each(|v| *v = 0.0);
        text.clear();
        for (mi, m) in self.measures.iter().enumerate() {
            let start = self.starts[mi];
            let out = &mut row[start..start + m.num_columns()];
            m.compute(list, &self.opts, out, text);
        }
    }

    pub(crate) fn session<'a>(&'a self, qrels: &'a Qrels, source: &Path) -> Session<'a> {
        let has_text = self
            .measures
            .iter()
            .any(|m| m.kind() == MeasureKind::Relstring);
        Session {
            ev: self,
            qrels,
            source: source.to_path_buf(),
            values: Vec::new(),
            row_of: vec![NO_ROW; qrels.len()],
            texts: if has_text {
                vec![String::new(); qrels.len()]
            } else {
                Vec::new()
            },
            scratch: RankScratch::default(),
            list: RankedList::default(),
            index: qrels
                .iter()
                .enumerate()
                .map(|(i, q)| (q.qid(), i))
                .collect(),
        }
    }
}

/// Accumulates per-query values as queries arrive in any order; `finish` puts them in
/// qrels order and summarises.
pub(crate) struct Session<'a> {
    ev: &'a Evaluator,
    qrels: &'a Qrels,
    source: PathBuf,
    /// The rows of the queries evaluated so far, in the order they were evaluated
    /// (a session of one part of a file holds only that part's queries).
    values: Vec<f64>,
    /// For each query of the qrels, its row in `values` ([`NO_ROW`]: not evaluated).
    row_of: Vec<u32>,
    texts: Vec<String>,
    scratch: RankScratch,
    list: RankedList,
    index: rustc_hash::FxHashMap<&'a str, usize>,
}

/// `row_of` of a query not evaluated.
const NO_ROW: u32 = u32::MAX;

/// The bogus ranking trec_eval gives a query without results under `-c`.
const MISSING_DOCNO: &str = "ceci_nest_pas_un_docno";

impl Session<'_> {
    /// True if this query was already evaluated.
    pub(crate) fn seen(&self, qid: &str) -> bool {
        self.index
            .get(qid)
            .is_some_and(|&i| self.row_of[i] != NO_ROW)
    }

    /// Takes the queries `other` evaluated (a session of the same evaluator and
    /// qrels); false, taking nothing more, when both evaluated one query.
    pub(crate) fn absorb(&mut self, other: Session<'_>) -> bool {
        let ncol = self.ev.columns.len();
        let both = |i: usize| self.row_of[i] != NO_ROW && other.row_of[i] != NO_ROW;
        if (0..self.row_of.len()).any(both) {
            return false;
        }
        for (i, &r) in other.row_of.iter().enumerate() {
            if r != NO_ROW {
                let r = r as usize;
                self.row_of[i] = (self.values.len() / ncol) as u32;
                self.values
                    .extend_from_slice(&other.values[r * ncol..(r + 1) * ncol]);
                if let (Some(t), Some(o)) = (self.texts.get_mut(i), other.texts.get(i)) {
                    t.clone_from(o);
                }
            }
        }
        true
    }

    /// Evaluates one query's results (ignored when the qrels do not know the query).
    pub(crate) fn add(&mut self, results: &QueryResults) -> Result<()> {
        let Some(&qi) = self.index.get(results.qid()) else {
            return Ok(());
        };
        self.compute(qi, results, false)
    }

    fn compute(&mut self, qi: usize, results: &QueryResults, missing: bool) -> Result<()> {
        let judgements = &self.qrels.as_slice()[qi];
        self.scratch.build(
            judgements,
            results,
            &self.ev.opts,
            &self.source,
            &mut self.list,
        )?;
        let ncol = self.ev.columns.len();
        if self.row_of[qi] == NO_ROW {
            self.row_of[qi] = (self.values.len() / ncol) as u32;
            self.values.resize(self.values.len() + ncol, 0.0);
        }
        let r = self.row_of[qi] as usize;
        let row = &mut self.values[r * ncol..(r + 1) * ncol];
        let mut text = match self.texts.get_mut(qi) {
            Some(t) => std::mem::take(t),
            None => String::new(),
        };
        self.ev.compute_row(&self.list, row, &mut text);
        if missing {
            // trec_eval clears these after evaluating its placeholder ranking.
            for (c, col) in self.ev.columns.iter().enumerate() {
                let n = col.name.as_str();
                if n == "num_ret" || n == "utility" || n == "rbp_resid" || n.starts_with("unj") {
                    row[c] = 0.0;
                }
                if n == "relstring" {
                    text.clear();
                }
            }
        }
        if let Some(t) = self.texts.get_mut(qi) {
            *t = text;
        }
        Ok(())
    }

    /// Orders, fills in missing queries for `-c`, and summarises.
    pub(crate) fn finish(mut self, run_name: String, run_queries: usize) -> Result<Evaluation> {
        if self.ev.opts.average_complete {
            let mut bogus = QueryResults::new("");
            for qi in 0..self.row_of.len() {
                if self.row_of[qi] == NO_ROW {
                    bogus.clear(self.qrels.as_slice()[qi].qid());
                    bogus.push_line(MISSING_DOCNO, 1.0, 0);
                    self.compute(qi, &bogus, true)?;
                }
            }
        }
        let ncol = self.ev.columns.len();
        let rows: Vec<usize> = (0..self.row_of.len())
            .filter(|&i| self.row_of[i] != NO_ROW)
            .collect();
        if rows.is_empty() {
            return Err(Error::NoQueriesInCommon {
                qrels_queries: self.qrels.len(),
                run_queries,
            });
        }
        let mut values = ndarray::Array2::<f64>::zeros((rows.len(), ncol));
        for (r, &qi) in rows.iter().enumerate() {
            let at = self.row_of[qi] as usize;
            values.row_mut(r).assign(&ndarray::ArrayView1::from(
                &self.values[at * ncol..(at + 1) * ncol],
            ));
        }
        drop(std::mem::take(&mut self.values));
        let qids = rows
            .iter()
            .map(|&qi| self.qrels.as_slice()[qi].qid().to_owned())
            .collect();
        let texts = if self.texts.is_empty() {
            None
        } else {
            Some(
                rows.iter()
                    .map(|&qi| std::mem::take(&mut self.texts[qi]))
                    .collect(),
            )
        };
        Ok(Evaluation::new(
            run_name,
            self.ev.columns.clone(),
            qids,
            values,
            texts,
        ))
    }
}
