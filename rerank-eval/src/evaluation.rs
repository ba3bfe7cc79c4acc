//! The result of an evaluation: a queries × measures matrix, summaries, and
//! trec_eval's text output.

use std::io::Write;

use ndarray::{Array2, ArrayView1};

use crate::format::TrecFloat;
use crate::measures::{MeasureKind, Summary, ValueKind};
use crate::zscore::ZScores;

/// One value column: a measure at one parameter (`P_10`), or a single-valued measure.
#[derive(Clone, Debug, PartialEq)]
pub struct Column {
    /// The name trec_eval prints (`P_10`, `ndcg_cut_10`, `map`).
    pub name: String,
    /// Index of the measure among the evaluator's measures.
    pub measure: usize,
    /// Which measure.
    pub kind: MeasureKind,
    /// How values print.
    pub value: ValueKind,
    /// How values are summarised.
    pub summary: Summary,
    /// Printed per query by trec_eval's `-q`.
    pub per_query: bool,
}

/// Per-query values of every measure for one run, with their summaries.
///
/// Rows are the evaluated queries in query-id order (trec_eval's order), columns are
/// [`Evaluation::columns`]. Text-valued measures (`relstring`) are in
/// [`Evaluation::texts`]; their matrix column holds 0. For `gm_map` and `gm_bpref`
/// the per-query value is the one that enters the geometric mean: AP (or bpref)
/// floored at 0.00001.
#[derive(Clone, Debug)]
pub struct Evaluation {
    run_name: String,
    columns: Vec<Column>,
    qids: Vec<String>,
    values: Array2<f64>,
    texts: Option<Vec<String>>,
    summary: Vec<f64>,
    zscores: bool,
}

impl Evaluation {
    pub(crate) fn new(
        run_name: String,
        columns: Vec<Column>,
        qids: Vec<String>,
        values: Array2<f64>,
        texts: Option<Vec<String>>,
    ) -> Self {
        let summary = columns
            .iter()
            .enumerate()
            .map(|(c, col)| summarise(col, values.column(c), false))
            .collect();
        Evaluation {
            run_name,
            columns,
            qids,
            values,
            texts,
            summary,
            zscores: false,
        }
    }

    /// The same evaluation with every per-query value turned into a z-score against
    /// `reference` (trec_eval's `-Z`), and summaries recomputed from the z-scores.
    /// For `gm_map` and `gm_bpref` the z-score is of the logarithm, as in trec_eval.
    pub fn to_zscores(&self, reference: &ZScores) -> Evaluation {
        let mut values = self.values.clone();
        for (r, qid) in self.qids.iter().enumerate() {
            for (c, col) in self.columns.iter().enumerate() {
                let v = values[[r, c]];
                let v = if col.summary == Summary::GeometricMean {
                    v.ln()
                } else {
                    v
                };
                values[[r, c]] = reference.convert(qid, &col.name, v);
            }
        }
        let summary = self
            .columns
            .iter()
            .enumerate()
            .map(|(c, col)| summarise(col, values.column(c), true))
            .collect();
        Evaluation {
            run_name: self.run_name.clone(),
            columns: self.columns.clone(),
            qids: self.qids.clone(),
            values,
            texts: self.texts.clone(),
            summary,
            zscores: true,
        }
    }

    /// Whether values are z-scores.
    pub fn is_zscores(&self) -> bool {
        self.zscores
    }

    /// The run's name.
    pub fn run_name(&self) -> &str {
        &self.run_name
    }

    /// The evaluated queries, in order (the matrix's rows).
    pub fn qids(&self) -> &[String] {
        &self.qids
    }

    /// The value columns (the matrix's columns).
    pub fn columns(&self) -> &[Column] {
        &self.columns
    }

