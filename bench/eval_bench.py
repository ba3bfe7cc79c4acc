"""Evaluation benchmark: `rerank eval -m all_trec` against pytrec_eval on the same files.

Generates (once, deterministically) 7,000 queries x 1,000 documents with
bench/gen_large_run.py, then runs each tool several times as a separate process and
reports the best wall time and the peak resident memory (getrusage of the child), and
the ratios. Also checks that both report the same mean average precision.

usage: python bench/eval_bench.py [--repeat N] [--queries N] [--docs N]
       (run from the repository root after `cargo build --release`)
"""
import argparse
import os
import re
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def measure(cmd):
    """Runs cmd, returns (seconds, peak RSS in MB, stdout, CPU seconds)."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out = proc.stdout.read()
    err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    if status != 0:
        sys.exit(f"{' '.join(cmd)} failed:\n{err.decode()}")
    return elapsed, usage.ru_maxrss / 1024.0, out.decode(), usage.ru_utime + usage.ru_stime


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--queries", type=int, default=7000)
    ap.add_argument("--docs", type=int, default=1000)
    args = ap.parse_args()
    data = os.path.join(ROOT, "bench", "data", f"large-{args.queries}x{args.docs}")
    qrels, run = os.path.join(data, "qrels"), os.path.join(data, "run")
    if not os.path.exists(run):
        print(f"generating {args.queries} x {args.docs} into {data} ...", flush=True)
        subprocess.check_call([sys.executable, os.path.join(ROOT, "bench", "gen_large_run.py"), data,
                               "--queries", str(args.queries), "--docs", str(args.docs)])
    rerank = os.path.join(ROOT, "target", "release", "rerank")
    if not os.path.exists(rerank):
        sys.exit("build first: cargo build --release")
    size_mb = os.path.getsize(run) / 1e6
    lines = args.queries * args.docs
    print(f"run: {lines:,} lines ({size_mb:.0f} MB), qrels: {os.path.getsize(qrels) / 1e6:.0f} MB; "
          f"{os.cpu_count()} cores; best of {args.repeat}")

    tools = {
        "rerank eval": [rerank, "eval", "-m", "all_trec", qrels, run],
        "pytrec_eval": [sys.executable, os.path.join(ROOT, "bench", "pytrec_eval_all_trec.py"), qrels, run],
    }
    results = {}
    for name, cmd in tools.items():
        runs = [measure(cmd) for _ in range(args.repeat)]
        best = min(runs, key=lambda r: r[0])
        results[name] = (best[0], max(r[1] for r in runs), best[2], best[3])
        print(f"  {name:<12} {best[0]:7.2f} s  {results[name][1]:7.0f} MB peak  {best[3]:7.2f} s CPU", flush=True)

    def mean_of(text, name):
        m = re.search(rf"^{name}\s+all\s+(\S+)$", text, re.M)
        return m.group(1) if m else None

    ours, theirs = results["rerank eval"], results["pytrec_eval"]
    for name in ["map", "ndcg", "P_10", "bpref"]:
        a, b = mean_of(ours[2], name), mean_of(theirs[2], name)
        flag = "same" if a == b else "DIFFERENT"
        print(f"  {name:<6} rerank {a}  pytrec_eval {b}  ({flag})")
        if a != b:
            sys.exit("the two tools disagree")
    print()
    print("| tool | wall time | CPU time | peak memory |")
    print("| --- | ---: | ---: | ---: |")
    print(f"| `rerank eval -m all_trec` | {ours[0]:.2f} s | {ours[3]:.2f} s | {ours[1]:.0f} MB |")
    print(f"| pytrec_eval (read files + evaluate) | {theirs[0]:.2f} s | {theirs[3]:.2f} s | {theirs[1]:.0f} MB |")
    print(f"| ratio (pytrec_eval / rerank) | {theirs[0] / ours[0]:.1f}x | {theirs[3] / ours[3]:.1f}x | "
          f"{theirs[1] / ours[1]:.1f}x |")


if __name__ == "__main__":
    main()
