//! Quantized weight × a few rows of activations: the products of decoding.
//!
//! While generating, every projection multiplies a quantized weight by one row per
//! sequence. candle's quantized product does this with per-block dot products whose
//! x86 SIMD versions cover Q4_0, Q8_0 and the K-quants only; the Q4_1 and Q5_0 weights
//! of the default models (SmolLM2-135M is Q4_1 throughout, Qwen2.5-0.5B's Q4_K_M file
//! is mostly Q5_0, since llama.cpp falls back from K-quants for rows of 576 or 896)
//! went through a scalar loop, which took about half of all decoding time.
//!
//! Here are AVX2 dot products for Q4_1, Q5_0 and Q8_0 weights, written after ggml's
//! (`ggml_vec_dot_q4_1_q8_1`, `…q5_0_q8_0`, `…q8_0_q8_0`): each activation row is
//! quantized to 8 bits in blocks of 32 exactly as ggml's reference `quantize_row_q8_0`
//! / `q8_1` do (scale rounded to f16), integer products are summed exactly, and the
//! per-block scales are accumulated in eight f32 lanes. Work is split over output
//! columns on candle's own thread pool ([`super::parallel`]).
//!
//! Each output row depends on its own activation row only, with the same summation
//! order for any number of rows, so a sequence computes the same numbers alone as in a
//! batch. Other types, other devices and machines without AVX2 keep candle's product.
#![allow(unsafe_code)]

use candle_core::quantized::{GgmlDType, QTensor};
use candle_core::{Device, Result, Tensor};
use half::f16;

use super::kquant_dot::{self, Q8KBlock};
use super::parallel::for_each_piece;

/// Values per quantization block (all types here).
const QK: usize = 32;

/// The weight types with a kernel here.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Q4_1,
    Q5_0,
    Q8_0,
    Q4K,
    Q6K,
}

impl Kind {
    fn of(dtype: GgmlDType) -> Option<Kind> {
        match dtype {
            GgmlDType::Q4_1 => Some(Kind::Q4_1),
            GgmlDType::Q5_0 => Some(Kind::Q5_0),
            GgmlDType::Q8_0 => Some(Kind::Q8_0),
            GgmlDType::Q4K => Some(Kind::Q4K),
            GgmlDType::Q6K => Some(Kind::Q6K),
            _ => None,
        }
    }

    /// Values per block: 32, or 256 for the K-quants' super-blocks.
    fn values(self) -> usize {
        match self {
            Kind::Q4_1 | Kind::Q5_0 | Kind::Q8_0 => QK,
            Kind::Q4K | Kind::Q6K => kquant_dot::QK_K,
        }
    }

    /// Bytes per block in ggml's layout: `{d: f16, m: f16, qs: [u8; 16]}`,
    /// `{d: f16, qh: [u8; 4], qs: [u8; 16]}`, `{d: f16, qs: [i8; 32]}`, and the
    /// K-quants' super-blocks ([`kquant_dot`]).
    fn block_bytes(self) -> usize {
        match self {
            Kind::Q4_1 => 20,
            Kind::Q5_0 => 22,
            Kind::Q8_0 => 34,
            Kind::Q4K => kquant_dot::Q4K_BYTES,
            Kind::Q6K => kquant_dot::Q6K_BYTES,
        }
    }
}

/// A format of quantized activation rows and the kernels that take it: blocks of 32
/// ([`Q8Block`], for Q4_1, Q5_0 and Q8_0 weights) or 256 ([`Q8KBlock`], for the
/// K-quants).
trait Activations: Copy + Send + Sync {
    /// Values per block.
    const VALUES: usize;
    /// Appends the blocks of `x` (a multiple of [`Self::VALUES`] long).
    fn quantize_row(x: &[f32], out: &mut Vec<Self>);
    /// One weight row (`ys[r].len()` blocks of `kind`, in `w`) against `R` activation
    /// rows. Each row's result is computed with the same operations in the same order
    /// whatever `R` is, so a row gives the same bits alone as in a group.
    fn dot_rows<const R: usize>(kind: Kind, w: &[u8], ys: [&[Self]; R]) -> [f32; R];
}

