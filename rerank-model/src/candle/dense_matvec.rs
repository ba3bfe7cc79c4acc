//! f32 weight × a few rows of activations: the products of decoding with dense
//! weights (`Weights::Dense`, and the f32 sampling of `rerank train`'s
//! `rollout.weights = "dense"`).
//!
//! candle's matmul hands `x · wᵀ` to the GEMM library with `wᵀ` as a strided view,
//! and the library packs that whole operand into its own layout, on one core, before
//! multiplying it by the one to sixteen rows of a decoding step: a SmolLM2 step of four
//! sequences spent over half its time packing 540 MB of weights. Here each output
//! column streams its weight row once for all activation rows (dot products with
//! sixteen running sums, which the compiler keeps in vector registers), the columns
//! spread over candle's CPU pool.
//!
//! Each output row depends on its own activation row only, summed in the same order
//! for any number of rows, so a sequence decodes the same numbers alone as in a
//! batch. Inference only (no backward pass): prompts and training keep the GEMM.

use candle_core::{CpuStorage, CustomOp2, Layout, Result, Shape, Tensor};

use super::parallel::for_each_piece;

/// `x · wᵀ` for `x` of shape `(m, k)` and `w` of shape `(n, k)` (f32, CPU).
pub(crate) fn matmul(x: &Tensor, w: &Tensor) -> Result<Tensor> {
    x.contiguous()?
        .apply_op2_no_bwd(&w.contiguous()?, &DenseRows)
}

struct DenseRows;

impl CustomOp2 for DenseRows {
    fn name(&self) -> &'static str {
        "dense-rows"
    }

    fn cpu_fwd(
        &self,
        xs: &CpuStorage,
        xl: &Layout,
        ws: &CpuStorage,
        wl: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let (m, k) = xl.shape().dims2()?;
        let (n, wk) = wl.shape().dims2()?;
        if k != wk || !xl.is_contiguous() || !wl.is_contiguous() {
            candle_core::bail!("dense-rows: shapes {:?} {:?}", xl.shape(), wl.shape());
        }
        let x = &xs.as_slice::<f32>()?[xl.start_offset()..][..m * k];
        let w = &ws.as_slice::<f32>()?[wl.start_offset()..][..n * k];
        // Column by column (each column's `m` values together, so a weight row is read
        // once for all activation rows), then laid out row by row.
        let mut cols = vec![0f32; n * m];
        for_each_piece(&mut cols, m, |c, out| {
            let wc = &w[c * k..(c + 1) * k];
            for (r, o) in out.iter_mut().enumerate() {
                *o = dot(wc, &x[r * k..(r + 1) * k]);
            }
        });
        let out = if m == 1 {
            cols
        } else {
            (0..m * n).map(|i| cols[(i % n) * m + i / n]).collect()
        };
        Ok((CpuStorage::F32(out), Shape::from((m, n))))
    }
}

/// A dot product with sixteen running sums, in a fixed order, each a fused
/// multiply-add (the decode attention's `dot` rounds each product instead, and its
/// results are pinned by the end-to-end runs, so the two are kept apart).
#[inline(always)]
fn dot(a: &[f32], b: &[f32]) -> f32 {
    const L: usize = 16;
    let mut acc = [0f32; L];
    let (ac, bc) = (a.chunks_exact(L), b.chunks_exact(L));
    let tail: f32 = ac
        .remainder()
        .iter()
        .zip(bc.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (x, y) in ac.zip(bc) {
        for l in 0..L {
            acc[l] = x[l].mul_add(y[l], acc[l]);
        }
    }
    acc.iter().sum::<f32>() + tail
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;
    use rand::{Rng, SeedableRng};

    fn random(rows: usize, cols: usize, seed: u64) -> Tensor {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let v: Vec<f32> = (0..rows * cols).map(|_| rng.gen_range(-1.0..1.0)).collect();
        Tensor::from_vec(v, (rows, cols), &Device::Cpu).unwrap()
    }

    #[test]
    fn equals_the_gemm_and_rows_are_independent() {
        for (m, n, k) in [(1, 37, 70), (4, 300, 576), (7, 64, 16)] {
            let (x, w) = (random(m, k, 1), random(n, k, 2));
            let got = matmul(&x, &w).unwrap();
            let want = x.matmul(&w.t().unwrap()).unwrap();
            let diff = (&got - &want)
                .unwrap()
                .abs()
                .unwrap()
                .flatten_all()
                .unwrap()
                .max(0)
                .unwrap()
                .to_scalar::<f32>()
                .unwrap();
            assert!(diff < 1e-4, "{m}x{k} · {n}x{k}: {diff}");
            let rows: Vec<Vec<f32>> = got.to_vec2().unwrap();
            for (r, row) in rows.iter().enumerate() {
                let one = matmul(&x.narrow(0, r, 1).unwrap(), &w).unwrap();
                assert_eq!(&one.to_vec2::<f32>().unwrap()[0], row, "row {r}");
            }
        }
    }
}
