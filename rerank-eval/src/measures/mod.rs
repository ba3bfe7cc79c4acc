//! The measures: trec_eval 10.0's catalogue (names, parameters, defaults, printing
//! order, how each is summarised over queries) and the per-query computations, one
//! file per family.
//!
//! Every computation follows trec_eval's C code step for step, including its integer
//! versus floating-point arithmetic, so that values agree to the last bit wherever
//! the order of operations allows.

mod average_precision;
mod bpref;
mod counts;
mod g;
mod gain;
mod interpolated;
mod ndcg;
pub(crate) mod params;
mod precision;
mod rbp;
mod recall;
mod relstring;
mod set;
mod unjudged;

pub use ndcg::ndcg_cut_of_labels;

use crate::error::{Error, Result};
use crate::options::EvalOptions;
use crate::ranked::RankedList;

/// Every measure, in trec_eval's printing order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[allow(missing_docs)]
pub enum MeasureKind {
    Runid,
    NumQ,
    NumRet,
    NumRel,
    NumRelRet,
    Map,
    GmMap,
    Rprec,
    Bpref,
    RecipRank,
    IprecAtRecall,
    P,
    Relstring,
    Recall,
    InfAP,
    GmBpref,
    RprecMult,
    Utility,
    Pt11Avg,
    BinG,
    G,
    Dcg,
    IdealDcg,
    Ndcg,
    NdcgRel,
    Rndcg,
    NdcgCut,
    MapCut,
    RelativeP,
    Success,
    SetP,
    SetRelativeP,
    SetRecall,
    SetMap,
    SetF,
    NumNonrelJudgedRet,
    Rbp,
    RbpResid,
    Unj,
}

