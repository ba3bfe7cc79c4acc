//! Comparing systems: is run B really better than run A on these queries?
//!
//! All tests are paired over queries (the same queries, in the same order, for both
//! runs) and look at the per-query differences `d = b - a`:
//!
//! - [`paired_t_test`]: Student's paired t-test, two-sided (as `scipy.stats.ttest_rel`).
//! - [`randomization_test`]: Fisher's paired randomization (sign-flip) test, two-sided;
//!   exact when `2^n` is at most the number of permutations asked for, otherwise Monte
//!   Carlo with a seeded generator.
//! - [`bootstrap_ci`]: percentile bootstrap confidence interval of the mean difference.
//! - [`effect_size`]: Cohen's d for paired samples (d_z = mean(d) / sd(d)).
//! - [`holm_bonferroni`]: adjusts p-values for many comparisons.
//!
//! Smucker, Allan and Carterette (CIKM 2007) recommend the randomization test (or the
//! t-test, which agrees with it closely) for IR evaluation.

mod bootstrap;
mod holm;
mod randomization;
mod ttest;

pub use bootstrap::{bootstrap_ci, ConfidenceInterval};
pub use holm::holm_bonferroni;
pub use randomization::{randomization_test, RandomizationTest};
pub use ttest::{paired_t_test, TTest};

use crate::error::{Error, Result};

/// Per-query differences `b - a`, checking the inputs.
pub(crate) fn differences(a: &[f64], b: &[f64]) -> Result<Vec<f64>> {
    if a.len() != b.len() {
        return Err(Error::Compare(format!(
            "the runs have {} and {} query values; a paired test needs the same queries",
            a.len(),
            b.len()
        )));
    }
    if a.len() < 2 {
        return Err(Error::Compare(format!(
            "a paired test needs at least 2 queries, got {}",
            a.len()
        )));
    }
    if a.iter().chain(b).any(|v| !v.is_finite()) {
        return Err(Error::Compare(
            "a per-query value is not a finite number".into(),
        ));
    }
    Ok(a.iter().zip(b).map(|(x, y)| y - x).collect())
}

pub(crate) fn mean(x: &[f64]) -> f64 {
    x.iter().sum::<f64>() / x.len() as f64
}

/// Sample standard deviation (n - 1 in the denominator).
pub(crate) fn sample_sd(x: &[f64]) -> f64 {
    let m = mean(x);
    (x.iter().map(|v| (v - m) * (v - m)).sum::<f64>() / (x.len() as f64 - 1.0)).sqrt()
}

/// Cohen's d for paired samples: mean difference over the standard deviation of the
/// differences (`d_z`). 0 when every difference is 0; infinite when all differences
/// are equal and non-zero.
pub fn effect_size(a: &[f64], b: &[f64]) -> Result<f64> {
    let d = differences(a, b)?;
    let (m, sd) = (mean(&d), sample_sd(&d));
    Ok(if m == 0.0 { 0.0 } else { m / sd })
}

/// Which test decides significance marks in a comparison table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Test {
    /// Paired t-test.
    TTest,
    /// Paired randomization test.
    Randomization,
    /// Bootstrap: significant when the confidence interval excludes 0; the p-value
    /// reported is the two-sided bootstrap p-value.
    Bootstrap,
}

/// Everything a comparison table shows for one run against a baseline on one measure.
#[derive(Clone, Debug, PartialEq)]
pub struct Comparison {
    /// Mean of the baseline.
    pub mean_a: f64,
    /// Mean of the compared run.
    pub mean_b: f64,
    /// p-value of the chosen test (before any multiple-comparison correction).
    pub p_value: f64,
    /// Effect size (paired Cohen's d).
    pub effect_size: f64,
    /// Bootstrap confidence interval of the mean difference.
    pub ci: ConfidenceInterval,
}

/// Settings for [`compare`].
#[derive(Clone, Debug)]
pub struct CompareOptions {
    /// The test behind the p-value.
    pub test: Test,
    /// Permutations for the randomization test; bootstrap samples.
    pub samples: usize,
    /// Seed of every random choice.
    pub seed: u64,
    /// Confidence level of the interval (e.g. 0.95).
    pub confidence: f64,
}

impl Default for CompareOptions {
    fn default() -> Self {
        CompareOptions {
            test: Test::TTest,
            samples: 10_000,
            seed: 42,
            confidence: 0.95,
        }
    }
}

/// Compares run `b` with baseline `a` over the same queries.
pub fn compare(a: &[f64], b: &[f64], opts: &CompareOptions) -> Result<Comparison> {
    let ci = bootstrap_ci(a, b, opts.samples, opts.confidence, opts.seed)?;
    let p_value = match opts.test {
        Test::TTest => paired_t_test(a, b)?.p_value,
        Test::Randomization => randomization_test(a, b, opts.samples, opts.seed)?.p_value,
        Test::Bootstrap => ci.p_value,
    };
    Ok(Comparison {
        mean_a: mean(a),
        mean_b: mean(b),
        p_value,
        effect_size: effect_size(a, b)?,
        ci,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn input_checks() {
        assert!(differences(&[1.0], &[2.0]).is_err());
        assert!(differences(&[1.0, 2.0], &[2.0]).is_err());
        assert!(differences(&[1.0, f64::NAN], &[2.0, 1.0]).is_err());
        assert_eq!(effect_size(&[1.0, 2.0], &[1.0, 2.0]).unwrap(), 0.0);
    }
}
