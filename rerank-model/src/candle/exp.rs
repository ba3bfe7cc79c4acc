//! An exponential for softmax that the compiler vectorises.
//!
//! libm's `expf` is a call per value; softmax over a prompt's attention scores makes
//! tens of millions of them. This is Cephes' `expf` (range reduction by `ln 2` in two
//! parts, a degree-6 polynomial) written with float operations only, for the
//! non-positive arguments softmax gives it after subtracting the maximum.

/// `e^x` for `x ≤ 0` (softmax's arguments; 0 below −87.3, where `e^x` leaves f32's
/// normal range), within 2 units in the last place: Cephes' `expf` (range reduction by
/// `ln 2` in two parts, a degree-6 polynomial), written with float operations only so
/// that a loop of it vectorises.
#[inline(always)]
pub(crate) fn exp(x: f32) -> f32 {
    const LOG2E: f32 = std::f32::consts::LOG2_E;
    const LN2_HI: f32 = 0.693_359_4;
    const LN2_LO: f32 = -2.121_944_4e-4;
    // 1.5 · 2^23: adding it rounds to an integer, kept in the low mantissa bits.
    const ROUND: f32 = 12_582_912.0;
    let x = x.max(-87.3);
    let t = x * LOG2E + ROUND;
    let n = t - ROUND;
    let r = x - n * LN2_HI - n * LN2_LO;
    let mut p = 1.987_569_1e-4;
    p = p * r + 1.398_199_9e-3;
    p = p * r + 8.333_452e-3;
    p = p * r + 4.166_579_6e-2;
    p = p * r + 1.666_666_5e-1;
    p = p * r + 0.5;
    let y = p * r * r + r + 1.0;
    // 2^n from the integer in t's low bits (n ≥ −126 here: a normal number).
    let pow = f32::from_bits(((t.to_bits() as i32 - 0x4B40_0000 + 127) << 23) as u32);
    let v = y * pow;
    if x <= -87.3 {
        0.0
    } else {
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Within 2 units in the last place of the exact value over softmax's range, exact
    /// at 0, and 0 below the normal range.
    #[test]
    fn exp_is_within_two_ulp() {
        let mut worst = 0f64;
        let mut x = -87.0f32;
        while x <= 0.0 {
            let want = (x as f64).exp();
            let got = exp(x) as f64;
            let ulp = (want as f32).next_up() as f64 - want as f32 as f64;
            worst = worst.max((got - want).abs() / ulp);
            x += 0.000_731;
        }
        assert!(worst <= 2.0, "worst error {worst} ulp");
        assert_eq!(exp(0.0), 1.0);
        assert_eq!(exp(-100.0), 0.0);
        assert_eq!(exp(f32::NEG_INFINITY), 0.0);
    }
}