/// The kind of parameters a measure takes, with its defaults.
#[derive(Clone, Copy, Debug)]
pub(crate) enum ParamKind {
    None,
    /// Integer rank cutoffs (`P.5,10`).
    Cutoffs(&'static [u64]),
    /// Fractional cutoffs (`iprec_at_recall..1,.5`).
    Fractions(&'static [f64]),
    /// Numbers in order (`utility.1,-1,0,0`).
    Values(&'static [f64]),
    /// `name=value` pairs (`ndcg.1=3,2=9`).
    Pairs,
}

/// How a per-query value is printed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ValueKind {
    /// `%6.4f`.
    Float,
    /// An integer count (`%ld`).
    Count,
    /// A string (relstring, runid).
    Text,
}

/// How per-query values are summarised on the `all` line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Summary {
    /// Arithmetic mean over queries.
    Mean,
    /// Sum over queries (the `num_*` counts).
    Sum,
    /// Geometric mean over queries of `max(value, 0.00001)` (`gm_map`, `gm_bpref`).
    GeometricMean,
    /// The number of queries (`num_q`).
    NumQueries,
    /// The run's name (`runid`).
    RunName,
    /// Not printed on the `all` line (`relstring`).
    NotSummarised,
}

pub(crate) struct Info {
    pub kind: MeasureKind,
    pub name: &'static str,
    pub params: ParamKind,
    pub value: ValueKind,
    pub summary: Summary,
    /// Printed for each query with `-q`.
    pub per_query: bool,
    pub about: &'static str,
}

const CUTS: &[u64] = &[5, 10, 15, 20, 30, 100, 200, 500, 1000];
const RECALL_POINTS: &[f64] = &[0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0];
const R_MULTS: &[f64] = &[0.2, 0.4, 0.6, 0.8, 1.0, 1.2, 1.4, 1.6, 1.8, 2.0];

macro_rules! info {
    ($kind:ident, $name:literal, $params:expr, $value:ident, $summary:ident, $pq:literal, $about:literal) => {
        Info {
            kind: MeasureKind::$kind,
            name: $name,
            params: $params,
            value: ValueKind::$value,
            summary: Summary::$summary,
            per_query: $pq,
            about: $about,
        }
    };
}

use ParamKind::{Cutoffs, Fractions, Pairs, Values};

pub(crate) const CATALOGUE: &[Info] = &[
    info!(Runid, "runid", ParamKind::None, Text, RunName, false, "Name of the run (tag of the last line of the run file)."),
    info!(NumQ, "num_q", ParamKind::None, Count, NumQueries, false, "Number of queries evaluated."),
    info!(NumRet, "num_ret", ParamKind::None, Count, Sum, true, "Number of documents retrieved."),
    info!(NumRel, "num_rel", ParamKind::None, Count, Sum, true, "Number of relevant documents (judged at least the relevance level)."),
    info!(NumRelRet, "num_rel_ret", ParamKind::None, Count, Sum, true, "Number of relevant documents retrieved."),
    info!(Map, "map", ParamKind::None, Float, Mean, true, "Mean average precision: precision after each relevant document retrieved, summed, divided by the number of relevant documents."),
    info!(GmMap, "gm_map", ParamKind::None, Float, GeometricMean, false, "Average precision summarised by the geometric mean over queries (values floored at 0.00001)."),
    info!(Rprec, "Rprec", ParamKind::None, Float, Mean, true, "Precision after R documents, R the number of relevant documents."),
    info!(Bpref, "bpref", ParamKind::None, Float, Mean, true, "Binary preference: fraction of judged non-relevant documents ranked above each relevant one, counting only judged documents."),
    info!(RecipRank, "recip_rank", ParamKind::None, Float, Mean, true, "Reciprocal of the rank of the first relevant document."),
    info!(IprecAtRecall, "iprec_at_recall", Fractions(RECALL_POINTS), Float, Mean, true, "Interpolated precision at recall levels (default 0, .1, …, 1)."),
    info!(P, "P", Cutoffs(CUTS), Float, Mean, true, "Precision at rank cutoffs; missing ranks count as non-relevant."),
    info!(Relstring, "relstring", Values(&[10.0]), Text, NotSummarised, true, "The relevance of the first N documents as a string: 0-9, '>' above 9, '-' not in the pool, '.' in the pool but unjudged."),
    info!(Recall, "recall", Cutoffs(CUTS), Float, Mean, true, "Recall at rank cutoffs."),
    info!(InfAP, "infAP", ParamKind::None, Float, Mean, true, "Inferred average precision (Yilmaz and Aslam), for sampled judgement pools."),
    info!(GmBpref, "gm_bpref", ParamKind::None, Float, GeometricMean, false, "bpref summarised by the geometric mean over queries."),
    info!(RprecMult, "Rprec_mult", Fractions(R_MULTS), Float, Mean, true, "Precision at multiples of R."),
    info!(Utility, "utility", Values(&[1.0, -1.0, 0.0, 0.0]), Float, Mean, true, "Set utility p1*a + p2*b + p3*c + p4*d over the contingency table (relevant/non-relevant x retrieved/not)."),
    info!(Pt11Avg, "11pt_avg", Values(RECALL_POINTS), Float, Mean, true, "Interpolated precision averaged over recall points (default the 11 points 0, .1, …, 1)."),
    info!(BinG, "binG", ParamKind::None, Float, Mean, true, "Binary G: average over relevant documents of 1/log2(2 + non-relevant documents before it)."),
    info!(G, "G", Pairs, Float, Mean, true, "Normalised gain G (trec_eval's experimental measure); gains per level settable as level=gain."),
    info!(Dcg, "dcg", Pairs, Float, Mean, true, "Discounted cumulative gain over the whole ranking; gains per level settable as level=gain."),
    info!(IdealDcg, "ideal_dcg", Pairs, Float, Mean, true, "The ideal ranking's discounted cumulative gain."),
    info!(Ndcg, "ndcg", Pairs, Float, Mean, true, "Normalised discounted cumulative gain over the whole ranking (Jarvelin and Kekalainen); gains per level settable as level=gain."),
    info!(NdcgRel, "ndcg_rel", Pairs, Float, Mean, true, "nDCG averaged over the ranks of the relevant documents."),
    info!(Rndcg, "Rndcg", Pairs, Float, Mean, true, "nDCG averaged at the ranks where the ideal gain changes."),
    info!(NdcgCut, "ndcg_cut", Cutoffs(CUTS), Float, Mean, true, "nDCG at rank cutoffs, gain = relevance level."),
    info!(MapCut, "map_cut", Cutoffs(CUTS), Float, Mean, true, "Average precision at rank cutoffs."),
    info!(RelativeP, "relative_P", Cutoffs(CUTS), Float, Mean, true, "Precision at cutoffs relative to the best possible precision there."),
    info!(Success, "success", Cutoffs(&[1, 5, 10]), Float, Mean, true, "1 if a relevant document is retrieved by the cutoff, else 0."),
    info!(SetP, "set_P", ParamKind::None, Float, Mean, true, "Precision of the whole retrieved set."),
    info!(SetRelativeP, "set_relative_P", ParamKind::None, Float, Mean, true, "Set precision relative to the best possible for a set of that size."),
    info!(SetRecall, "set_recall", ParamKind::None, Float, Mean, true, "Recall of the whole retrieved set."),
    info!(SetMap, "set_map", ParamKind::None, Float, Mean, true, "Unranked set map: num_rel_ret^2 / (num_ret * num_rel)."),
    info!(SetF, "set_F", Values(&[1.0]), Float, Mean, true, "Set F measure (x+1)PR/(R+xP), x the weight of recall (default 1)."),
    info!(NumNonrelJudgedRet, "num_nonrel_judged_ret", ParamKind::None, Count, Sum, true, "Number of judged non-relevant documents retrieved."),
    info!(Rbp, "rbp", Pairs, Float, Mean, true, "Rank-biased precision (Moffat and Zobel), persistence p=0.9 unless given as p=…"),
    info!(RbpResid, "rbp_resid", Pairs, Float, Mean, true, "Residual of rank-biased precision due to unjudged documents."),
    info!(Unj, "unj", Cutoffs(&[5, 10, 20]), Float, Mean, true, "Fraction of unjudged documents at rank cutoffs."),
];

/// Measure sets, as trec_eval's nicknames.
pub(crate) const NICKNAMES: &[(&str, &[&str])] = &[
    (
        "official",
        &[
            "runid",
            "num_q",
            "num_ret",
            "num_rel",
            "num_rel_ret",
            "map",
            "gm_map",
            "Rprec",
            "bpref",
            "recip_rank",
            "iprec_at_recall",
            "P",
        ],
    ),
    (
        "set",
        &[
            "runid",
            "num_q",
            "num_ret",
            "num_rel",
            "num_rel_ret",
            "utility",
            "set_P",
            "set_recall",
            "set_relative_P",
            "set_map",
            "set_F",
        ],
    ),
    (
        "all_trec",
        &[
            "runid",
            "num_q",
            "num_ret",
            "num_rel",
            "num_rel_ret",
            "map",
            "gm_map",
            "Rprec",
            "bpref",
            "recip_rank",
            "iprec_at_recall",
            "P",
            "relstring",
            "recall",
            "unj",
            "rbp",
            "rbp_resid",
            "infAP",
            "gm_bpref",
            "utility",
            "11pt_avg",
            "ndcg",
            "relative_P",
            "Rprec_mult",
            "success",
            "map_cut",
            "ndcg_cut",
            "ndcg_rel",
            "Rndcg",
            "binG",
            "G",
            "set_P",
            "set_recall",
            "set_relative_P",
            "set_map",
            "set_F",
            "num_nonrel_judged_ret",
        ],
    ),
];

pub(crate) fn info(kind: MeasureKind) -> &'static Info {
    &CATALOGUE[kind as usize]
}

