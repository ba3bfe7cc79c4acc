"""Model speed benchmark: the candle backend against llama.cpp, side by side.

Same GGUF file, same prompt token ids, same thread count (2), greedy decoding. For
each model: prefill tokens/s for a REARANK-style prompt of about 1,650 tokens and
decode tokens/s for the next 64 tokens (each the best of --repeat runs), with the
ratios; with --batch also the throughput of 8 windows of about 2,000 tokens (ours as
one packed batch, llama.cpp one after another, as llama-cpp-python runs them).

By default ours keeps the GGUF weights quantized as stored (`Weights::Quantized`, the
backend's default: prompts through an f32 product with each weight dequantized on the
fly, decoding through quantized kernels); with --weights dense it holds them as f32
(`Weights::Dense`).

usage: .venv/bin/python bench/model_bench.py [--models smollm2-135m qwen2.5-0.5b] [--batch] [--weights quantized dense]
  needs llama-cpp-python==0.3.36 (pip builds llama.cpp from source, about 10 minutes)
  and `cargo build --release -p rerank-model --example bench_backend`.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import llama_cpp

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FILES = {"smollm2-135m": "SmolLM2-135M-Instruct.Q4_1.gguf", "qwen2.5-0.5b": "Qwen2.5-Coder-0.5B-Instruct.Q4_K_M.gguf",
         "qwen2.5-1.5b": "Qwen2.5-Coder-1.5B-Instruct.Q4_K_M.gguf"}


def window_prompt(seed, n_passages=20):
    """A REARANK-shaped conversation in ChatML with n_passages made-up passages."""
    import random
    rng = random.Random(seed)
    words = ("solar wind plasma magnetic field particle electron proton flux measurement satellite orbit "
             "ionosphere radiation frequency wave amplitude energy spectrum density temperature pressure").split()
    parts = ["<|im_start|>system\nYou are DeepRerank, an intelligent assistant that can rank passages based on their "
             "relevancy to the search query.<|im_end|>\n<|im_start|>user\nI will provide you with passages. "
             "Search Query: solar wind measurement.<|im_end|>\n<|im_start|>assistant\nOkay, please provide the passages.<|im_end|>\n"]
    for i in range(n_passages):
        text = " ".join(rng.choice(words) for _ in range(55))
        parts.append(f"<|im_start|>user\n[{i + 1}] {text}<|im_end|>\n<|im_start|>assistant\nReceived passage [{i + 1}].<|im_end|>\n")
    parts.append("<|im_start|>user\nPlease rank these passages. <think> first, then <answer>.<|im_end|>\n<|im_start|>assistant\n")
    return "".join(parts)


def models_dir():
    return os.environ.get("RERANK_MODELS", os.path.expanduser("~/.cache/rerank/models"))


def load_llama(path):
    """llama.cpp on `path` as every comparison here runs it: 2 threads, 4,096 context."""
    return llama_cpp.Llama(model_path=path, n_ctx=4096, n_threads=2, n_threads_batch=2, n_batch=512, verbose=False)


def bench_prompt_ids(llm):
    """The prefill measurement's prompt: window_prompt(0, 20), trimmed to at most 1,650 tokens."""
    return llm.tokenize(window_prompt(0, 20).encode(), add_bos=False, special=True)[:1650]


def llama_run(llm, ids, new_tokens):
    llm.reset()
    t = time.perf_counter()
    llm.eval(ids)
    prefill = time.perf_counter() - t
    t = time.perf_counter()
    n = 0
    # reset=True (the default) finds the prompt already evaluated and continues from it
    # (re-evaluating only its last token); reset=False would evaluate it all again.
    for _ in llm.generate(ids, temp=0.0, top_k=1):
        n += 1
        if n == new_tokens:
            break
    return prefill, time.perf_counter() - t


def ours(model_path, prompts, new_tokens, batch, weights="quantized"):
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump({"prompts": prompts}, f)
    exe = os.path.join(ROOT, "target", "release", "examples", "bench_backend")
    cmd = [exe, model_path, f.name, str(new_tokens)] + (["--batch"] if batch else []) + (["--dense"] if weights == "dense" else [])
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    os.unlink(f.name)
    return [json.loads(l) for l in out.splitlines()]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", nargs="+", default=list(FILES))
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--batch", action="store_true")
    ap.add_argument("--weights", nargs="+", default=["quantized"], choices=["quantized", "dense"])
    args = ap.parse_args()
    rows = []
    for name in args.models:
        path = os.path.join(models_dir(), FILES[name])
        llm = load_llama(path)
        ids = bench_prompt_ids(llm)
        best_l = min((llama_run(llm, ids, 64) for _ in range(args.repeat)), key=lambda r: r[0] + r[1])
        l_pre, l_dec = len(ids) / best_l[0], 64 / best_l[1]
        for w in args.weights:
            best_o = min((ours(path, [ids], 64, False, w)[0] for _ in range(args.repeat)), key=lambda r: r["prefill_s"] + r["decode_s"])
            o_pre, o_dec = len(ids) / best_o["prefill_s"], 64 / best_o["decode_s"]
            rows.append((f"{name} ({w})", len(ids), o_pre, l_pre, o_dec, l_dec))
            print(f"{name} ({w}): {len(ids)}-token prompt: prefill ours {o_pre:.1f} tok/s, llama.cpp {l_pre:.1f} tok/s; "
                  f"decode ours {o_dec:.1f} tok/s, llama.cpp {l_dec:.1f} tok/s", flush=True)
        if args.batch:
            prompts = [llm.tokenize(window_prompt(s, 24).encode(), add_bos=False, special=True)[:2000] for s in range(8)]
            t = time.perf_counter()
            for p in prompts:
                llama_run(llm, p, 32)
            l_time = time.perf_counter() - t
            total = sum(len(p) for p in prompts) + 8 * 32
            for w in args.weights:
                r = ours(path, prompts, 32, True, w)[0]
                o_time = r["prefill_s"] + r["decode_s"]
                print(f"{name} ({w}): 8 windows x ~2000 tokens + 32 new each: ours {o_time:.1f} s ({total / o_time:.0f} tok/s), "
                      f"llama.cpp {l_time:.1f} s ({total / l_time:.0f} tok/s), ratio {l_time / o_time:.2f}", flush=True)
    print("\n| model | prompt tokens | prefill ours | prefill llama.cpp | ratio | decode ours | decode llama.cpp | ratio |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for name, n, op, lp, od, ld in rows:
        print(f"| {name} | {n} | {op:.1f} tok/s | {lp:.1f} tok/s | {op / lp:.2f}x | {od:.1f} tok/s | {ld:.1f} tok/s | {od / ld:.2f}x |")


if __name__ == "__main__":
    main()
