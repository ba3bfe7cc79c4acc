"""Evaluation benchmark: `rerank eval` against trec_eval and pytrec_eval on the same files.

Generates (once, deterministically) 7,000 queries x 1,000 documents with
bench/gen_large_run.py (ties, unjudged documents), then runs each tool several times
as a separate process, the tools taking turns round by round (a shared machine's slow
spells then fall on all of them alike), and reports the best wall time, its CPU time
and the peak resident memory (GNU time), the ratios of the best times against `rerank
eval`, and the smallest, median and largest ratio of trec_eval's time to ours within a
round:

- `-m all_trec` (the means only): trec_eval, pytrec_eval (reading the files in Python
  and evaluating with its embedded trec_eval), `rerank eval`;
- `-q -m all_trec` (every query's values as well, 700,000 lines out, written to a
  file): trec_eval and `rerank eval`.

It checks that the tools print the same values (trec_eval's output byte for byte, and
pytrec_eval's map, ndcg, P_10 and bpref).

trec_eval is NIST's C program (https://github.com/usnistgov/trec_eval, 10.0): give
its binary with --trec-eval, or put it on PATH; without it those rows are left out.

usage: python bench/eval_bench.py [--repeat N] [--queries N] [--docs N] [--trec-eval PATH]
       (run from the repository root after `cargo build --release`)
"""
import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


# Linux reports a child's peak memory as at least what the process it was forked from
# held when it called exec (the old address space's high-water mark is kept), so a
# child started from this Python process, which holds megabytes of earlier outputs,
# would be charged for them. GNU time forks the tool from its own small process and
# reports the tool's own peak.
GNU_TIME = "/usr/bin/time" if os.path.exists("/usr/bin/time") else None


def measure(cmd, out_path=None):
    """Runs cmd (stdout to out_path or a pipe), returns (seconds, peak RSS in MB,
    stdout, CPU seconds)."""
    rss_file = tempfile.NamedTemporaryFile(suffix=".rss", delete=False).name if GNU_TIME else None
    full = [GNU_TIME, "-f", "%M", "-o", rss_file] + cmd if GNU_TIME else cmd
    start = time.perf_counter()
    sink = open(out_path, "wb") if out_path else subprocess.PIPE
    proc = subprocess.Popen(full, stdout=sink, stderr=subprocess.PIPE)
    out = b"" if out_path else proc.stdout.read()
    err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    if out_path:
        sink.close()
        out = open(out_path, "rb").read()
    if status != 0:
        sys.exit(f"{' '.join(cmd)} failed:\n{err.decode()}")
    if rss_file:
        with open(rss_file) as f:
            peak_mb = int(f.read().split()[-1]) / 1024.0
        os.unlink(rss_file)
    else:
        peak_mb = usage.ru_maxrss / 1024.0  # may include this process's memory (above)
    return elapsed, peak_mb, out.decode(), usage.ru_utime + usage.ru_stime


def best_of(tools, repeat):
    """Runs every tool once per round, `repeat` rounds (interleaved, so that a slow
    spell of a shared machine falls on all of them alike); returns each tool's best
    wall time (with that run's output and CPU time, and the highest peak memory) and
    each round's wall times."""
    runs = {name: [] for name in tools}
    for _ in range(repeat):
        for name, (cmd, out_path) in tools.items():
            runs[name].append(measure(cmd, out_path))
    best = {}
    for name, rs in runs.items():
        b = min(rs, key=lambda r: r[0])
        best[name] = (b[0], max(r[1] for r in rs), b[2], b[3])
    return best, {name: [r[0] for r in rs] for name, rs in runs.items()}


def round_ratios(walls, ours, theirs):
    """trec_eval's wall time over ours, round by round: min / median / max."""
    ratios = sorted(t / o for o, t in zip(walls[ours], walls[theirs]))
    return f"{ratios[0]:.1f}x / {statistics.median(ratios):.1f}x / {ratios[-1]:.1f}x"


