//! Percentile bootstrap confidence intervals of the mean difference.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::{differences, mean};
use crate::error::{Error, Result};

/// A confidence interval of the mean of `b - a`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ConfidenceInterval {
    /// Mean of `b - a`.
    pub mean_diff: f64,
    /// Lower bound.
    pub low: f64,
    /// Upper bound.
    pub high: f64,
    /// Confidence level, e.g. 0.95.
    pub confidence: f64,
    /// Two-sided bootstrap p-value: twice the smaller share of resampled means on
    /// either side of 0 (at least `1 / (samples + 1)`).
    pub p_value: f64,
}

/// Percentile bootstrap: resamples queries with replacement `samples` times (ChaCha8
/// seeded with `seed`) and takes the `(1 - confidence) / 2` and `(1 + confidence) / 2`
/// quantiles of the resampled mean differences.
pub fn bootstrap_ci(
    a: &[f64],
    b: &[f64],
    samples: usize,
    confidence: f64,
    seed: u64,
) -> Result<ConfidenceInterval> {
    if samples == 0 {
        return Err(Error::Compare(
            "the bootstrap needs at least one sample".into(),
        ));
    }
    if !(confidence > 0.0 && confidence < 1.0) {
        return Err(Error::Compare(format!(
            "confidence must be in (0, 1), got {confidence}"
        )));
    }
    let d = differences(a, b)?;
    let n = d.len();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut means: Vec<f64> = (0..samples)
        .map(|_| (0..n).map(|_| d[rng.gen_range(0..n)]).sum::<f64>() / n as f64)
        .collect();
    means.sort_by(|x, y| x.total_cmp(y));
    let q = |p: f64| {
        // Linear interpolation between order statistics (numpy's default).
        let h = p * (samples - 1) as f64;
        let lo = h.floor() as usize;
        let hi = h.ceil() as usize;
        means[lo] + (h - lo as f64) * (means[hi] - means[lo])
    };
    let alpha = 1.0 - confidence;
    let below = means.iter().filter(|&&m| m <= 0.0).count();
    let above = means.iter().filter(|&&m| m >= 0.0).count();
    let p = (2.0 * below.min(above) as f64 / samples as f64)
        .max(1.0 / (samples + 1) as f64)
        .min(1.0);
    Ok(ConfidenceInterval {
        mean_diff: mean(&d),
        low: q(alpha / 2.0),
        high: q(1.0 - alpha / 2.0),
        confidence,
        p_value: p,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interval_brackets_the_mean() {
        let a: Vec<f64> = (0..50).map(|i| (i as f64 * 0.1).cos().abs()).collect();
        let b: Vec<f64> = a.iter().map(|x| x + 0.1).collect();
        let ci = bootstrap_ci(&a, &b, 1000, 0.95, 3).unwrap();
        assert!(ci.low <= ci.mean_diff && ci.mean_diff <= ci.high);
        assert!((ci.low - 0.1).abs() < 1e-9 && (ci.high - 0.1).abs() < 1e-9);
        assert!(ci.p_value < 0.01);
    }
}