/// One block of 32 activations quantized to 8 bits: scale `d` (an f16 value), `s` =
/// `d · Σ qs` (an f16 value, used by Q4_1's offset), and the values.
#[derive(Clone, Copy)]
#[repr(C)]
struct Q8Block {
    d: f32,
    s: f32,
    qs: [i8; QK],
}

/// Quantizes `x` (a multiple of 32 long) as ggml's `quantize_row_q8_1_ref` does (its
/// `q8_0` is the same without `s`).
fn quantize_row(x: &[f32], out: &mut Vec<Q8Block>) {
    for chunk in x.chunks_exact(QK) {
        let amax = chunk.iter().fold(0f32, |a, v| a.max(v.abs()));
        let d = amax / 127.0;
        let id = if d != 0.0 { 1.0 / d } else { 0.0 };
        let mut qs = [0i8; QK];
        let mut sum = 0i32;
        for (q, v) in qs.iter_mut().zip(chunk) {
            *q = (v * id).round() as i8;
            sum += *q as i32;
        }
        out.push(Q8Block {
            d: f16::from_f32(d).to_f32(),
            s: f16::from_f32(sum as f32 * d).to_f32(),
            qs,
        });
    }
}

fn has_avx2() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// `x · wᵀ` for `x` of shape `(m, k)` and a quantized `w` of shape `(n, k)`, or `None`
/// when there is no kernel here for this weight type, device or processor (the caller
/// then uses candle's product).
pub(crate) fn matmul(w: &QTensor, x: &Tensor) -> Result<Option<Tensor>> {
    matmul_on(w, x, has_avx2())
}

/// [`matmul`] as on a processor with (`avx2`) or without AVX2 and FMA; tests run
/// both paths on any machine that has them.
fn matmul_on(w: &QTensor, x: &Tensor, avx2: bool) -> Result<Option<Tensor>> {
    let Some(kind) = Kind::of(w.dtype()) else {
        return Ok(None);
    };
    if !avx2 || !matches!(w.device(), Device::Cpu) || !x.device().is_cpu() {
        return Ok(None);
    }
    match kind {
        Kind::Q4_1 | Kind::Q5_0 | Kind::Q8_0 => products::<Q8Block>(kind, w, x),
        Kind::Q4K | Kind::Q6K => products::<Q8KBlock>(kind, w, x),
    }
}

/// [`matmul_on`] for a kind whose kernels take activations `A`.
fn products<A: Activations>(kind: Kind, w: &QTensor, x: &Tensor) -> Result<Option<Tensor>> {
    let (n, k) = w.shape().dims2()?;
    let (m, xk) = x.dims2()?;
    if xk != k || k % A::VALUES != 0 {
        return Ok(None);
    }
    debug_assert_eq!(A::VALUES, kind.values());
    let nb = k / A::VALUES;
    let xs = x.contiguous()?.flatten_all()?.to_vec1::<f32>()?;
    let mut ys = Vec::with_capacity(m * nb);
    for row in xs.chunks_exact(k) {
        A::quantize_row(row, &mut ys);
    }
    let data = w.data()?;
    let bb = kind.block_bytes();
    if data.len() != n * nb * bb {
        return Ok(None);
    }
    // Computed column by column (each column's `m` values together, so a weight row
    // is read once for all activation rows), then laid out row by row.
    let mut cols = vec![0f32; n * m];
    let data: &[u8] = &data;
    let ys = &ys;
    for_each_piece(&mut cols, m, |c, out| {
        let wc = &data[c * nb * bb..(c + 1) * nb * bb];
        // Rows four at a time: each weight block is unpacked once for the four.
        let row = |r: usize| &ys[r * nb..(r + 1) * nb];
        let mut r = 0;
        while r + ROWS <= m {
            out[r..r + ROWS].copy_from_slice(&A::dot_rows(
                kind,
                wc,
                [row(r), row(r + 1), row(r + 2), row(r + 3)],
            ));
            r += ROWS;
        }
        for (i, o) in out[r..].iter_mut().enumerate() {
            *o = A::dot_rows(kind, wc, [row(r + i)])[0];
        }
    });
    let out = if m == 1 {
        cols
    } else {
        let mut out = vec![0f32; m * n];
        for (c, col) in cols.chunks_exact(m).enumerate() {
            for (r, &v) in col.iter().enumerate() {
                out[r * n + c] = v;
            }
        }
        out
    };
    Tensor::from_vec(out, (m, n), &Device::Cpu).map(Some)
}