    /// Column names, as trec_eval prints them.
    pub fn column_names(&self) -> impl Iterator<Item = &str> + '_ {
        self.columns.iter().map(|c| c.name.as_str())
    }

    /// Index of a column by name.
    pub fn column_index(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c.name == name)
    }

    /// The queries × columns matrix of per-query values.
    pub fn matrix(&self) -> &Array2<f64> {
        &self.values
    }

    /// One column's per-query values, in query order.
    pub fn per_query(&self, name: &str) -> Option<ArrayView1<'_, f64>> {
        self.column_index(name).map(|c| self.values.column(c))
    }

    /// One query's value of one column.
    pub fn value(&self, qid: &str, name: &str) -> Option<f64> {
        let r = self.qids.iter().position(|q| q == qid)?;
        let c = self.column_index(name)?;
        Some(self.values[[r, c]])
    }

    /// The summary (the `all` line) of one column: mean, sum, geometric mean or
    /// count, depending on the measure.
    pub fn mean(&self, name: &str) -> Option<f64> {
        self.column_index(name).map(|c| self.summary[c])
    }

    /// Summaries of all columns (NaN for text columns).
    pub fn summary(&self) -> &[f64] {
        &self.summary
    }

    /// Per-query strings of `relstring`, if it was computed.
    pub fn texts(&self) -> Option<&[String]> {
        self.texts.as_deref()
    }

    /// Writes trec_eval's output: per-query lines (if `per_query`, trec_eval's `-q`),
    /// then the `all` lines (if `summary`, unless trec_eval's `-n`).
    pub fn write_trec_eval(
        &self,
        mut w: impl Write,
        per_query: bool,
        summary: bool,
    ) -> std::io::Result<()> {
        if per_query {
            self.write_per_query(&mut w)?;
        }
        if summary {
            for (c, col) in self.columns.iter().enumerate() {
                let v = self.summary[c];
                match col.summary {
                    Summary::RunName => writeln!(w, "{:<22}\tall\t{}", col.name, self.run_name)?,
                    Summary::NotSummarised => {}
                    _ if self.zscores => writeln!(w, "Z{:<22}\tall\t{}", col.name, TrecFloat(v))?,
                    Summary::NumQueries | Summary::Sum => {
                        writeln!(w, "{:<22}\tall\t{}", col.name, v as i64)?
                    }
                    Summary::Mean | Summary::GeometricMean => {
                        writeln!(w, "{:<22}\tall\t{}", col.name, TrecFloat(v))?
                    }
                }
            }
        }
        Ok(())
    }

    /// The per-query lines of [`Evaluation::write_trec_eval`], put together byte by
    /// byte in a buffer (each column's name and padding once, the values with
    /// [`TrecFloat::write_to`]): through the general formatter, the lines of 7,000
    /// queries × 100 measures cost more than evaluating them.
    fn write_per_query(&self, w: &mut impl Write) -> std::io::Result<()> {
        let names: Vec<Option<String>> = self
            .columns
            .iter()
            .map(|col| {
                let z = self.zscores && matches!(col.value, ValueKind::Float | ValueKind::Count);
                col.per_query
                    .then(|| format!("{}{:<22}\t", if z { "Z" } else { "" }, col.name))
            })
            .collect();
        let mut buf = Vec::with_capacity(1 << 16);
        for (r, qid) in self.qids.iter().enumerate() {
            for (c, col) in self.columns.iter().enumerate() {
                let Some(name) = &names[c] else {
                    continue;
                };
                buf.extend_from_slice(name.as_bytes());
                buf.extend_from_slice(qid.as_bytes());
                buf.push(b'\t');
                let v = self.values[[r, c]];
                match col.value {
                    ValueKind::Float | ValueKind::Count if self.zscores => {
                        TrecFloat(v).write_to(&mut buf)
                    }
                    ValueKind::Count => write!(buf, "{}", v as i64)?,
                    ValueKind::Float => TrecFloat(v).write_to(&mut buf),
                    ValueKind::Text => {
                        let t = self.texts.as_ref().map_or("", |t| t[r].as_str());
                        buf.push(b'\'');
                        buf.extend_from_slice(t.as_bytes());
                        buf.push(b'\'');
                    }
                }
                buf.push(b'\n');
            }
            if buf.len() >= 1 << 16 {
                w.write_all(&buf)?;
                buf.clear();
            }
        }
        w.write_all(&buf)
    }

    /// trec_eval's output as a string.
    pub fn to_trec_eval_string(&self, per_query: bool) -> String {
        let mut out = Vec::new();
        self.write_trec_eval(&mut out, per_query, true)
            .expect("writing to a Vec cannot fail");
        String::from_utf8(out).expect("all parts are UTF-8")
    }
}

/// Summarises one column over queries (in row order, as trec_eval accumulates).
/// With `zscores`, geometric-mean columns already hold the (z-scored) logarithms.
fn summarise(col: &Column, values: ndarray::ArrayView1<f64>, zscores: bool) -> f64 {
    let n = values.len() as f64;
    match col.summary {
        Summary::Mean => values.iter().sum::<f64>() / n,
        Summary::Sum => values.iter().sum(),
        Summary::GeometricMean if zscores => (values.iter().sum::<f64>() / n).exp(),
        Summary::GeometricMean => (values.iter().map(|v| v.ln()).sum::<f64>() / n).exp(),
        Summary::NumQueries => n,
        Summary::RunName | Summary::NotSummarised => f64::NAN,
    }
}

impl Column {
    /// Whether values are integer counts.
    pub fn is_count(&self) -> bool {
        self.value == ValueKind::Count
    }
}
