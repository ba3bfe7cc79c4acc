//! Dot products of K-quant weights (Q4_K, Q6_K) with 8-bit activations, for
//! [`super::qmatvec`].
//!
//! The K-quants store 256 values per super-block with one f16 scale (and Q4_K an f16
//! minimum) and small integer scales per 32 (Q4_K) or 16 (Q6_K) values. They are what a
//! Q4_K_M file holds wherever a row is a multiple of 256 long: nearly all of
//! Qwen2.5-Coder-1.5B (169 Q4_K and 29 Q6_K tensors, the output head among the Q6_K)
//! and the feed-forward down projections of Qwen2.5-Coder-0.5B. candle's product for
//! them repacks Q4_K into tiles with f32 scales (a third more bytes to stream per token,
//! held beside the weight) and runs Q6_K through its own AVX dot products; with both,
//! the 1.5B model decoded at half llama.cpp's speed. Decoding is memory-bound, so these
//! kernels read the blocks as the file stores them, after ggml's AVX2
//! `ggml_vec_dot_q4_K_q8_K` and `ggml_vec_dot_q6_K_q8_K`.
//!
//! Activations are quantized per 256 values as ggml's `quantize_row_q8_K_ref` does
//! ([`quantize_row`]), with the sums of each 16 values kept (`bsums`), which carry
//! Q4_K's minimums and Q6_K's offset of 32. Integer products are summed exactly; the
//! block scales are applied in f32.
#![allow(unsafe_code)]

/// Values per super-block.
pub(crate) const QK_K: usize = 256;

/// Bytes per Q4_K block: `{d: f16, dmin: f16, scales: [u8; 12], qs: [u8; 128]}`.
pub(crate) const Q4K_BYTES: usize = 144;
/// Bytes per Q6_K block: `{ql: [u8; 128], qh: [u8; 64], scales: [i8; 16], d: f16}`.
pub(crate) const Q6K_BYTES: usize = 210;

/// 256 activations quantized to 8 bits: `value ≈ d · qs[j]`, and `bsums[s]` the sum of
/// `qs[16 s .. 16 s + 16]`.
#[derive(Clone, Copy)]
#[repr(C)]
pub(crate) struct Q8KBlock {
    pub(crate) d: f32,
    pub(crate) qs: [i8; QK_K],
    pub(crate) bsums: [i16; QK_K / 16],
}

/// Quantizes `x` (a multiple of 256 long) as ggml's `quantize_row_q8_K_ref`: the
/// value of largest magnitude maps to −127, others round to nearest (ties to even).
pub(crate) fn quantize_row(x: &[f32], out: &mut Vec<Q8KBlock>) {
    for chunk in x.chunks_exact(QK_K) {
        let mut block = Q8KBlock {
            d: 0.0,
            qs: [0; QK_K],
            bsums: [0; QK_K / 16],
        };
        let (mut amax, mut max) = (0f32, 0f32);
        for &v in chunk {
            if v.abs() > amax {
                amax = v.abs();
                max = v;
            }
        }
        if amax != 0.0 {
            let iscale = -127.0 / max;
            for (q, v) in block.qs.iter_mut().zip(chunk) {
                *q = ((iscale * v).round_ties_even() as i32).min(127) as i8;
            }
            for (s, qs) in block.bsums.iter_mut().zip(block.qs.chunks_exact(16)) {
                *s = qs.iter().map(|&q| q as i16).sum();
            }
            block.d = 1.0 / iscale;
        }
        out.push(block);
    }
}

/// Plain versions of the kernels: the definition the SIMD ones are tested against
/// (and the path on other processors, where `qmatvec` is not used today).
#[cfg_attr(target_arch = "x86_64", allow(dead_code))]
pub(crate) mod reference {
    use half::f16;

    use super::{Q8KBlock, Q4K_BYTES, Q6K_BYTES, QK_K};

    fn f16_at(b: &[u8]) -> f32 {
        f16::from_bits(u16::from_le_bytes([b[0], b[1]])).to_f32()
    }

