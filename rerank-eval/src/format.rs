//! Number formatting exactly as C's `printf` prints it.
//!
//! Rust's `{:.4}` rounds the exact binary value half-to-even, as glibc's `%.4f` does,
//! so the only differences to take care of are NaN (`nan`/`-nan` in C) and infinities.

/// `%.{prec}f`.
pub fn c_fixed(x: f64, prec: usize) -> String {
    if x.is_nan() {
        return if x.is_sign_negative() {
            "-nan".into()
        } else {
            "nan".into()
        };
    }
    if x.is_infinite() {
        return if x < 0.0 { "-inf".into() } else { "inf".into() };
    }
    format!("{x:.prec$}")
}

/// `%6.4f`, trec_eval's format for every real-valued measure.
pub fn trec_float(x: f64) -> String {
    TrecFloat(x).to_string()
}

/// `%6.4f` as a value to format (writes straight into the output, allocating
/// nothing: what the per-query output of 7,000 queries × 100 measures calls for).
#[derive(Clone, Copy, Debug)]
pub struct TrecFloat(pub f64);

impl std::fmt::Display for TrecFloat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let x = self.0;
        if let Some(text) = fixed4_fast(x, &mut [0u8; 24]) {
            f.write_str(text)
        } else if x.is_finite() {
            write!(f, "{x:>6.4}")
        } else {
            write!(f, "{:>6}", c_fixed(x, 4))
        }
    }
}

impl TrecFloat {
    /// Appends the text to `out` (as `Display` prints it), without the general
    /// formatter where [`fixed4_fast`] can.
    #[inline]
    pub fn write_to(self, out: &mut Vec<u8>) {
        match fixed4_fast(self.0, &mut [0u8; 24]) {
            Some(text) => out.extend_from_slice(text.as_bytes()),
            None => {
                use std::io::Write;
                write!(out, "{self}").expect("writing to a Vec cannot fail")
            }
        }
    }
}

/// `%.4f` of `x` without the general formatter, where that is certainly the same text;
/// `None` otherwise (the caller formats it the exact, slower way).
///
/// `y = x · 10⁴` is rounded once (at most half a unit in its last place, ≤ 2⁻¹³ for
/// `|y| < 2⁴⁰`); unless `y` lies within 2⁻¹⁰ of a rounding boundary `k + ½`, the exact
/// product is on the same side of it, so rounding `y` gives printf's digits. Per-query
/// output prints hundreds of thousands of values, and the general formatter's exact
/// algorithm was a tenth of `-q`'s time.
#[inline]
fn fixed4_fast(x: f64, buf: &mut [u8; 24]) -> Option<&str> {
    let y = (x * 10_000.0).abs();
    if y.is_nan() || y >= (1u64 << 40) as f64 {
        return None;
    }
    let frac = y - y.floor();
    if (frac - 0.5).abs() <= 1.0 / 1024.0 {
        return None;
    }
    let n = y.round() as u64;
    let (int, dec) = (n / 10_000, n % 10_000);
    // Digits from the right: four decimals, the point, then the integer part.
    let mut at = buf.len();
    let mut put = |b: u8| {
        at -= 1;
        buf[at] = b;
    };
    let mut d = dec;
    for _ in 0..4 {
        put(b'0' + (d % 10) as u8);
        d /= 10;
    }
    put(b'.');
    let mut i = int;
    loop {
        put(b'0' + (i % 10) as u8);
        i /= 10;
        if i == 0 {
            break;
        }
    }
    if x.is_sign_negative() {
        put(b'-');
    }
    std::str::from_utf8(&buf[at..]).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_printf() {
        assert_eq!(trec_float(0.03125), "0.0312"); // exact tie: half to even
        assert_eq!(trec_float(0.375), "0.3750");
        assert_eq!(trec_float(-412.666666), "-412.6667");
        assert_eq!(trec_float(-0.0), "-0.0000");
        assert_eq!(c_fixed(0.1, 2), "0.10");
        assert_eq!(c_fixed(5.0, 2), "5.00");
        assert_eq!(trec_float(f64::NAN), "   nan");
        assert_eq!(trec_float(-f64::NAN), "  -nan");
        assert_eq!(trec_float(-0.00001), "-0.0000");
        assert_eq!(trec_float(123456.99995), format!("{:.4}", 123456.99995));
        assert_eq!(trec_float(0.99996), "1.0000");
    }

    proptest::proptest! {
        /// The shortcut prints what the exact formatter prints, or leaves it to it:
        /// values near rounding boundaries, small and large, of both signs.
        #[test]
        fn fast_fixed4_is_printf(
            k in -2_000_000_000i64..2_000_000_000,
            nudge in proptest::sample::select(vec![0.0, 0.5, 0.49999, 0.50001, 0.25, 1e-9, -1e-9]),
            scale in proptest::sample::select(vec![1e-4, 1e-3, 1.0, 1e-7, 3.0e-5]),
            raw in proptest::num::f64::ANY,
        ) {
            for x in [(k as f64 + nudge) * scale, raw, (k as f64) / 7.0] {
                if x.is_finite() {
                    proptest::prop_assert_eq!(trec_float(x), format!("{x:>6.4}"), "{:e}", x);
                }
                let mut out = Vec::new();
                TrecFloat(x).write_to(&mut out);
                proptest::prop_assert_eq!(String::from_utf8(out).unwrap(), trec_float(x));
            }
        }
    }
}
