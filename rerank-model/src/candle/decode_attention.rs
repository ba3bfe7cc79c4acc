//! Attention of one new token over its sequence's cache: the attention of decoding.
//!
//! Done as two batched GEMMs (`q·Kᵀ`, then `p·V`), a decoding step spent most of its
//! attention time in the GEMM library packing the cached keys and values into its own
//! layout, on one core, only to multiply them by a few query rows: for SmolLM2 with a
//! 1,600-token window that was a fifth of all decoding time. Here the query heads read
//! their group's keys and values straight from the cache, and the work is spread over
//! candle's CPU pool.
//!
//! A whole batch of sequences (one new token each) goes in one call
//! ([`decode_attention_batch`]): one piece of work per sequence and key/value head,
//! spread over the pool at once (instead of a call, and a wait for the pool, per
//! sequence and layer), each piece reading its group's cached keys and values once for
//! all the query heads that share them. When that makes fewer pieces than the pool has
//! threads (one sequence of a model with two key/value heads, on eight cores), each
//! query head is a piece instead. Every head's numbers are computed with the same
//! operations in the same order either way, so a sequence gives the same bits alone as
//! in a batch.
//!
//! Inference only (no backward pass): the differentiable decoder keeps the GEMM form.

use candle_core::{CpuStorage, Device, Layout, Result, Storage, Tensor};

use super::exp::exp;
use super::parallel::for_each_piece;

/// `softmax(q·Kᵀ · scale)·V` for `q` of shape `(1, heads, 1, head_dim)` and the cache's
/// keys and values `(1, kv_heads, keys, head_dim)` (views of the cache buffers: rows
/// of one head contiguous), heads grouped `heads / kv_heads` to a key/value head.
pub(crate) fn decode_attention(q: &Tensor, k: &Tensor, v: &Tensor, scale: f32) -> Result<Tensor> {
    let mut out = decode_attention_batch(&[(q.clone(), k.clone(), v.clone())], scale)?;
    Ok(out.pop().expect("one sequence in, one out"))
}

/// [`decode_attention`] for several sequences at once: `items[s]` is sequence `s`'s
/// `(q, k, v)` with the shapes `decode_attention` takes (each its own number of keys).
/// Returns each sequence's output `(1, heads, 1, head_dim)`.
pub(crate) fn decode_attention_batch(
    items: &[(Tensor, Tensor, Tensor)],
    scale: f32,
) -> Result<Vec<Tensor>> {
    struct Seq<'a> {
        q: &'a [f32],
        k: &'a [f32],
        v: &'a [f32],
        k_head: usize,
        v_head: usize,
        keys: usize,
    }
    let Some((q0, k0, _)) = items.first() else {
        return Ok(Vec::new());
    };
    let (_, h, _, hd) = q0.dims4()?;
    let kvh = k0.dim(1)?;
    if h % kvh != 0 {
        candle_core::bail!("decode-attention: {h} heads, {kvh} key/value heads");
    }
    let rep = h / kvh;
    let qs: Vec<Tensor> = items
        .iter()
        .map(|(q, _, _)| q.contiguous())
        .collect::<Result<_>>()?;
    // Read guards on every buffer for the whole computation.
    let guards: Vec<_> = items
        .iter()
        .zip(&qs)
        .map(|((_, k, v), q)| {
            (
                q.storage_and_layout(),
                k.storage_and_layout(),
                v.storage_and_layout(),
            )
        })
        .collect();
    let mut seqs = Vec::with_capacity(items.len());
    for ((qg, ql), (kg, kl), (vg, vl)) in &guards {
        let (_, qh, one, qhd) = ql.shape().dims4()?;
        let (_, kh, keys, khd) = kl.shape().dims4()?;
        let rows_ok = |l: &Layout| l.stride()[3] == 1 && l.stride()[2] == hd;
        if (qh, one, qhd, kh, khd) != (h, 1, hd, kvh, hd)
            || vl.shape() != kl.shape()
            || keys == 0
            || !ql.is_contiguous()
            || !rows_ok(kl)
            || !rows_ok(vl)
        {
            candle_core::bail!(
                "decode-attention: shapes {:?} {:?} {:?}",
                ql.shape(),
                kl.shape(),
                vl.shape()
            );
        }
        seqs.push(Seq {
            q: cpu_f32(qg, ql)?,
            k: cpu_f32(kg, kl)?,
            v: cpu_f32(vg, vl)?,
            k_head: kl.stride()[1],
            v_head: vl.stride()[1],
            keys,
        });
    }
    // Heads per piece: a key/value group's, unless that leaves threads idle.
    let per_piece = if items.len() * kvh >= candle_core::utils::get_num_threads() {
        rep
    } else {
        1
    };
    let pieces_per_seq = h / per_piece;
    let mut out = vec![0f32; items.len() * h * hd];
    for_each_piece(&mut out, per_piece * hd, |piece, o| {
        let (s, first) = (piece / pieces_per_seq, piece % pieces_per_seq * per_piece);
        let seq = &seqs[s];
        let g = first / rep;
        attend_heads(
            &seq.q[first * hd..(first + per_piece) * hd],
            &seq.k[g * seq.k_head..],
            &seq.v[g * seq.v_head..],
            seq.keys,
            hd,
            scale,
            o,
        );
    });
    drop(guards);
    out.chunks_exact(h * hd)
        .map(|c| Tensor::from_slice(c, (1, h, 1, hd), &Device::Cpu))
        .collect()
}