/// Activation rows a weight block is unpacked for at once.
const ROWS: usize = 4;

/// Panics unless `w` holds exactly as many blocks of `kind` as each row of `ys` has:
/// what makes the kernels' reads safe.
fn check_blocks<A>(kind: Kind, w: &[u8], ys: &[&[A]]) {
    for y in ys {
        assert_eq!(w.len(), y.len() * kind.block_bytes());
    }
}

impl Activations for Q8Block {
    const VALUES: usize = QK;

    fn quantize_row(x: &[f32], out: &mut Vec<Self>) {
        quantize_row(x, out)
    }

    fn dot_rows<const R: usize>(kind: Kind, w: &[u8], ys: [&[Self]; R]) -> [f32; R] {
        check_blocks(kind, w, &ys);
        // SAFETY: `matmul` calls this only after detecting AVX2 and FMA, and
        // `check_blocks` keeps every block read inside `w` and every row as long as
        // the others.
        #[cfg(target_arch = "x86_64")]
        return unsafe {
            match kind {
                Kind::Q4_1 => avx2::dot_q4_1(w.as_ptr(), ys),
                Kind::Q5_0 => avx2::dot_q5_0(w.as_ptr(), ys),
                Kind::Q8_0 => avx2::dot_q8_0(w.as_ptr(), ys),
                Kind::Q4K | Kind::Q6K => unreachable!("K-quants take Q8KBlock activations"),
            }
        };
        #[cfg(not(target_arch = "x86_64"))]
        return ys.map(|y| scalar::dot(kind, w, y));
    }
}

impl Activations for Q8KBlock {
    const VALUES: usize = kquant_dot::QK_K;

    fn quantize_row(x: &[f32], out: &mut Vec<Self>) {
        kquant_dot::quantize_row(x, out)
    }

    fn dot_rows<const R: usize>(kind: Kind, w: &[u8], ys: [&[Self]; R]) -> [f32; R] {
        check_blocks(kind, w, &ys);
        // SAFETY: as for `Q8Block`.
        #[cfg(target_arch = "x86_64")]
        return unsafe {
            match kind {
                Kind::Q4K => kquant_dot::avx2::dot_q4_k(w.as_ptr(), ys),
                Kind::Q6K => kquant_dot::avx2::dot_q6_k(w.as_ptr(), ys),
                _ => unreachable!("{kind:?} takes Q8Block activations"),
            }
        };
        #[cfg(not(target_arch = "x86_64"))]
        return ys.map(|y| kquant_dot::reference::dot_reference(kind == Kind::Q4K, w, y));
    }
}

#[cfg(target_arch = "x86_64")]
// `i` is a block index into the weight row and every input row at once.
#[allow(clippy::needless_range_loop)]
mod avx2 {
    //! The kernels. Each reads `ys.len()` blocks from `w`.
    use std::arch::x86_64::*;

    use super::Q8Block;
    use crate::candle::simd::{f16_at, hsum};

    /// 16 bytes of packed nibbles → 32 bytes: low nibbles (values 0..16), then high.
    #[inline(always)]
    unsafe fn nibbles(p: *const u8) -> __m256i {
        let q = _mm_loadu_si128(p as *const __m128i);
        let mask = _mm_set1_epi8(0x0F);
        let lo = _mm_and_si128(q, mask);
        let hi = _mm_and_si128(_mm_srli_epi16(q, 4), mask);
        _mm256_set_m128i(hi, lo)
    }

