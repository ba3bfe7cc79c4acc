//! Holm–Bonferroni correction for many comparisons.

/// Holm's step-down adjusted p-values, in the input order: sort ascending, multiply
/// the i-th smallest (from 0) by `m - i`, enforce monotonicity, cap at 1. Reject a
/// hypothesis at level α when its adjusted p-value is at most α.
///
/// ```
/// let adj = rerank_eval::stats::holm_bonferroni(&[0.01, 0.04, 0.03, 0.005]);
/// assert_eq!(adj, vec![0.03, 0.06, 0.06, 0.02]);
/// ```
pub fn holm_bonferroni(p_values: &[f64]) -> Vec<f64> {
    let m = p_values.len();
    let mut order: Vec<usize> = (0..m).collect();
    order.sort_by(|&i, &j| p_values[i].total_cmp(&p_values[j]));
    let mut adjusted = vec![0.0; m];
    let mut running = 0.0f64;
    for (rank, &i) in order.iter().enumerate() {
        let v = ((m - rank) as f64 * p_values[i]).min(1.0);
        running = running.max(v);
        adjusted[i] = running;
    }
    adjusted
}