/// A measure's parameters.
#[derive(Clone, Debug, PartialEq)]
pub enum Params {
    /// No parameters.
    None,
    /// Integer rank cutoffs, ascending.
    Cutoffs(Vec<u64>),
    /// Fractional cutoffs, ascending.
    Fractions(Vec<f64>),
    /// Numbers in the order given.
    Values(Vec<f64>),
    /// `name=value` pairs in the order given.
    Pairs(Vec<(String, f64)>),
}

/// One requested measure with its parameters, e.g. `ndcg_cut.10,20`.
///
/// ```
/// use rerank_eval::Measure;
/// let ms = Measure::parse_list(["ndcg_cut.10", "P.5,10", "map"])?;
/// let names: Vec<String> = ms.iter().flat_map(|m| m.columns()).collect();
/// assert_eq!(names, ["map", "P_5", "P_10", "ndcg_cut_10"]); // trec_eval's order
/// # Ok::<(), rerank_eval::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Measure {
    kind: MeasureKind,
    params: Params,
    /// The parameter text as given (`1=3,2=9`), which trec_eval appends to the name of
    /// single-valued parameterised measures.
    printable: Option<String>,
}

impl Measure {
    /// Parses trec_eval `-m` arguments (measure names with optional `.params`, or the
    /// nicknames `official`, `all_trec`, `set`) into measures in trec_eval's printing
    /// order. When a measure is given parameters twice, the first wins (as trec_eval).
    pub fn parse_list<S: AsRef<str>>(args: impl IntoIterator<Item = S>) -> Result<Vec<Measure>> {
        let mut marked = [false; CATALOGUE.len()];
        let mut given: Vec<(String, String)> = Vec::new();
        for arg in args {
            let arg = arg.as_ref();
            let name = match arg.split_once('.') {
                Some((n, p)) => {
                    if p.is_empty() {
                        return Err(Error::BadParameter {
                            measure: n.to_owned(),
                            message: format!("empty parameter list in '{arg}'"),
                        });
                    }
                    given.push((n.to_owned(), p.to_owned()));
                    n
                }
                None => arg,
            };
            if let Some((_, members)) = NICKNAMES.iter().find(|(n, _)| *n == name) {
                for m in *members {
                    let i = CATALOGUE
                        .iter()
                        .position(|c| c.name == *m)
                        .expect("nickname member exists");
                    marked[i] = true;
                }
                continue;
            }
            match CATALOGUE.iter().position(|c| c.name == name) {
                Some(i) => marked[i] = true,
                None => return Err(Error::UnknownMeasure(arg.to_owned())),
            }
        }
        let mut out = Vec::new();
        for (i, info) in CATALOGUE.iter().enumerate() {
            if !marked[i] {
                continue;
            }
            let text = given
                .iter()
                .find(|(n, _)| n == info.name)
                .map(|(_, p)| p.as_str());
            out.push(Measure::with_params(info.kind, text)?);
        }
        Ok(out)
    }