    /// Byte `j` is 0xFF where bit `j` of `bits` is set (ggml's `bytes_from_bits_32`).
    #[inline(always)]
    unsafe fn bytes_from_bits(bits: u32) -> __m256i {
        let shuf = _mm256_set_epi64x(
            0x0303030303030303,
            0x0202020202020202,
            0x0101010101010101,
            0,
        );
        let bytes = _mm256_shuffle_epi8(_mm256_set1_epi32(bits as i32), shuf);
        let bytes = _mm256_or_si256(bytes, _mm256_set1_epi64x(0x7fbfdfeff7fbfdfe));
        _mm256_cmpeq_epi8(bytes, _mm256_set1_epi64x(-1))
    }

    /// Pairwise sums of signed × signed bytes, as eight f32 (exact integers).
    #[inline(always)]
    unsafe fn mul_sum_i8(x: __m256i, y: __m256i) -> __m256 {
        let ax = _mm256_sign_epi8(x, x);
        let sy = _mm256_sign_epi8(y, x);
        let dot = _mm256_maddubs_epi16(ax, sy);
        _mm256_cvtepi32_ps(_mm256_madd_epi16(dot, _mm256_set1_epi16(1)))
    }

    #[inline(always)]
    unsafe fn load_y(b: &Q8Block) -> __m256i {
        _mm256_loadu_si256(b.qs.as_ptr() as *const __m256i)
    }

    /// Q4_1: value = d · q + m, q in 0..16. Each block's nibbles are unpacked once for
    /// the `R` rows.
    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn dot_q4_1<const R: usize>(w: *const u8, ys: [&[Q8Block]; R]) -> [f32; R] {
        let mut acc = [_mm256_setzero_ps(); R];
        let mut offsets = [0f32; R];
        let ones = _mm256_set1_epi16(1);
        for i in 0..ys[0].len() {
            let p = w.add(i * 20);
            let (d, m) = (f16_at(p), f16_at(p.add(2)));
            let q = nibbles(p.add(4));
            for r in 0..R {
                let y = &ys[r][i];
                // Unsigned nibbles × signed bytes: maddubs cannot saturate (2·15·128).
                let s = _mm256_madd_epi16(_mm256_maddubs_epi16(q, load_y(y)), ones);
                acc[r] = _mm256_fmadd_ps(_mm256_set1_ps(d * y.d), _mm256_cvtepi32_ps(s), acc[r]);
                offsets[r] += m * y.s;
            }
        }
        let mut out = [0f32; R];
        for r in 0..R {
            out[r] = hsum(acc[r]) + offsets[r];
        }
        out
    }

    /// Q5_0: value = d · (q − 16), q in 0..32 (low four bits packed, fifth in `qh`).
    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn dot_q5_0<const R: usize>(w: *const u8, ys: [&[Q8Block]; R]) -> [f32; R] {
        let mut acc = [_mm256_setzero_ps(); R];
        let high = _mm256_set1_epi8(0xF0u8 as i8);
        for i in 0..ys[0].len() {
            let p = w.add(i * 22);
            let d = f16_at(p);
            let qh = u32::from_le_bytes([*p.add(2), *p.add(3), *p.add(4), *p.add(5)]);
            // Where the fifth bit is clear the value is q − 16 < 0: set the high nibble.
            let neg = _mm256_andnot_si256(bytes_from_bits(qh), high);
            let qx = _mm256_or_si256(nibbles(p.add(6)), neg);
            for r in 0..R {
                let y = &ys[r][i];
                acc[r] =
                    _mm256_fmadd_ps(_mm256_set1_ps(d * y.d), mul_sum_i8(qx, load_y(y)), acc[r]);
            }
        }
        let mut out = [0f32; R];
        for r in 0..R {
            out[r] = hsum(acc[r]);
        }
        out
    }