    /// Q4_K's eight 6-bit scales and eight 6-bit minimums from their 12 packed bytes
    /// (ggml's `get_scale_min_k4`).
    fn q4k_scales_mins(p: &[u8]) -> ([u8; 8], [u8; 8]) {
        let (mut sc, mut mn) = ([0u8; 8], [0u8; 8]);
        for j in 0..8 {
            if j < 4 {
                sc[j] = p[j] & 63;
                mn[j] = p[j + 4] & 63;
            } else {
                sc[j] = (p[j + 4] & 0x0F) | ((p[j - 4] >> 6) << 4);
                mn[j] = (p[j + 4] >> 4) | ((p[j] >> 6) << 4);
            }
        }
        (sc, mn)
    }

    /// Q4_K's 256 integer values (0..16) of one block, in order.
    fn q4k_values(b: &[u8]) -> [u8; QK_K] {
        let mut q = [0u8; QK_K];
        // Each 32 bytes hold 64 values: 32 in the low nibbles, the next 32 in the high.
        for (c, bytes) in b[16..16 + QK_K / 2].chunks_exact(32).enumerate() {
            for (j, &byte) in bytes.iter().enumerate() {
                q[64 * c + j] = byte & 0x0F;
                q[64 * c + 32 + j] = byte >> 4;
            }
        }
        q
    }

    /// Q6_K's 256 integer values (0..64, to be offset by −32) of one block, in order.
    fn q6k_values(b: &[u8]) -> [u8; QK_K] {
        let (ql, qh) = (&b[..128], &b[128..192]);
        let mut q = [0u8; QK_K];
        for half in 0..2 {
            let (ql, qh, q) = (&ql[64 * half..], &qh[32 * half..], &mut q[128 * half..]);
            for l in 0..32 {
                q[l] = (ql[l] & 0x0F) | ((qh[l] & 3) << 4);
                q[l + 32] = (ql[l + 32] & 0x0F) | (((qh[l] >> 2) & 3) << 4);
                q[l + 64] = (ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4);
                q[l + 96] = (ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4);
            }
        }
        q
    }

    /// The dequantized weights of one block (`q4k`: Q4_K, else Q6_K), as ggml's
    /// `dequantize_row_q4_K` / `…q6_K` compute them.
    pub(crate) fn block_values(q4k: bool, b: &[u8]) -> [f32; QK_K] {
        let mut v = [0f32; QK_K];
        if q4k {
            let (d, dmin) = (f16_at(b), f16_at(&b[2..]));
            let (sc, mn) = q4k_scales_mins(&b[4..16]);
            for (i, q) in q4k_values(b).iter().enumerate() {
                let s = i / 32;
                v[i] = d * sc[s] as f32 * *q as f32 - dmin * mn[s] as f32;
            }
        } else {
            let d = f16_at(&b[208..]);
            for (i, q) in q6k_values(b).iter().enumerate() {
                let scale = b[192 + i / 16] as i8;
                v[i] = d * scale as f32 * (*q as i32 - 32) as f32;
            }
        }
        v
    }

    /// The dot product of one weight row with one activation row as ggml defines it
    /// (integer sums per sub-block, scaled; accumulated in f64): what the SIMD kernels
    /// are tested against.
    pub(crate) fn dot_reference(q4k: bool, w: &[u8], ys: &[Q8KBlock]) -> f32 {
        let bb = if q4k { Q4K_BYTES } else { Q6K_BYTES };
        let mut sum = 0f64;
        for (b, y) in w.chunks_exact(bb).zip(ys) {
            if q4k {
                let (sc, mn) = q4k_scales_mins(&b[4..16]);
                let q = q4k_values(b);
                let (mut dot, mut mins) = (0i64, 0i64);
                for s in 0..8 {
                    let part: i64 = (32 * s..32 * s + 32)
                        .map(|j| q[j] as i64 * y.qs[j] as i64)
                        .sum();
                    dot += sc[s] as i64 * part;
                    mins += mn[s] as i64 * (y.bsums[2 * s] as i64 + y.bsums[2 * s + 1] as i64);
                }
                sum += f16_at(b) as f64 * y.d as f64 * dot as f64
                    - f16_at(&b[2..]) as f64 * y.d as f64 * mins as f64;
            } else {
                let q = q6k_values(b);
                let mut dot = 0i64;
                for s in 0..16 {
                    let part: i64 = (16 * s..16 * s + 16)
                        .map(|j| (q[j] as i64 - 32) * y.qs[j] as i64)
                        .sum();
                    dot += b[192 + s] as i8 as i64 * part;
                }
                sum += f16_at(&b[208..]) as f64 * y.d as f64 * dot as f64;
            }
        }
        sum as f32
    }
}

