//! Student's paired t-test.

use statrs::distribution::{ContinuousCDF, StudentsT};

use super::{differences, mean, sample_sd};
use crate::error::Result;

/// Result of a paired t-test.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TTest {
    /// The t statistic of `b - a`.
    pub t: f64,
    /// Degrees of freedom, `n - 1`.
    pub df: f64,
    /// Two-sided p-value.
    pub p_value: f64,
    /// Mean of `b - a`.
    pub mean_diff: f64,
}

/// Paired two-sided t-test of `b - a` (the same as `scipy.stats.ttest_rel(b, a)`).
///
/// When every difference is the same, the statistic is infinite (p = 0) or, if all
/// differences are 0, undefined: then `t` is NaN and `p_value` is 1.
///
/// ```
/// let t = rerank_eval::stats::paired_t_test(&[0.1, 0.2, 0.3, 0.4], &[0.2, 0.25, 0.5, 0.45])?;
/// // scipy.stats.ttest_rel([.2, .25, .5, .45], [.1, .2, .3, .4]): t = 2.8284…, p = 0.06627…
/// assert!((t.t - 2.8284271247461894).abs() < 1e-12);
/// assert!((t.p_value - 0.0662756027415243).abs() < 1e-12);
/// # Ok::<(), rerank_eval::Error>(())
/// ```
pub fn paired_t_test(a: &[f64], b: &[f64]) -> Result<TTest> {
    let d = differences(a, b)?;
    let n = d.len() as f64;
    let (m, sd) = (mean(&d), sample_sd(&d));
    let df = n - 1.0;
    if sd == 0.0 {
        let (t, p) = if m == 0.0 {
            (f64::NAN, 1.0)
        } else {
            (m.signum() * f64::INFINITY, 0.0)
        };
        return Ok(TTest {
            t,
            df,
            p_value: p,
            mean_diff: m,
        });
    }
    let t = m / (sd / n.sqrt());
    let dist = StudentsT::new(0.0, 1.0, df).expect("df >= 1 is valid");
    let p = (2.0 * dist.sf(t.abs())).min(1.0);
    Ok(TTest {
        t,
        df,
        p_value: p,
        mean_diff: m,
    })
}