    /// Q8_0: value = d · q.
    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn dot_q8_0<const R: usize>(w: *const u8, ys: [&[Q8Block]; R]) -> [f32; R] {
        let mut acc = [_mm256_setzero_ps(); R];
        for i in 0..ys[0].len() {
            let p = w.add(i * 34);
            let d = f16_at(p);
            let qx = _mm256_loadu_si256(p.add(2) as *const __m256i);
            for r in 0..R {
                let y = &ys[r][i];
                acc[r] =
                    _mm256_fmadd_ps(_mm256_set1_ps(d * y.d), mul_sum_i8(qx, load_y(y)), acc[r]);
            }
        }
        let mut out = [0f32; R];
        for r in 0..R {
            out[r] = hsum(acc[r]);
        }
        out
    }
}

/// Plain versions of the kernels: the definition the SIMD ones are tested against
/// (and the path on other processors, where `matmul` is not used today).
#[cfg_attr(target_arch = "x86_64", allow(dead_code))]
mod scalar {
    use super::{Kind, Q8Block, QK};

    fn f16_at(b: &[u8]) -> f32 {
        half::f16::from_bits(u16::from_le_bytes([b[0], b[1]])).to_f32()
    }

    /// The dequantized weights of one block.
    pub(super) fn block_values(kind: Kind, b: &[u8]) -> [f32; QK] {
        let mut v = [0f32; QK];
        match kind {
            Kind::Q4_1 => {
                let (d, m) = (f16_at(b), f16_at(&b[2..]));
                for j in 0..QK / 2 {
                    v[j] = d * (b[4 + j] & 0x0F) as f32 + m;
                    v[j + QK / 2] = d * (b[4 + j] >> 4) as f32 + m;
                }
            }
            Kind::Q5_0 => {
                let d = f16_at(b);
                let qh = u32::from_le_bytes([b[2], b[3], b[4], b[5]]);
                for j in 0..QK / 2 {
                    let lo = (b[6 + j] & 0x0F) as u32 | ((qh >> j) & 1) << 4;
                    let hi = (b[6 + j] >> 4) as u32 | ((qh >> (j + 16)) & 1) << 4;
                    v[j] = d * (lo as f32 - 16.0);
                    v[j + QK / 2] = d * (hi as f32 - 16.0);
                }
            }
            Kind::Q8_0 => {
                let d = f16_at(b);
                for j in 0..QK {
                    v[j] = d * (b[2 + j] as i8) as f32;
                }
            }
            Kind::Q4K | Kind::Q6K => {
                unreachable!("K-quants: see kquant_dot::reference::block_values")
            }
        }
        v
    }