/// The attention of query heads `q` (`n × hd`, back to back) that share the keys `k`
/// and values `v` (`keys` rows of `hd`), into `o` (`n × hd`, zeroed): each key and value
/// row is read once for the `n` heads, and each head's result is computed in the same
/// order whatever `n` is.
fn attend_heads(
    q: &[f32],
    k: &[f32],
    v: &[f32],
    keys: usize,
    hd: usize,
    scale: f32,
    o: &mut [f32],
) {
    let n = q.len() / hd;
    let mut scores = vec![0f32; n * keys];
    for j in 0..keys {
        let kj = &k[j * hd..(j + 1) * hd];
        for r in 0..n {
            scores[r * keys + j] = dot(&q[r * hd..(r + 1) * hd], kj) * scale;
        }
    }
    let mut sums = vec![0f32; n];
    for (sc, sum) in scores.chunks_exact_mut(keys).zip(&mut sums) {
        let max = sc.iter().fold(f32::NEG_INFINITY, |a, &b| a.max(b));
        // Two loops, so that the first vectorises.
        for x in sc.iter_mut() {
            *x = exp(*x - max);
        }
        *sum = sc.iter().sum();
    }
    for j in 0..keys {
        let vj = &v[j * hd..(j + 1) * hd];
        for r in 0..n {
            let p = scores[r * keys + j];
            for (o, x) in o[r * hd..(r + 1) * hd].iter_mut().zip(vj) {
                *o += p * x;
            }
        }
    }
    for (o, sum) in o.chunks_exact_mut(hd).zip(&sums) {
        for o in o.iter_mut() {
            *o /= sum;
        }
    }
}

/// The f32 elements of a CPU storage from a layout's start.
fn cpu_f32<'a>(s: &'a Storage, l: &Layout) -> Result<&'a [f32]> {
    match s {
        Storage::Cpu(CpuStorage::F32(v)) if l.start_offset() <= v.len() => {
            Ok(&v[l.start_offset()..])
        }
        _ => candle_core::bail!("decode-attention: f32 tensors on the CPU only"),
    }
}