def table(title, rows, ours):
    print(f"\n{title}\n")
    print("| tool | wall time | CPU time | peak memory | wall time / rerank's |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for name, r in rows.items():
        print(f"| {name} | {r[0]:.2f} s | {r[3]:.2f} s | {r[1]:.0f} MB | {r[0] / ours[0]:.1f}x |")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--queries", type=int, default=7000)
    ap.add_argument("--docs", type=int, default=1000)
    ap.add_argument("--trec-eval", default=shutil.which("trec_eval"),
                    help="trec_eval's binary (default: trec_eval on PATH)")
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
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
    flags = open("/proc/cpuinfo").read()
    simd = "AVX-512" if " avx512f " in flags else "AVX2" if " avx2 " in flags else "no AVX2"
    print(f"run: {lines:,} lines ({size_mb:.0f} MB), qrels: {os.path.getsize(qrels) / 1e6:.0f} MB; "
          f"{os.cpu_count()} cores ({cpu}, {simd}); best of {args.repeat} rounds, the tools taking turns")

    # -m all_trec
    tools = {"`rerank eval -m all_trec`": [rerank, "eval", "-m", "all_trec", qrels, run]}
    if args.trec_eval:
        tools["trec_eval 10.0 `-m all_trec`"] = [args.trec_eval, "-m", "all_trec", qrels, run]
    tools["pytrec_eval 0.5.11 (read files + evaluate)"] = [
        sys.executable, os.path.join(ROOT, "bench", "pytrec_eval_all_trec.py"), qrels, run]
    results, walls = best_of({name: (cmd, None) for name, cmd in tools.items()}, args.repeat)
    for name, r in results.items():
        print(f"  {name:<44} {r[0]:7.2f} s  {r[1]:7.0f} MB peak  {r[3]:7.2f} s CPU", flush=True)
    ours = results["`rerank eval -m all_trec`"]
    if args.trec_eval:
        te = results["trec_eval 10.0 `-m all_trec`"]
        if te[2] != ours[2]:
            sys.exit("rerank eval and trec_eval print different bytes for -m all_trec")
        print("  rerank eval and trec_eval: identical output")
        print("  trec_eval's time / ours, round by round (min / median / max): "
              + round_ratios(walls, "`rerank eval -m all_trec`", "trec_eval 10.0 `-m all_trec`"))

    def mean_of(text, name):
        m = re.search(rf"^{name}\s+all\s+(\S+)$", text, re.M)
        return m.group(1) if m else None

    theirs = results["pytrec_eval 0.5.11 (read files + evaluate)"]
    for name in ["map", "ndcg", "P_10", "bpref"]:
        a, b = mean_of(ours[2], name), mean_of(theirs[2], name)
        flag = "same" if a == b else "DIFFERENT"
        print(f"  {name:<6} rerank {a}  pytrec_eval {b}  ({flag})")
        if a != b:
            sys.exit("rerank eval and pytrec_eval disagree")
    table("`-m all_trec`, the means:", results, ours)

    # -q -m all_trec, written to a file
    out = tempfile.mkdtemp()
    tools_q = {"`rerank eval -q -m all_trec`": ([rerank, "eval", "-q", "-m", "all_trec", qrels, run],
                                                os.path.join(out, "rerank.txt"))}
    if args.trec_eval:
        tools_q["trec_eval 10.0 `-q -m all_trec`"] = ([args.trec_eval, "-q", "-m", "all_trec", qrels, run],
                                                     os.path.join(out, "trec_eval.txt"))
    results_q, walls_q = best_of(tools_q, args.repeat)
    for name, r in results_q.items():
        print(f"  {name:<44} {r[0]:7.2f} s  {r[1]:7.0f} MB peak  {r[3]:7.2f} s CPU "
              f"({r[2].count(chr(10)):,} lines out)", flush=True)
    ours_q = results_q["`rerank eval -q -m all_trec`"]
    if args.trec_eval:
        if results_q["trec_eval 10.0 `-q -m all_trec`"][2] != ours_q[2]:
            sys.exit("rerank eval and trec_eval print different bytes for -q -m all_trec")
        print("  rerank eval and trec_eval: identical output")
        print("  trec_eval's time / ours, round by round (min / median / max): "
              + round_ratios(walls_q, "`rerank eval -q -m all_trec`", "trec_eval 10.0 `-q -m all_trec`"))
    shutil.rmtree(out)
    table("`-q -m all_trec`, every query's values too (written to a file):", results_q, ours_q)


if __name__ == "__main__":
    main()
