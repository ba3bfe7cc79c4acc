//! Parsing of measure parameters, with trec_eval's syntax and checks:
//! `P.5,10` (integer cutoffs, sorted, positive, no duplicates), `iprec_at_recall..1,.5`
//! (fraction cutoffs, sorted, no duplicates), `utility.2,-1,0,0` (numbers, in order),
//! `ndcg.1=3,2=9` (`name=value` pairs).

use crate::error::{Error, Result};

/// C `strtol`/`atol` on the longest numeric prefix; `None` if there is no digit.
pub(crate) fn c_atol(s: &str) -> Option<i64> {
    let t = s.trim_start();
    let b = t.as_bytes();
    let mut i = 0;
    if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
        i += 1;
    }
    let digits_start = i;
    while i < b.len() && b[i].is_ascii_digit() {
        i += 1;
    }
    if i == digits_start {
        return None;
    }
    t[..i].parse::<i64>().ok()
}

/// C `atof` on the longest numeric prefix; `None` if there is no number at all.
pub(crate) fn c_atof(s: &str) -> Option<f64> {
    let t = s.trim_start();
    // Longest prefix that parses: numbers here are short, so trying each is fine.
    (1..=t.len())
        .rev()
        .filter(|&n| t.is_char_boundary(n))
        .find_map(|n| {
            let p = &t[..n];
            // Rust accepts "inf"/"nan" words too, as C's atof does.
            p.parse::<f64>().ok()
        })
}

fn bad(measure: &str, message: String) -> Error {
    Error::BadParameter {
        measure: measure.to_owned(),
        message,
    }
}

/// Integer cutoffs: `5,10,15`. Sorted ascending; each must be positive and unique.
pub(crate) fn long_cutoffs(measure: &str, s: &str) -> Result<Vec<u64>> {
    let mut v = Vec::new();
    for part in s.split(',') {
        let x =
            c_atol(part).ok_or_else(|| bad(measure, format!("cutoff '{part}' is not a number")))?;
        v.push(x);
    }
    v.sort_unstable();
    if v[0] <= 0 {
        return Err(bad(
            measure,
            "cutoffs must be positive (trec_eval: Negative cutoff detected)".into(),
        ));
    }
    if v.windows(2).any(|w| w[0] == w[1]) {
        return Err(bad(measure, "duplicate cutoffs".into()));
    }
    Ok(v.into_iter().map(|x| x as u64).collect())
}

/// Fraction cutoffs: `.1,.5,1`. Sorted ascending; unique.
pub(crate) fn double_cutoffs(measure: &str, s: &str) -> Result<Vec<f64>> {
    let mut v = doubles(measure, s)?;
    v.sort_by(|a, b| a.total_cmp(b));
    if v.windows(2).any(|w| w[0] == w[1]) {
        return Err(bad(measure, "duplicate cutoffs".into()));
    }
    Ok(v)
}

/// Numbers in the order given: `2,-1,0,0`.
pub(crate) fn doubles(measure: &str, s: &str) -> Result<Vec<f64>> {
    s.split(',')
        .map(|part| {
            c_atof(part).ok_or_else(|| bad(measure, format!("parameter '{part}' is not a number")))
        })
        .collect()
}

/// `name=value` pairs: `1=3,2=9,4=4.5` or `p=0.8`.
pub(crate) fn pairs(measure: &str, s: &str) -> Result<Vec<(String, f64)>> {
    let mut out = Vec::new();
    for part in s.split(',') {
        let (name, value) = part
            .split_once('=')
            .filter(|(_, v)| !v.contains('='))
            .ok_or_else(|| {
                bad(
                    measure,
                    format!("malformed pair parameters in '{s}' (expected name=value,…)"),
                )
            })?;
        let value = c_atof(value).ok_or_else(|| {
            bad(
                measure,
                format!("value '{value}' in '{part}' is not a number"),
            )
        })?;
        out.push((name.to_owned(), value));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn c_number_prefixes() {
        assert_eq!(c_atol("23.4"), Some(23));
        assert_eq!(c_atol(" -5x"), Some(-5));
        assert_eq!(c_atol("x"), None);
        assert_eq!(c_atof(".25"), Some(0.25));
        assert_eq!(c_atof("1.5e1xyz"), Some(15.0));
        assert_eq!(c_atof("abc"), None);
    }

    #[test]
    fn trec_eval_parameter_rules() {
        assert_eq!(long_cutoffs("P", "5,7,3").unwrap(), vec![3, 5, 7]);
        assert_eq!(
            long_cutoffs("ndcg_cut", "10,20,23.4").unwrap(),
            vec![10, 20, 23]
        );
        assert!(long_cutoffs("P", "0,5").is_err());
        assert!(long_cutoffs("P", "5,5").is_err());
        assert_eq!(
            double_cutoffs("x", "5.0,0.2,0.35").unwrap(),
            vec![0.2, 0.35, 5.0]
        );
        assert_eq!(doubles("u", "2,-1,0,0").unwrap(), vec![2.0, -1.0, 0.0, 0.0]);
        assert_eq!(
            pairs("ndcg", "1=3,2=9,4=4.5").unwrap(),
            vec![("1".into(), 3.0), ("2".into(), 9.0), ("4".into(), 4.5)]
        );
        assert!(pairs("ndcg", "1=3,2").is_err());
        assert!(pairs("ndcg", "1==3").is_err());
    }
}
