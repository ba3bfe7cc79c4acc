//! Fuzzes the output parsers: any bytes as model output, any window size. The
//! listwise parser must return a permutation of the window and the setwise parser a
//! pick inside the set (or none), without panicking.
//!
//! cargo fuzz run parse_output   (from rerank-prompt; see ../README.md)
#![no_main]

use libfuzzer_sys::fuzz_target;
use rerank_prompt::parse::{parse_listwise, parse_setwise, reference_regex, SetwiseMode};

fuzz_target!(|data: &[u8]| {
    let Some((&n, rest)) = data.split_first() else { return };
    let n = (n % 41) as usize;
    let text = String::from_utf8_lossy(rest);
    for tags in [false, true] {
        let p = parse_listwise(&text, n, tags);
        let mut sorted = p.order.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, (0..n).collect::<Vec<_>>());
    }
    let pattern = reference_regex(r"<think>.*?</think>\s*<answer>(.*?)</answer>").unwrap();
    for mode in [SetwiseMode::Reference, SetwiseMode::Lenient] {
        let p = parse_setwise(&text, n, &pattern, mode);
        assert!(p.best.map_or(true, |b| b < n));
    }
});