#[cfg(target_arch = "x86_64")]
// `i` is a block index into the weight row and every input row at once.
#[allow(clippy::needless_range_loop)]
pub(crate) mod avx2 {
    //! The kernels: one weight row (`ys[0].len()` blocks at `w`) against `R` activation
    //! rows; each block is unpacked once for the `R` rows, and each row's result is
    //! computed in the same order whatever `R` is.
    use std::arch::x86_64::*;

    use super::{Q8KBlock, Q4K_BYTES, Q6K_BYTES};
    use crate::candle::simd::{f16_at, hsum};

    #[inline(always)]
    unsafe fn load(p: *const i8) -> __m256i {
        _mm256_loadu_si256(p as *const __m256i)
    }

    /// Q4_K: value = d · scale[s] · q − dmin · min[s], q in 0..16, `s` per 32 values.
    #[target_feature(enable = "avx2,fma")]
    pub(crate) unsafe fn dot_q4_k<const R: usize>(w: *const u8, ys: [&[Q8KBlock]; R]) -> [f32; R] {
        const KMASK1: u32 = 0x3f3f3f3f;
        const KMASK2: u32 = 0x0f0f0f0f;
        const KMASK3: u32 = 0x03030303;
        let mut acc = [_mm256_setzero_ps(); R];
        let mut acc_m = [_mm_setzero_ps(); R];
        let m4 = _mm256_set1_epi8(0x0F);
        for i in 0..ys[0].len() {
            let p = w.add(i * Q4K_BYTES);
            let (d, dmin) = (f16_at(p), f16_at(p.add(2)));
            // The 12 bytes of 6-bit scales and minimums → scales 0..8, minimums 0..8
            // (ggml's shuffle of `get_scale_min_k4`).
            let mut u = [0u32; 4];
            std::ptr::copy_nonoverlapping(p.add(4), u.as_mut_ptr() as *mut u8, 12);
            u[3] = ((u[2] >> 4) & KMASK2) | (((u[1] >> 6) & KMASK3) << 4);
            let mins_lo = u[1] & KMASK1;
            u[1] = (u[2] & KMASK2) | (((u[0] >> 6) & KMASK3) << 4);
            u[2] = mins_lo;
            u[0] &= KMASK1;
            let mins = _mm_cvtepu8_epi16(_mm_loadl_epi64(u.as_ptr().add(2) as *const __m128i));
            let scales: [u8; 16] = std::mem::transmute(u);
            let q4 = p.add(16);
            let mut sumi = [_mm256_setzero_si256(); R];
            for j in 0..4 {
                let scale_l = _mm256_set1_epi16(scales[2 * j] as i16);
                let scale_h = _mm256_set1_epi16(scales[2 * j + 1] as i16);
                let bits = _mm256_loadu_si256(q4.add(32 * j) as *const __m256i);
                let q4l = _mm256_and_si256(bits, m4);
                let q4h = _mm256_and_si256(_mm256_srli_epi16(bits, 4), m4);
                for r in 0..R {
                    let q8 = ys[r][i].qs.as_ptr().add(64 * j);
                    // Unsigned nibbles × signed bytes: maddubs cannot saturate.
                    let l = _mm256_madd_epi16(scale_l, _mm256_maddubs_epi16(q4l, load(q8)));
                    let h = _mm256_madd_epi16(scale_h, _mm256_maddubs_epi16(q4h, load(q8.add(32))));
                    sumi[r] = _mm256_add_epi32(sumi[r], _mm256_add_epi32(l, h));
                }
            }
            for r in 0..R {
                let y = &ys[r][i];
                let bsums = _mm256_loadu_si256(y.bsums.as_ptr() as *const __m256i);
                // Sums of each 32 activations, one per minimum.
                let sums32 = _mm_hadd_epi16(
                    _mm256_castsi256_si128(bsums),
                    _mm256_extracti128_si256(bsums, 1),
                );
                let m = _mm_cvtepi32_ps(_mm_madd_epi16(mins, sums32));
                acc_m[r] = _mm_fmadd_ps(_mm_set1_ps(-dmin * y.d), m, acc_m[r]);
                acc[r] =
                    _mm256_fmadd_ps(_mm256_set1_ps(d * y.d), _mm256_cvtepi32_ps(sumi[r]), acc[r]);
            }
        }
        let mut out = [0f32; R];
        for r in 0..R {
            let m = _mm_add_ps(acc_m[r], _mm_movehl_ps(acc_m[r], acc_m[r]));
            let m = _mm_add_ss(m, _mm_movehdup_ps(m));
            out[r] = hsum(acc[r]) + _mm_cvtss_f32(m);
        }
        out
    }

