//! When and how long to retry a failed request.

use std::time::Duration;

use rand::Rng;

/// Retries with jittered exponential backoff.
///
/// Attempt `i` (from 0) that fails with a retryable error waits a random duration
/// between half and all of `min(max_delay, base_delay * 2^i)` — unless the server
/// sent `Retry-After`, which is honoured (up to `max_retry_after`) — and tries again,
/// `max_retries` times at most.
///
/// Retryable: connection errors, timeouts, HTTP 408, 429 and 5xx, and a response body
/// that is cut off or not the JSON asked for. Anything else (400, 401, 404, a prompt
/// too long for the server) fails at once.
#[derive(Clone, Debug, PartialEq)]
pub struct RetryPolicy {
    /// Retries after the first attempt.
    pub max_retries: u32,
    /// Backoff before the first retry.
    pub base_delay: Duration,
    /// Longest backoff.
    pub max_delay: Duration,
    /// Longest wait a `Retry-After` header can impose.
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_retries: 4,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(20),
            max_retry_after: Duration::from_secs(60),
        }
    }
}

impl RetryPolicy {
    /// No retries.
    pub fn none() -> Self {
        RetryPolicy {
            max_retries: 0,
            ..RetryPolicy::default()
        }
    }

    /// How long to wait before retry number `attempt + 1`, given the server's
    /// `Retry-After` (if any).
    pub fn delay(
        &self,
        attempt: u32,
        retry_after: Option<Duration>,
        rng: &mut impl Rng,
    ) -> Duration {
        if let Some(d) = retry_after {
            return d.min(self.max_retry_after);
        }
        let exp = self
            .base_delay
            .saturating_mul(2u32.saturating_pow(attempt.min(30)))
            .min(self.max_delay);
        let jittered = exp.as_secs_f64() * rng.gen_range(0.5..=1.0);
        Duration::try_from_secs_f64(jittered).unwrap_or(exp)
    }
}

/// Whether an HTTP status is worth retrying.
pub fn retryable_status(status: u16) -> bool {
    status == 408 || status == 429 || (500..600).contains(&status)
}

/// `Retry-After` as seconds (the HTTP-date form is not used by inference servers and
/// falls back to the backoff). The header is untrusted: a value too large for a
/// `Duration` (`1e30`) saturates, to be capped by [`RetryPolicy::max_retry_after`];
/// a negative, non-finite or non-numeric one is ignored.
pub fn parse_retry_after(value: &str) -> Option<Duration> {
    let v = value.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let secs = v
        .parse::<f64>()
        .ok()
        .filter(|s| s.is_finite() && *s >= 0.0)?;
    Some(Duration::try_from_secs_f64(secs).unwrap_or(Duration::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn backoff_grows_jitters_and_caps() {
        let p = RetryPolicy::default();
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        for attempt in 0..10 {
            let d = p.delay(attempt, None, &mut rng);
            let full = (p.base_delay * 2u32.pow(attempt)).min(p.max_delay);
            assert!(d >= full / 2 && d <= full, "{attempt}: {d:?}");
        }
        assert_eq!(
            p.delay(0, Some(Duration::from_secs(3)), &mut rng),
            Duration::from_secs(3)
        );
        assert_eq!(
            p.delay(0, Some(Duration::from_secs(3600)), &mut rng),
            p.max_retry_after
        );
        assert_eq!(parse_retry_after(" 2 "), Some(Duration::from_secs(2)));
        assert_eq!(parse_retry_after("0.5"), Some(Duration::from_millis(500)));
        assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"), None);
        assert!(retryable_status(429) && retryable_status(503) && !retryable_status(400));
    }

    #[test]
    fn hostile_retry_after_values_never_panic_and_are_capped() {
        let p = RetryPolicy::default();
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(2);
        for huge in [
            "1e30",
            "1e300",
            "18446744073709551615",
            "99999999999999999999999",
        ] {
            let d = parse_retry_after(huge);
            assert!(d.is_some(), "{huge}");
            assert_eq!(p.delay(0, d, &mut rng), p.max_retry_after, "{huge}");
        }
        for ignored in [
            "-1", "-0.5", "nan", "inf", "-inf", "", "soon", "1e30s", "0x10",
        ] {
            assert_eq!(parse_retry_after(ignored), None, "{ignored}");
        }
        assert_eq!(parse_retry_after("0"), Some(Duration::ZERO));
    }
}