    /// The blocks' dot products as ggml defines them: integer sums of quantized
    /// values, scaled, plus Q4_1's offset `m · s`; accumulated in f64.
    pub(super) fn dot(kind: Kind, w: &[u8], ys: &[Q8Block]) -> f32 {
        let bb = kind.block_bytes();
        let mut sum = 0f64;
        for (i, y) in ys.iter().enumerate() {
            let b = &w[i * bb..(i + 1) * bb];
            let d = f16_at(b) as f64 * y.d as f64;
            // Integer weights of the block: the values divided by the scale d.
            let (q, offset): ([i32; QK], f64) = match kind {
                Kind::Q4_1 => {
                    let mut q = [0; QK];
                    for j in 0..QK / 2 {
                        q[j] = (b[4 + j] & 0x0F) as i32;
                        q[j + QK / 2] = (b[4 + j] >> 4) as i32;
                    }
                    (q, f16_at(&b[2..]) as f64 * y.s as f64)
                }
                Kind::Q5_0 => {
                    let qh = u32::from_le_bytes([b[2], b[3], b[4], b[5]]);
                    let mut q = [0; QK];
                    for j in 0..QK / 2 {
                        q[j] = ((b[6 + j] & 0x0F) as u32 | ((qh >> j) & 1) << 4) as i32 - 16;
                        q[j + QK / 2] =
                            ((b[6 + j] >> 4) as u32 | ((qh >> (j + 16)) & 1) << 4) as i32 - 16;
                    }
                    (q, 0.0)
                }
                Kind::Q8_0 => {
                    let mut q = [0; QK];
                    for j in 0..QK {
                        q[j] = b[2 + j] as i8 as i32;
                    }
                    (q, 0.0)
                }
                Kind::Q4K | Kind::Q6K => {
                    unreachable!("K-quants: see kquant_dot::reference::dot_reference")
                }
            };
            let dot: i32 = q.iter().zip(&y.qs).map(|(a, b)| a * *b as i32).sum();
            sum += d * dot as f64 + offset;
        }
        sum as f32
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::quantized::QTensor;
    use candle_core::Module;
    use rand::{Rng, SeedableRng};
    use std::sync::Arc;

    fn random(rows: usize, cols: usize, seed: u64) -> Tensor {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let v: Vec<f32> = (0..rows * cols).map(|_| rng.gen_range(-1.0..1.0)).collect();
        Tensor::from_vec(v, (rows, cols), &Device::Cpu).unwrap()
    }

    /// What the decoder's product computes with these weights on a processor with or
    /// without AVX2: this module's kernel, or (where it declines) candle's quantized
    /// product, which `Linear` falls back to.
    fn product(w: &Arc<QTensor>, x: &Tensor, avx2: bool) -> Vec<Vec<f32>> {
        let y = match matmul_on(w, x, avx2).unwrap() {
            Some(y) => {
                assert!(avx2, "a kernel ran without AVX2");
                y
            }
            None => {
                assert!(!avx2, "{:?} declined with AVX2", w.dtype());
                candle_core::quantized::QMatMul::from_arc(w.clone())
                    .unwrap()
                    .forward(x)
                    .unwrap()
            }
        };
        y.to_vec2::<f32>().unwrap()
    }

    /// The paths this machine can run: always the fallback, and ours with AVX2.
    fn paths() -> Vec<bool> {
        if has_avx2() {
            vec![true, false]
        } else {
            eprintln!("no AVX2 and FMA here: only the fallback path is tested");
            vec![false]
        }
    }

    const TYPES: [GgmlDType; 5] = [
        GgmlDType::Q4_1,
        GgmlDType::Q5_0,
        GgmlDType::Q8_0,
        GgmlDType::Q4K,
        GgmlDType::Q6K,
    ];

    /// Values per weight block of `dtype` (and per activation block its kernel takes).
    fn block_len(dtype: GgmlDType) -> usize {
        Kind::of(dtype).unwrap().values()
    }

    /// The plain definition of one output: weight row `w` (its blocks' bytes) against
    /// activation row `x`, quantized as the kernel for `kind` quantizes it.
    fn definition(kind: Kind, w: &[u8], x: &[f32]) -> f32 {
        match kind {
            Kind::Q4K | Kind::Q6K => {
                let mut ys = Vec::new();
                kquant_dot::quantize_row(x, &mut ys);
                kquant_dot::reference::dot_reference(kind == Kind::Q4K, w, &ys)
            }
            _ => {
                let mut ys = Vec::new();
                quantize_row(x, &mut ys);
                scalar::dot(kind, w, &ys)
            }
        }
    }

    /// Each kernel against the plain definition, over random weights of each type;
    /// without AVX2 the kernels decline, so that candle's product is used.
    #[test]
    fn kernels_match_their_definition() {
        for dtype in TYPES {
            let (n, k, m) = (37, 5 * block_len(dtype), 6);
            let w = Arc::new(QTensor::quantize(&random(n, k, 1), dtype).unwrap());
            let x = random(m, k, 2);
            assert!(matmul_on(&w, &x, false).unwrap().is_none(), "{dtype:?}");
            if !has_avx2() {
                continue;
            }
            let got = product(&w, &x, true);
            let xs = x.to_vec2::<f32>().unwrap();
            let data = w.data().unwrap();
            let kind = Kind::of(dtype).unwrap();
            let bb = kind.block_bytes() * (k / block_len(dtype));
            for r in 0..m {
                for c in 0..n {
                    let want = definition(kind, &data[c * bb..(c + 1) * bb], &xs[r]);
                    let diff = (got[r][c] - want).abs();
                    assert!(
                        diff <= 1e-4 * (1.0 + want.abs()),
                        "{dtype:?} [{r},{c}]: {} vs {want}",
                        got[r][c]
                    );
                }
            }
        }
    }

    /// Either path stays close to the exact product with the dequantized weights (the
    /// only error is the 8-bit activations, which candle's product rounds the same
    /// way), and the plain dequantization agrees with candle's.
    #[test]
    fn close_to_dequantized_product() {
        for dtype in TYPES {
            let len = block_len(dtype);
            let (n, k, m) = (64, 2 * kquant_dot::QK_K, 2);
            let w = Arc::new(QTensor::quantize(&random(n, k, 3), dtype).unwrap());
            let deq = w.dequantize(&Device::Cpu).unwrap();
            let kind = Kind::of(dtype).unwrap();
            let data = w.data().unwrap();
            let ours: Vec<f32> = match kind {
                Kind::Q4K | Kind::Q6K => data
                    .chunks_exact(kind.block_bytes())
                    .flat_map(|b| kquant_dot::reference::block_values(kind == Kind::Q4K, b))
                    .collect(),
                _ => data
                    .chunks_exact(kind.block_bytes())
                    .flat_map(|b| scalar::block_values(kind, b))
                    .collect(),
            };
            assert_eq!(
                ours,
                deq.flatten_all().unwrap().to_vec1::<f32>().unwrap(),
                "{dtype:?}"
            );
            let x = random(m, k, 4);
            let exact = x
                .matmul(&deq.t().unwrap())
                .unwrap()
                .to_vec2::<f32>()
                .unwrap();
            let (xs, ws) = (x.to_vec2::<f32>().unwrap(), deq.to_vec2::<f32>().unwrap());
            for avx2 in paths() {
                let got = product(&w, &x, avx2);
                for r in 0..m {
                    for c in 0..n {
                        // Bound on the error: each activation is off by at most half
                        // a step (amax / 254) of its block, and the f16 scales (and
                        // Q4_1's f16 block sum) by a relative 2⁻¹¹.
                        let mut bound = 0f32;
                        for (xb, wb) in xs[r].chunks(len).zip(ws[c].chunks(len)) {
                            let amax = xb.iter().fold(0f32, |a, v| a.max(v.abs()));
                            let wmax = wb.iter().fold(0f32, |a, v| a.max(v.abs()));
                            for (xv, wv) in xb.iter().zip(wb) {
                                bound +=
                                    wv.abs() * amax / 254.0 + 1e-3 * xv.abs() * (wv.abs() + wmax);
                            }
                        }
                        let diff = (got[r][c] - exact[r][c]).abs();
                        assert!(
                            diff <= bound,
                            "{dtype:?} avx2={avx2} [{r},{c}]: {} vs {} (bound {bound})",
                            got[r][c],
                            exact[r][c]
                        );
                    }
                }
            }
        }
    }

    /// On either path a row gives the same bits alone as in a batch of rows.
    #[test]
    fn rows_are_independent() {
        for dtype in TYPES {
            let (n, k) = (300, 2 * kquant_dot::QK_K);
            let w = Arc::new(QTensor::quantize(&random(n, k, 5), dtype).unwrap());
            let x = random(5, k, 6);
            for avx2 in paths() {
                let all = product(&w, &x, avx2);
                for (r, row) in all.iter().enumerate() {
                    let one = product(&w, &x.narrow(0, r, 1).unwrap(), avx2);
                    assert_eq!(&one[0], row, "{dtype:?} avx2={avx2} row {r}");
                }
            }
        }
    }

    #[test]
    fn other_types_are_left_to_candle() {
        let w = QTensor::quantize(&random(8, 256, 7), GgmlDType::Q5K).unwrap();
        assert!(matmul(&w, &random(1, 256, 8)).unwrap().is_none());
    }
}