    /// Q6_K: value = d · scale[s] · (q − 32), q in 0..64 (four bits in `ql`, two in
    /// `qh`), `s` per 16 values.
    #[target_feature(enable = "avx2,fma")]
    pub(crate) unsafe fn dot_q6_k<const R: usize>(w: *const u8, ys: [&[Q8KBlock]; R]) -> [f32; R] {
        let mut acc = [_mm256_setzero_ps(); R];
        let m4 = _mm256_set1_epi8(0x0F);
        let m2 = _mm256_set1_epi8(3);
        for i in 0..ys[0].len() {
            let p = w.add(i * Q6K_BYTES);
            let (ql, qh, sc) = (p, p.add(128), p.add(192) as *const i8);
            let d = f16_at(p.add(208));
            let mut sumi = [_mm256_setzero_si256(); R];
            for j in 0..2 {
                let bits1 = _mm256_loadu_si256(ql.add(64 * j) as *const __m256i);
                let bits2 = _mm256_loadu_si256(ql.add(64 * j + 32) as *const __m256i);
                let bits_h = _mm256_loadu_si256(qh.add(32 * j) as *const __m256i);
                let high = |shift: i32| {
                    let h = match shift {
                        0 => bits_h,
                        2 => _mm256_srli_epi16(bits_h, 2),
                        4 => _mm256_srli_epi16(bits_h, 4),
                        _ => _mm256_srli_epi16(bits_h, 6),
                    };
                    _mm256_slli_epi16(_mm256_and_si256(h, m2), 4)
                };
                // The 128 values of this half, 32 per vector, unsigned (q, not q − 32).
                let q = [
                    _mm256_or_si256(_mm256_and_si256(bits1, m4), high(0)),
                    _mm256_or_si256(_mm256_and_si256(bits2, m4), high(2)),
                    _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(bits1, 4), m4), high(4)),
                    _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(bits2, 4), m4), high(6)),
                ];
                // Each vector's two scales: the first for its first 16 values (the low
                // eight pair sums), the second for the next 16.
                let s = |k: usize| {
                    let a = _mm_set1_epi16(*sc.add(8 * j + 2 * k) as i16);
                    let b = _mm_set1_epi16(*sc.add(8 * j + 2 * k + 1) as i16);
                    _mm256_set_m128i(b, a)
                };
                let scales = [s(0), s(1), s(2), s(3)];
                for r in 0..R {
                    let q8 = ys[r][i].qs.as_ptr().add(128 * j);
                    for k in 0..4 {
                        // q < 64 and |y| ≤ 127: the pair sums fit in i16.
                        let prod = _mm256_maddubs_epi16(q[k], load(q8.add(32 * k)));
                        sumi[r] = _mm256_add_epi32(sumi[r], _mm256_madd_epi16(scales[k], prod));
                    }
                }
            }
            // The offset: Σ scale[s] · 32 · Σ y over each 16 values.
            let scales16 = _mm256_cvtepi8_epi16(_mm_loadu_si128(sc as *const __m128i));
            for r in 0..R {
                let y = &ys[r][i];
                let bsums = _mm256_loadu_si256(y.bsums.as_ptr() as *const __m256i);
                let offset = _mm256_slli_epi32(_mm256_madd_epi16(scales16, bsums), 5);
                let total = _mm256_sub_epi32(sumi[r], offset);
                acc[r] =
                    _mm256_fmadd_ps(_mm256_set1_ps(d * y.d), _mm256_cvtepi32_ps(total), acc[r]);
            }
        }
        let mut out = [0f32; R];
        for r in 0..R {
            out[r] = hsum(acc[r]);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::reference::{block_values, dot_reference};
    use super::*;
    use candle_core::quantized::{GgmlDType, QTensor};
    use candle_core::{Device, Tensor};
    use rand::{Rng, SeedableRng};

    fn random(n: usize, seed: u64) -> Vec<f32> {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        (0..n).map(|_| rng.gen_range(-1.0..1.0)).collect()
    }

    fn quantized(values: &[f32], dtype: GgmlDType) -> Vec<u8> {
        let t = Tensor::from_vec(values.to_vec(), (values.len() / QK_K, QK_K), &Device::Cpu);
        QTensor::quantize(&t.unwrap(), dtype)
            .unwrap()
            .data()
            .unwrap()
            .to_vec()
    }

    /// Our reading of the blocks equals candle's dequantization, bit for bit.
    #[test]
    fn blocks_read_as_candle_reads_them() {
        for (dtype, q4k, bb) in [
            (GgmlDType::Q4K, true, Q4K_BYTES),
            (GgmlDType::Q6K, false, Q6K_BYTES),
        ] {
            let values = random(4 * QK_K, 1);
            let data = quantized(&values, dtype);
            let ours: Vec<f32> = data
                .chunks_exact(bb)
                .flat_map(|b| block_values(q4k, b))
                .collect();
            let t = Tensor::from_vec(values, (4, QK_K), &Device::Cpu).unwrap();
            let theirs = QTensor::quantize(&t, dtype)
                .unwrap()
                .dequantize(&Device::Cpu)
                .unwrap();
            assert_eq!(
                ours,
                theirs.flatten_all().unwrap().to_vec1::<f32>().unwrap(),
                "{dtype:?}"
            );
        }
    }

    /// The 8-bit activations: the largest magnitude maps to ∓127, the rest within half
    /// a step, and `bsums` are the sums of each 16.
    #[test]
    fn activations_quantize_as_ggml_defines() {
        let mut x = random(2 * QK_K, 2);
        x[300] = 3.0;
        let mut blocks = Vec::new();
        quantize_row(&x, &mut blocks);
        assert_eq!(blocks[1].qs[300 - QK_K], -127);
        for (b, xs) in blocks.iter().zip(x.chunks(QK_K)) {
            for (q, v) in b.qs.iter().zip(xs) {
                assert!((*q as f32 * b.d - v).abs() <= b.d.abs() * 0.5001);
            }
            for s in 0..16 {
                let want: i32 = b.qs[16 * s..16 * s + 16].iter().map(|&q| q as i32).sum();
                assert_eq!(b.bsums[s] as i32, want);
            }
        }
        let mut zeros = Vec::new();
        quantize_row(&[0.0; QK_K], &mut zeros);
        assert_eq!(
            (zeros[0].d, zeros[0].qs, zeros[0].bsums),
            (0.0, [0; QK_K], [0; 16])
        );
    }

    /// The SIMD kernels against the definition, for one row and four at once.
    #[cfg(target_arch = "x86_64")]
    #[test]
    fn kernels_match_the_definition() {
        if !(is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma")) {
            eprintln!("no AVX2 and FMA here: the K-quant kernels are not used or tested");
            return;
        }
        let k = 3 * QK_K;
        for (dtype, q4k) in [(GgmlDType::Q4K, true), (GgmlDType::Q6K, false)] {
            let w = quantized(&random(k, 3), dtype);
            let rows: Vec<Vec<Q8KBlock>> = (0..4)
                .map(|r| {
                    let mut y = Vec::new();
                    quantize_row(&random(k, 10 + r), &mut y);
                    y
                })
                .collect();
            let want: Vec<f32> = rows.iter().map(|y| dot_reference(q4k, &w, y)).collect();
            let ys = [&rows[0][..], &rows[1], &rows[2], &rows[3]];
            // SAFETY: AVX2 and FMA are present, and `w` holds 3 blocks as each row does.
            let (four, one) = unsafe {
                if q4k {
                    (
                        avx2::dot_q4_k(w.as_ptr(), ys),
                        avx2::dot_q4_k(w.as_ptr(), [ys[2]]),
                    )
                } else {
                    (
                        avx2::dot_q6_k(w.as_ptr(), ys),
                        avx2::dot_q6_k(w.as_ptr(), [ys[2]]),
                    )
                }
            };
            assert_eq!(one[0].to_bits(), four[2].to_bits(), "{dtype:?}");
            for (got, want) in four.iter().zip(&want) {
                assert!(
                    (got - want).abs() <= 1e-5 * (1.0 + want.abs()),
                    "{dtype:?}: {got} vs {want}"
                );
            }
        }
    }
}
