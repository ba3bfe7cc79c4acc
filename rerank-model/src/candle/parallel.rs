//! Splitting CPU work over candle's thread pool (the pool its quantized products use,
//! so our kernels and candle's never compete for the cores).
#![allow(unsafe_code)]

use candle_core::utils::barrier_pool;

/// Calls `f(i, piece)` for every `len`-long piece `i` of `out`, spread over candle's
/// CPU pool. Each piece goes to exactly one call.
pub(crate) fn for_each_piece(out: &mut [f32], len: usize, f: impl Fn(usize, &mut [f32]) + Sync) {
    if len == 0 {
        return;
    }
    let pieces = out.len() / len;
    let base = SyncPtr(out.as_mut_ptr());
    barrier_pool().execute_chunked(pieces, |range| {
        for i in range {
            // SAFETY: piece `i` is `out[i * len..(i + 1) * len]`, inside `out` since
            // `i < pieces`; the pool hands each `i` to one worker only, so the
            // mutable slices never overlap; and `out` is borrowed mutably for the
            // whole call, which returns only after every worker has finished.
            let piece = unsafe { std::slice::from_raw_parts_mut(base.get().add(i * len), len) };
            f(i, piece);
        }
    });
}

/// The output pointer shared by the pool's workers.
struct SyncPtr(*mut f32);

impl SyncPtr {
    /// A method, so closures capture the whole (Sync) wrapper, not the bare pointer.
    fn get(&self) -> *mut f32 {
        self.0
    }
}

// SAFETY: the workers write disjoint pieces only (see `for_each_piece`).
unsafe impl Sync for SyncPtr {}
unsafe impl Send for SyncPtr {}
