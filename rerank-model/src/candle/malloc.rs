//! glibc malloc settings for the decoder's allocation pattern.
#![allow(unsafe_code)]

/// Tells glibc's malloc to keep freed memory for reuse instead of handing it back to
/// the kernel; call once at the start of a program that runs the candle backend on the
/// CPU. Returns whether the settings took (false off glibc, where it does nothing).
///
/// A forward pass allocates and frees buffers of megabytes to tens of megabytes per
/// layer (activations, a weight dequantized for a prompt's matrix product). By default
/// glibc serves such sizes with fresh `mmap` pages and returns them on `free`, so every
/// layer pays for page faults and zeroing: on a 1,600-token prompt that was over a
/// quarter of Qwen2.5-0.5B's prefill time (6.0 s against 4.3 s with these settings;
/// the `bench_backend` example with and without `--glibc-defaults`). This raises the
/// `mmap` threshold to its maximum (32 MiB) and the trim threshold to 2 GiB, so freed
/// blocks stay in the heap for the next layer. The cost: memory a program frees is
/// not returned to the system while it runs. The `rerank` command line and the
/// `rerank` facade's builder call this.
///
/// ```
/// rerank_model::candle::keep_freed_memory();
/// ```
pub fn keep_freed_memory() -> bool {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        extern "C" {
            fn mallopt(param: i32, value: i32) -> i32;
        }
        const M_TRIM_THRESHOLD: i32 = -1;
        const M_MMAP_THRESHOLD: i32 = -3;
        // SAFETY: `mallopt` only changes malloc's tuning parameters; both values are
        // within the ranges glibc accepts (it returns 0 and changes nothing otherwise).
        unsafe {
            let a = mallopt(M_MMAP_THRESHOLD, 32 << 20);
            let b = mallopt(M_TRIM_THRESHOLD, i32::MAX);
            a == 1 && b == 1
        }
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    {
        false
    }
}
