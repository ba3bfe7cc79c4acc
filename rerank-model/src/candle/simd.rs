//! Small helpers shared by the AVX2 dot products of [`super::qmatvec`] and
//! [`super::kquant_dot`]. Inlined into their callers, which enable AVX2 and FMA.
#![allow(unsafe_code)]

use std::arch::x86_64::*;

/// The f16 value stored little-endian at `p`, as f32.
///
/// # Safety
/// `p` and `p + 1` must be readable.
#[inline(always)]
pub(crate) unsafe fn f16_at(p: *const u8) -> f32 {
    half::f16::from_bits(u16::from_le_bytes([*p, *p.add(1)])).to_f32()
}

/// The sum of the eight lanes of `v`.
///
/// # Safety
/// The processor must have AVX.
#[inline(always)]
pub(crate) unsafe fn hsum(v: __m256) -> f32 {
    let s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    let s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    let s = _mm_add_ss(s, _mm_movehdup_ps(s));
    _mm_cvtss_f32(s)
}
