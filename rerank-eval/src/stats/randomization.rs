//! Fisher's paired randomization test.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::differences;
use crate::error::{Error, Result};

/// Result of a randomization test.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RandomizationTest {
    /// Two-sided p-value.
    pub p_value: f64,
    /// Mean of `b - a`.
    pub mean_diff: f64,
    /// Sign assignments examined.
    pub permutations: usize,
    /// Whether every one of the `2^n` assignments was examined.
    pub exact: bool,
}

/// Paired two-sided randomization test: under the null hypothesis each query's
/// difference is as likely to have the opposite sign, so the mean difference is
/// compared with its distribution under random sign flips.
///
/// With `n` queries and `2^n <= permutations`, all assignments are enumerated and the
/// p-value is exact (the same as `scipy.stats.permutation_test` with
/// `permutation_type="samples"`). Otherwise `permutations` random assignments are
/// drawn from a ChaCha8 generator seeded with `seed`, and
/// `p = (1 + #{|mean*| >= |mean|}) / (1 + permutations)`.
pub fn randomization_test(
    a: &[f64],
    b: &[f64],
    permutations: usize,
    seed: u64,
) -> Result<RandomizationTest> {
    if permutations == 0 {
        return Err(Error::Compare(
            "the randomization test needs at least one permutation".into(),
        ));
    }
    let d = differences(a, b)?;
    let n = d.len();
    let observed: f64 = d.iter().sum();
    let scale = d
        .iter()
        .map(|x| x.abs())
        .sum::<f64>()
        .max(f64::MIN_POSITIVE);
    let tol = 1e-12 * scale;
    let extreme = |s: f64| s.abs() >= observed.abs() - tol;
    if n < 63 && (1u64 << n) as usize <= permutations {
        let total = 1u64 << n;
        let mut count = 0u64;
        for mask in 0..total {
            let s: f64 = d
                .iter()
                .enumerate()
                .map(|(i, &x)| if mask >> i & 1 == 1 { -x } else { x })
                .sum();
            if extreme(s) {
                count += 1;
            }
        }
        return Ok(RandomizationTest {
            p_value: count as f64 / total as f64,
            mean_diff: observed / n as f64,
            permutations: total as usize,
            exact: true,
        });
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut count = 0usize;
    for _ in 0..permutations {
        let mut s = 0.0;
        let mut bits = 0u64;
        for (i, &x) in d.iter().enumerate() {
            if i % 64 == 0 {
                bits = rng.gen();
            }
            s += if bits >> (i % 64) & 1 == 1 { -x } else { x };
        }
        if extreme(s) {
            count += 1;
        }
    }
    Ok(RandomizationTest {
        p_value: (count + 1) as f64 / (permutations + 1) as f64,
        mean_diff: observed / n as f64,
        permutations,
        exact: false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_small_case() {
        // d = [1, 2]: sums over sign flips are 3, 1, -1, -3; |s| >= 3 twice.
        let r = randomization_test(&[0.0, 0.0], &[1.0, 2.0], 100, 1).unwrap();
        assert!(r.exact);
        assert_eq!(r.p_value, 0.5);
    }

    #[test]
    fn seeded_monte_carlo_is_reproducible() {
        let a: Vec<f64> = (0..40).map(|i| (i as f64 * 0.37).sin().abs()).collect();
        let b: Vec<f64> = a
            .iter()
            .enumerate()
            .map(|(i, x)| x + 0.05 * ((i % 3) as f64 - 0.5))
            .collect();
        let r1 = randomization_test(&a, &b, 2000, 7).unwrap();
        let r2 = randomization_test(&a, &b, 2000, 7).unwrap();
        assert_eq!(r1, r2);
        assert!(!r1.exact && r1.p_value > 0.0 && r1.p_value <= 1.0);
    }
}
