"""How fast is this machine right now? llama.cpp's prefill speed as a fixed yardstick.

The virtual machines these benchmarks run on change speed by the hour (the same binary
measured 179 and 95 tok/s of prefill on one day), so seconds per query from rows run at
different times cannot be compared as they are. This prints one JSON line: llama.cpp
(llama-cpp-python, 2 threads) evaluating the fixed REARANK-shaped prompt of
`model_bench.py` (1,614 tokens) with Qwen2.5-Coder-0.5B, the same measurement as the
"prefill llama.cpp" column of the committed `model-bench-*.txt` files, so a row's speed
can be read against them. It takes about 15 to 30 s.

`vaswani_e2e.py` runs it before and after each configuration it runs and appends the
lines to the run's `.speed.jsonl`, and its report prints them.

usage: .venv/bin/python bench/speed_ref.py [--model qwen2.5-0.5b] [--label TEXT]
"""
import argparse
import datetime
import json
import os
import time

from model_bench import FILES, bench_prompt_ids, load_llama, models_dir


def prefill_tok_s(path):
    """llama.cpp's prefill tokens per second on model_bench's prompt (one run after a warm-up of 64 tokens)."""
    llm = load_llama(path)
    ids = bench_prompt_ids(llm)
    llm.eval(ids[:64])
    llm.reset()
    t = time.perf_counter()
    llm.eval(ids)
    return len(ids) / (time.perf_counter() - t)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="qwen2.5-0.5b", choices=list(FILES))
    ap.add_argument("--label", default="", help="a word stored with the measurement (e.g. before, after)")
    args = ap.parse_args()
    tok_s = prefill_tok_s(os.path.join(models_dir(), FILES[args.model]))
    print(json.dumps({"when": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
                      "label": args.label, "model": args.model,
                      "llama_cpp_prefill_tok_s": round(tok_s, 1)}))


if __name__ == "__main__":
    main()