/// A dot product with sixteen running sums (which the compiler keeps in vector
/// registers), in a fixed order.
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
            acc[l] += x[l] * y[l];
        }
    }
    acc.iter().sum::<f32>() + tail
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{Device, D};
    use rand::{Rng, SeedableRng};

    fn random(shape: (usize, usize, usize, usize), seed: u64) -> Tensor {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let n = shape.0 * shape.1 * shape.2 * shape.3;
        let v: Vec<f32> = (0..n).map(|_| rng.gen_range(-2.0..2.0)).collect();
        Tensor::from_vec(v, shape, &Device::Cpu).unwrap()
    }

    /// Against the plain GEMM composition, on views into a larger cache buffer as
    /// the decoder passes them, for grouped heads and a head size with a remainder.
    #[test]
    fn equals_the_gemm_form() {
        for (h, kvh, hd, keys) in [(9, 3, 64, 37), (14, 2, 64, 300), (4, 4, 20, 1)] {
            let q = random((1, h, 1, hd), 1);
            let kb = random((1, kvh, 512, hd), 2);
            let vb = random((1, kvh, 512, hd), 3);
            let (k, v) = (
                kb.narrow(2, 0, keys).unwrap(),
                vb.narrow(2, 0, keys).unwrap(),
            );
            let scale = 1.0 / (hd as f32).sqrt();
            let got = decode_attention(&q, &k, &v, scale).unwrap();
            let rep = h / kvh;
            let qg = q.reshape((kvh, rep, hd)).unwrap();
            let (k3, v3) = (k.squeeze(0).unwrap(), v.squeeze(0).unwrap());
            let scores = (qg.matmul(&k3.t().unwrap()).unwrap() * scale as f64).unwrap();
            let probs = candle_nn::ops::softmax(&scores, D::Minus1).unwrap();
            let want = probs
                .matmul(&v3.contiguous().unwrap())
                .unwrap()
                .reshape((1, h, 1, hd))
                .unwrap();
            let diff = (got - want)
                .unwrap()
                .abs()
                .unwrap()
                .flatten_all()
                .unwrap()
                .max(0)
                .unwrap()
                .to_scalar::<f32>()
                .unwrap();
            assert!(diff < 1e-5, "h {h} kvh {kvh} hd {hd} keys {keys}: {diff}");
        }
    }

    /// A batch of sequences with different cache lengths gives each one exactly what
    /// the single-sequence kernel gives it.
    #[test]
    fn a_batch_equals_its_sequences_alone() {
        for (h, kvh, hd) in [(9, 3, 64), (14, 2, 64), (4, 4, 20), (6, 1, 48)] {
            let mut items = Vec::new();
            for (s, keys) in [37usize, 1, 300, 129].into_iter().enumerate() {
                let q = random((1, h, 1, hd), 10 + s as u64);
                let kb = random((1, kvh, 512, hd), 20 + s as u64);
                let vb = random((1, kvh, 512, hd), 30 + s as u64);
                items.push((
                    q,
                    kb.narrow(2, 0, keys).unwrap(),
                    vb.narrow(2, 0, keys).unwrap(),
                ));
            }
            let scale = 1.0 / (hd as f32).sqrt();
            let batch = decode_attention_batch(&items, scale).unwrap();
            for ((q, k, v), got) in items.iter().zip(&batch) {
                let want = decode_attention(q, k, v, scale).unwrap();
                let (got, want) = (
                    got.flatten_all().unwrap().to_vec1::<f32>().unwrap(),
                    want.flatten_all().unwrap().to_vec1::<f32>().unwrap(),
                );
                let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                assert_eq!(bits(&got), bits(&want), "h {h} kvh {kvh} hd {hd}");
            }
        }
    }

    #[test]
    fn refuses_what_it_cannot_do() {
        let q = random((1, 4, 2, 8), 1);
        let k = random((1, 2, 5, 8), 2);
        assert!(decode_attention(&q, &k, &k, 1.0).is_err());
        let q = random((1, 3, 1, 8), 1);
        assert!(decode_attention(&q, &k, &k, 1.0).is_err());
    }
}
