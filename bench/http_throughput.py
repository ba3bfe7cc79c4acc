#!/usr/bin/env python3
"""Throughput of the HTTP backend: queries per minute for one workload at 1, 4 and
16 requests in flight, against a local llama.cpp server (llama-cpp-python, SmolLM2,
2 threads) started by this script.

Workload: the first N Vaswani queries, BM25 top 10, RankGPT's prompt, one window of
10 per query, at most 32 new tokens per call. Each run starts over (--overwrite).

    python3 bench/http_throughput.py [--queries 16] [--levels 1,4,16]
"""
import argparse
import os
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.path.join(ROOT, "data", "vaswani")
BIN = os.path.join(ROOT, "target", "release", "rerank")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--queries", type=int, default=16)
    ap.add_argument("--levels", default="1,4,16")
    ap.add_argument("--port", type=int, default=18090)
    args = ap.parse_args()
    subprocess.run(["cargo", "build", "--release", "-q", "-p", "rerank-cli"], cwd=ROOT, check=True)
    tmp = tempfile.mkdtemp(prefix="http_throughput.")
    bm25 = os.path.join(tmp, "bm25.run")
    topics, corpus = os.path.join(DATA, "query-text.trec"), os.path.join(DATA, "doc-text.trec")
    subprocess.run([BIN, "retrieve", "--corpus", corpus, "--topics", topics, "-k", "10", "-o", bm25],
                   check=True, stderr=subprocess.DEVNULL)
    pid = subprocess.run(["bash", os.path.join(ROOT, "scripts", "llama-server.sh"), str(args.port)],
                         check=True, capture_output=True, text=True).stdout.strip()
    rows = []
    try:
        for c in [int(x) for x in args.levels.split(",")]:
            out = os.path.join(tmp, f"c{c}.run")
            start = time.time()
            subprocess.run([BIN, "rerank", "--backend", "http", "--base-url", f"http://127.0.0.1:{args.port}/v1",
                            "--model", "smollm2", "--tokenizer", "smollm2-135m",
                            "--extra-body", '{"repeat_penalty": 1.0}',
                            "--concurrency", str(c), "--batch", str(c),
                            "--run", bm25, "--topics", topics, "--corpus", corpus, "--limit", str(args.queries),
                            "--method", "rankgpt", "--top", "10", "--window", "10", "--step", "10",
                            "--max-new-tokens", "32", "-o", out, "--overwrite"],
                           check=True, stderr=subprocess.DEVNULL)
            secs = time.time() - start
            rows.append((c, secs, args.queries / secs * 60))
            print(f"concurrency {c}: {secs:.1f} s", file=sys.stderr)
    finally:
        subprocess.run(["kill", pid])
    print(f"{args.queries} Vaswani queries, one RankGPT window of 10 each, at most 32 new tokens; "
          f"llama-cpp-python server, SmolLM2-135M Q4_1, 2 threads, on this machine.\n")
    print("| requests in flight | wall time (s) | queries per minute | vs 1 |")
    print("| --- | --- | --- | --- |")
    for c, secs, qpm in rows:
        print(f"| {c} | {secs:.1f} | {qpm:.1f} | {qpm / rows[0][2]:.2f}x |")


if __name__ == "__main__":
    main()
