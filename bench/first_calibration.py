#!/usr/bin/env python3
"""Is there relevance in FIRST's identifier logits beyond position? A check on the
committed Vaswani traces.

FIRST orders a window by the log-probability of each passage's identifier at the
first answer position (`identifier_logprobs` in `bench/results/vaswani-e2e/MODEL/
first.run.trace.jsonl`). An instruction model's scores there are dominated by a
positional prior (`[1]` and `[20]` first). This script removes it: each window's score
at position i minus the mean score at position i over the *other* queries' windows
(leave-one-out, so no query's own scores set its prior), ties broken by BM25's order,
and evaluates both orders against BM25 with `rerank eval compare` (nDCG@10, paired
t-test). If the logits carried relevance beyond position, the calibrated order would
hold up or gain; if they are mostly prior, it falls towards a random order of the top
20. Reads only committed files; needs a built `rerank` (RERANK=path, or
target/release/rerank).

    python3 bench/first_calibration.py [--models smollm2-135m qwen2.5-0.5b qwen2.5-1.5b]
"""
import argparse
import json
import os
import random
import subprocess
import tempfile

from trec_files import read_run

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
E2E = os.path.join(ROOT, "bench", "results", "vaswani-e2e")
QRELS = os.path.join(ROOT, "data", "vaswani", "qrels")
BIN = os.environ.get("RERANK") or os.path.join(ROOT, "target", "release", "rerank")


def write_run(path, windows, bm25, score):
    """Each window reordered by `score(i, window)` (ties by position), then the rest of
    BM25's list, as a TREC run."""
    with open(path, "w") as f:
        for t in windows:
            q, docs = t["query_id"], t["doc_ids"]
            order = sorted(range(len(docs)), key=lambda i: (-score(i, t), i))
            head = [docs[i] for i in order]
            ranked = head + [d for d in bm25[q] if d not in set(head)]
            for r, d in enumerate(ranked):
                f.write(f"{q} Q0 {d} {r + 1} {len(ranked) - r} calibration\n")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", nargs="+", default=["smollm2-135m", "qwen2.5-0.5b", "qwen2.5-1.5b"])
    args = ap.parse_args()
    bm25_path = os.path.join(E2E, "bm25.run")
    bm25 = read_run(bm25_path)
    with tempfile.TemporaryDirectory() as tmp:
        for model in args.models:
            trace = os.path.join(E2E, model, "first.run.trace.jsonl")
            windows = [json.loads(l) for l in open(trace) if l.strip()]
            if any(len(t["identifier_logprobs"]) != len(windows[0]["identifier_logprobs"]) for t in windows):
                raise SystemExit(f"{trace}: windows of different sizes; this check needs one size")
            n, size = len(windows), len(windows[0]["identifier_logprobs"])
            total = [sum(t["identifier_logprobs"][i] for t in windows) for i in range(size)]

            def calibrated(i, t):
                lp = t["identifier_logprobs"]
                return lp[i] - (total[i] - lp[i]) / (n - 1)

            rng = random.Random(0)
            shuffled = {t["query_id"]: [rng.random() for _ in range(size)] for t in windows}
            runs = {"first-raw": lambda i, t: t["identifier_logprobs"][i], "first-calibrated": calibrated,
                    "random-order-seed0": lambda i, t: shuffled[t["query_id"]][i]}
            names = []
            for name, score in runs.items():
                write_run(os.path.join(tmp, f"{model}.{name}.run"), windows, bm25, score)
                names.append(f"{model}.{name}.run")
            os.symlink(bm25_path, os.path.join(tmp, "bm25.run"))
            out = subprocess.run([BIN, "eval", "compare", "-m", "ndcg_cut.10", QRELS, "bm25.run"] + names,
                                 check=True, capture_output=True, text=True, cwd=tmp).stdout
            os.remove(os.path.join(tmp, "bm25.run"))
            print(f"## {model}: FIRST's {n} windows of {size}, raw and calibrated, and a random order")
            print(out)


if __name__ == "__main__":
    main()
