//! Scores from an order: a listwise or setwise reranker gives ranks, not scores, but the
//! rerank APIs promise a `relevance_score` that clients sort by.

/// The relevance score of the document at `rank` (from 1) of `n`: `(n − rank + 1) / n`.
/// Strictly decreasing with the rank, in (0, 1], 1 for the first; the same order, and
/// only the order, the reranker gave.
///
/// ```
/// use rerank_server::relevance_score;
/// assert_eq!(relevance_score(1, 4), 1.0);
/// assert_eq!(relevance_score(4, 4), 0.25);
/// ```
pub fn relevance_score(rank: usize, n: usize) -> f64 {
    let n = n.max(1);
    let rank = rank.clamp(1, n);
    (n - rank + 1) as f64 / n as f64
}