    /// The measure `kind` with parameters parsed from `text` (trec_eval syntax), or
    /// its defaults when `text` is `None`.
    pub fn with_params(kind: MeasureKind, text: Option<&str>) -> Result<Measure> {
        let info = info(kind);
        let name = info.name;
        let params = match (info.params, text) {
            (ParamKind::None, None) => Params::None,
            (ParamKind::None, Some(t)) => {
                return Err(Error::BadParameter {
                    measure: name.to_owned(),
                    message: format!("takes no parameters, got '{t}'"),
                })
            }
            (Cutoffs(d), None) => Params::Cutoffs(d.to_vec()),
            (Cutoffs(_), Some(t)) => Params::Cutoffs(params::long_cutoffs(name, t)?),
            (Fractions(d), None) => Params::Fractions(d.to_vec()),
            (Fractions(_), Some(t)) => Params::Fractions(params::double_cutoffs(name, t)?),
            (Values(d), None) => Params::Values(d.to_vec()),
            (Values(_), Some(t)) => Params::Values(params::doubles(name, t)?),
            (Pairs, None) => Params::Pairs(Vec::new()),
            (Pairs, Some(t)) => Params::Pairs(params::pairs(name, t)?),
        };
        if kind == MeasureKind::Utility {
            if let Params::Values(v) = &params {
                if v.len() != 4 {
                    return Err(Error::BadParameter {
                        measure: name.to_owned(),
                        message: format!("needs exactly 4 coefficients, got {}", v.len()),
                    });
                }
            }
        }
        Ok(Measure {
            kind,
            params,
            printable: text.map(str::to_owned),
        })
    }

    /// The measure's kind.
    pub fn kind(&self) -> MeasureKind {
        self.kind
    }

