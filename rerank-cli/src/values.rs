//! Checked values for flags: clap calls these while parsing, so a bad value is a usage
//! error that names the flag (`invalid value '0' for '--top <TOP>': must be at least
//! 1`), never a panic or a silent no-op later on.

/// A count that must be at least 1 (`--top`, `--window`, `--passes`, `-k`, …).
pub fn at_least_one(s: &str) -> Result<usize, String> {
    let n: usize = s
        .trim()
        .parse()
        .map_err(|_| "must be a whole number of at least 1".to_string())?;
    if n == 0 {
        return Err("must be at least 1".into());
    }
    Ok(n)
}

/// A duration in seconds: finite and greater than 0, at most a year (`--timeout`).
pub fn seconds(s: &str) -> Result<f64, String> {
    const YEAR: f64 = 365.0 * 24.0 * 3600.0;
    match s.trim().parse::<f64>() {
        Ok(v) if v.is_finite() && v > 0.0 && v <= YEAR => Ok(v),
        Ok(v) if v.is_finite() && v > YEAR => {
            Err(format!("must be at most {YEAR} seconds (a year)"))
        }
        _ => Err("must be a number of seconds greater than 0".into()),
    }
}

/// A sampling temperature: finite and at least 0 (0 is greedy).
pub fn temperature(s: &str) -> Result<f32, String> {
    match s.trim().parse::<f32>() {
        Ok(v) if v.is_finite() && v >= 0.0 => Ok(v),
        _ => Err("must be a number of at least 0 (0: greedy)".into()),
    }
}

/// A probability mass for nucleus sampling: greater than 0, at most 1.
pub fn top_p(s: &str) -> Result<f32, String> {
    match s.trim().parse::<f32>() {
        Ok(v) if v > 0.0 && v <= 1.0 => Ok(v),
        _ => Err("must be a number greater than 0 and at most 1".into()),
    }
}

/// `prefix` with `suffix` appended to its last component (`out.run` → `out.run.trace.jsonl`).
pub fn with_suffix(prefix: &std::path::Path, suffix: &str) -> std::path::PathBuf {
    let mut p = prefix.as_os_str().to_owned();
    p.push(suffix);
    std::path::PathBuf::from(p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_checked() {
        assert_eq!(at_least_one("3"), Ok(3));
        assert!(at_least_one("0").is_err() && at_least_one("-1").is_err());
        assert_eq!(seconds("0.5"), Ok(0.5));
        for bad in ["0", "-1", "inf", "nan", "1e30", "x"] {
            assert!(seconds(bad).is_err(), "{bad}");
        }
        assert_eq!(temperature("0"), Ok(0.0));
        assert!(temperature("-0.1").is_err() && temperature("nan").is_err());
        assert_eq!(top_p("1"), Ok(1.0));
        assert!(top_p("0").is_err() && top_p("1.5").is_err() && top_p("nan").is_err());
    }
}