    /// The measure's base name (`ndcg_cut`).
    pub fn name(&self) -> &'static str {
        info(self.kind).name
    }

    /// Its parameters.
    pub fn params(&self) -> &Params {
        &self.params
    }

    /// How its values are printed.
    pub fn value_kind(&self) -> ValueKind {
        info(self.kind).value
    }

    /// How its values are summarised over queries.
    pub fn summary(&self) -> Summary {
        info(self.kind).summary
    }

    /// Whether trec_eval prints it for each query (with `-q`).
    pub fn per_query(&self) -> bool {
        info(self.kind).per_query
    }

    /// One-paragraph explanation.
    pub fn about(&self) -> &'static str {
        info(self.kind).about
    }

    /// The names of the values it produces, as trec_eval prints them
    /// (`P_5`, `iprec_at_recall_0.10`, `ndcg_1=3,2=9`, `utility`).
    pub fn columns(&self) -> Vec<String> {
        let name = self.name();
        match &self.params {
            Params::Cutoffs(c) => c.iter().map(|c| format!("{name}_{c}")).collect(),
            Params::Fractions(f) => f
                .iter()
                .map(|f| format!("{name}_{}", crate::format::c_fixed(*f, 2)))
                .collect(),
            _ => vec![match &self.printable {
                Some(p) => format!("{name}_{p}"),
                None => name.to_owned(),
            }],
        }
    }

    /// Number of values it produces.
    pub fn num_columns(&self) -> usize {
        match &self.params {
            Params::Cutoffs(c) => c.len(),
            Params::Fractions(f) => f.len(),
            _ => 1,
        }
    }

    /// Computes this measure for one query into `out` (one slot per column). `out`
    /// must start zeroed: like trec_eval, a measure that is undefined for a query
    /// (no relevant document, say) leaves 0.
    pub fn compute(
        &self,
        list: &RankedList,
        opts: &EvalOptions,
        out: &mut [f64],
        text: &mut String,
    ) {
        use MeasureKind as K;
        let empty_pairs: &[(String, f64)] = &[];
        let pairs = match &self.params {
            Params::Pairs(p) => p.as_slice(),
            _ => empty_pairs,
        };
        let rl = opts.relevance_level;
        match (&self.params, self.kind) {
            (_, K::Runid) => {}
            (_, K::NumQ) => out[0] = 1.0,
            (_, K::NumRet) => out[0] = list.num_ret() as f64,
            (_, K::NumRel) => out[0] = list.num_rel as f64,
            (_, K::NumRelRet) => out[0] = list.num_rel_ret as f64,
            (_, K::NumNonrelJudgedRet) => out[0] = counts::nonrel_judged_ret(list),
            (_, K::Map) => out[0] = average_precision::ap(list, rl),
            (_, K::GmMap) => out[0] = average_precision::ap(list, rl).max(GEO_MEAN_FLOOR),
            (Params::Cutoffs(c), K::MapCut) => average_precision::ap_cut(list, rl, c, out),
            (_, K::InfAP) => out[0] = average_precision::inf_ap(list, rl),
            (_, K::Rprec) => out[0] = precision::r_prec(list, rl),
            (_, K::RecipRank) => out[0] = precision::recip_rank(list, rl),
            (Params::Cutoffs(c), K::P) => precision::p_at(list, rl, c, out),
            (Params::Cutoffs(c), K::RelativeP) => precision::relative_p_at(list, rl, c, out),
            (Params::Cutoffs(c), K::Success) => precision::success_at(list, rl, c, out),
            (Params::Fractions(f), K::RprecMult) => precision::r_prec_mult(list, rl, f, out),
            (Params::Cutoffs(c), K::Recall) => recall::recall_at(list, rl, c, out),
            (_, K::Bpref) => out[0] = bpref::bpref(list, rl),
            (_, K::GmBpref) => out[0] = bpref::bpref(list, rl).max(GEO_MEAN_FLOOR),
            (Params::Fractions(f), K::IprecAtRecall) => {
                interpolated::iprec_at_recall(list, rl, f, opts.legacy_recall_cutoffs, out)
            }
            (Params::Values(v), K::Pt11Avg) => {
                out[0] = interpolated::avg_interpolated(list, rl, v, opts.legacy_recall_cutoffs)
            }
            (Params::Values(v), K::Relstring) => relstring::relstring(list, v[0], text),
            (Params::Values(v), K::Utility) => {
                out[0] = set::utility(list, v, opts.num_docs_in_coll)
            }
            (_, K::SetP) => out[0] = set::set_p(list),
            (_, K::SetRelativeP) => out[0] = set::set_relative_p(list),
            (_, K::SetRecall) => out[0] = set::set_recall(list),
            (_, K::SetMap) => out[0] = set::set_map(list),
            (Params::Values(v), K::SetF) => out[0] = set::set_f(list, v[0]),
            (_, K::BinG) => out[0] = g::bin_g(list, rl),
            (_, K::G) => out[0] = g::g(list, pairs),
            (_, K::Ndcg) => out[0] = ndcg::dcg_family(list, pairs).ndcg(),
            (_, K::Dcg) => out[0] = ndcg::dcg_family(list, pairs).dcg,
            (_, K::IdealDcg) => out[0] = ndcg::dcg_family(list, pairs).ideal_dcg,
            (_, K::NdcgRel) => out[0] = ndcg::ndcg_rel(list, pairs),
            (_, K::Rndcg) => out[0] = ndcg::r_ndcg(list, pairs),
            (Params::Cutoffs(c), K::NdcgCut) => ndcg::ndcg_cut(list, c, out),
            (_, K::Rbp) => out[0] = rbp::rbp(list, pairs),
            (_, K::RbpResid) => out[0] = rbp::rbp_resid(list, pairs),
            (Params::Cutoffs(c), K::Unj) => unjudged::unj_at(list, c, out),
            (p, k) => {
                unreachable!("parameters {p:?} do not fit measure {k:?}; with_params prevents this")
            }
        }
    }
}

/// trec_eval's floor for geometric means (`MIN_GEO_MEAN`).
pub const GEO_MEAN_FLOOR: f64 = 0.00001;

/// Names of every measure and nickname, for help texts.
pub fn all_names() -> impl Iterator<Item = (&'static str, &'static str)> {
    CATALOGUE.iter().map(|i| (i.name, i.about))
}

/// Names of the measure sets (`official`, `set`, `all_trec`) and their members.
pub fn nicknames() -> &'static [(&'static str, &'static [&'static str])] {
    NICKNAMES
}
