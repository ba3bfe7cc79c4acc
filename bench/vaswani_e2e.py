#!/usr/bin/env python3
"""The end-to-end table on the full Vaswani collection (93 queries).

BM25 (tantivy) retrieves the top 100; each method reranks the top 20 (or --top) with
each model; every run is evaluated with `rerank eval` (trec_eval-identical). Prints a
Markdown table: nDCG@10, MAP@100, the paired t-test of nDCG@10 against BM25 on the same
queries (`rerank eval compare`), seconds per query, prompt and completion tokens per
query, and the share of model calls whose answer was not cleanly parsed (and of those
that fell back to the input order). Single-pass methods (`first`, and setwise methods
with --setwise-scoring likelihood) generate no text, so nothing is parsed.

Before and after each configuration it runs, the script measures the machine's speed
(`bench/speed_ref.py`, about 20 s; the machines here change speed by the hour) and the
report lists those references, so that seconds per query can be read against them.

Runs are resumable: run the script again and each configuration carries on where it
stopped (results live in --out). A configuration that is not finished is reported with
the number of queries done, and BM25 is then evaluated on the same queries.

    python3 bench/vaswani_e2e.py                       # everything (hours on 2 cores)
    python3 bench/vaswani_e2e.py --models smollm2-135m --methods rearank
    python3 bench/vaswani_e2e.py --report-only         # the table from what is done
    python3 bench/vaswani_e2e.py --models qwen2.5-0.5b --methods rank-r1 --fallback first-stage
        # setwise comparisons without a usable answer go to the first stage's best
        # (rank-r1-first-stage.run) instead of keeping the heap parent;
        # --setwise-parse lenient also reads `3` or a bare `[3]` (rank-r1-lenient.run)
    python3 bench/vaswani_e2e.py --models qwen2.5-1.5b --methods first --top 100
        # FIRST over the top 100 (first-top100.run)
    python3 bench/vaswani_e2e.py --models qwen2.5-0.5b --methods rank-r1 --setwise-scoring likelihood
        # the heapsort's picks by each label's log-probability (rank-r1-likelihood.run)
    python3 bench/vaswani_e2e.py --backend http --models smollm2-135m --methods rankgpt
        # the same through the HTTP backend against a local llama.cpp server (started
        # here), and how its rankings agree with the candle backend's
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# Relative to the repository root (the script works from there), so that the run
# configurations recorded for resuming do not depend on where the clone lives.
DATA = os.path.join("data", "vaswani")
TOPICS = os.path.join(DATA, "query-text.trec")
CORPUS = os.path.join(DATA, "doc-text.trec")
QRELS = os.path.join(DATA, "qrels")
VENV_PYTHON = os.path.join(ROOT, ".venv", "bin", "python")
N_QUERIES = 93  # Vaswani's topics: a run with this many finished queries is complete
# RERANK=path/to/rerank runs a binary built beforehand (so that rebuilding the
# workspace while the runs go on does not change the binary under them).
BIN = os.environ.get("RERANK") or os.path.join(ROOT, "target", "release", "rerank")


SETWISE = ("rank-r1", "setwise")


def setwise_options(args, method):
    """The setwise options that differ from Rank-R1's defaults, as (flag, value)."""
    if method not in SETWISE:
        return []
    chosen = [("--fallback", args.fallback, "keep-top"),
              ("--setwise-parse", args.setwise_parse, "reference"),
              ("--setwise-scoring", args.setwise_scoring, "generate")]
    return [(flag, value) for flag, value, default in chosen if value != default]


def fallback_args(args, method):
    return [x for option in setwise_options(args, method) for x in option]


def run_name(args, method):
    """The run's file: e.g. `rank-r1-first-stage.run` for the first-stage fallback,
    `rank-r1-lenient.run` for lenient parsing, `rank-r1-likelihood.run` for likelihood
    scoring, `first-top100.run` for the top 100 reranked."""
    top = "" if args.top == 20 else f"-top{args.top}"
    return method + "".join("-" + value for _, value in setwise_options(args, method)) + top + ".run"


# Every run_name suffix, for the report.
SETWISE_VARIANTS = ["", "-first-stage", "-lenient", "-first-stage-lenient", "-likelihood",
                    "-first-stage-likelihood"]
TOPS = ["", "-top100"]


def sh(*args, **kw):
    print("+", " ".join(args), file=sys.stderr, flush=True)
    return subprocess.run(args, check=True, **kw)


def evaluate(run_path, qids=None):
    """Mean nDCG@10 and MAP@100 over the run's queries (or over `qids`)."""
    path = run_path
    if qids is not None:
        fd, path = tempfile.mkstemp(suffix=".run")
        with os.fdopen(fd, "w") as out, open(run_path) as f:
            for line in f:
                if line.split(maxsplit=1)[0] in qids:
                    out.write(line)
    res = subprocess.run([BIN, "eval", "-m", "ndcg_cut.10", "-m", "map_cut.100", QRELS, path],
                         check=True, capture_output=True, text=True).stdout
    if qids is not None:
        os.unlink(path)
    vals = {}
    for line in res.splitlines():
        name, _, value = line.split()
        vals[name] = float(value)
    return vals["ndcg_cut_10"], vals["map_cut_100"]


def significance(bm25, run_path, qids):
    """`rerank eval compare`'s paired t-test of nDCG@10, the run against BM25 on the
    run's queries: the p-value, with ▲/▼ when significant at 0.05."""
    fd, base = tempfile.mkstemp(suffix=".run")
    with os.fdopen(fd, "w") as out, open(bm25) as f:
        for line in f:
            if line.split(maxsplit=1)[0] in qids:
                out.write(line)
    res = subprocess.run([BIN, "eval", "compare", "-m", "ndcg_cut.10", QRELS, base, run_path],
                         check=True, capture_output=True, text=True).stdout
    os.unlink(base)
    lines = res.splitlines()
    mark = next((l.split()[-1][-1] for l in lines[3:5] if l.split() and l.split()[0] != "run"
                 and l.split()[-1][-1] in "▲▼"), "")
    p = lines[-1].split()[1]
    return f"{p}{mark}"


def read_progress(run_path):
    """The run's finished queries (its progress file's lines after the header; none when
    it has not started)."""
    if not os.path.exists(run_path + ".progress"):
        return []
    return [json.loads(l) for l in open(run_path + ".progress").read().splitlines()[1:] if l.strip()]


def folder(model, backend):
    """Where a model's runs live under --out: the HTTP backend's beside the candle one's."""
    return model if backend == "candle" else model + "-http"


def measures_speed(run_path, args):
    """Whether an invocation on this run gets speed references: not for a run finished
    before it starts (it has nothing to do), with --no-speed-ref, or without the
    project's `.venv` (llama-cpp-python). Asked once, before the invocation, so that the
    invocation that finishes a run still gets its "after" reference."""
    return not args.no_speed_ref and os.path.exists(VENV_PYTHON) and len(read_progress(run_path)) < N_QUERIES


def speed_reference(run_path, label):
    """Append llama.cpp's prefill speed right now (`bench/speed_ref.py`) to the run's
    `.speed.jsonl`, so that its seconds per query can be read against the machine's speed
    while it ran."""
    res = subprocess.run([VENV_PYTHON, os.path.join(ROOT, "bench", "speed_ref.py"), "--label", label],
                         capture_output=True, text=True)
    if res.returncode != 0:
        print(f"speed reference failed (carrying on): {res.stderr.strip()[-300:]}", file=sys.stderr)
        return
    os.makedirs(os.path.dirname(run_path), exist_ok=True)
    with open(run_path + ".speed.jsonl", "a") as f:
        f.write(res.stdout.strip() + "\n")


def run_with_speed_refs(run_path, args, *cmd):
    """Run `cmd` (a `rerank rerank` invocation writing `run_path`) between a speed
    reference before and one after, when `measures_speed` says so."""
    measure = measures_speed(run_path, args)
    if measure:
        speed_reference(run_path, "before")
    sh(*cmd)
    if measure:
        speed_reference(run_path, "after")


def speeds(args, rows):
    """The machine-speed references recorded while each row ran."""
    lines = []
    for model, method, backend in rows:
        path = os.path.join(args.out, folder(model, backend), method + ".run.speed.jsonl")
        if os.path.exists(path):
            refs = [json.loads(l) for l in open(path) if l.strip()]
            told = ", ".join(f"{r['when'][:16].replace('T', ' ')} {r['label']} {r['llama_cpp_prefill_tok_s']:.0f}"
                             for r in refs)
            lines.append(f"| {folder(model, backend)} {method} | {told} |")
    if lines:
        print("\nMachine speed while each row ran (`bench/speed_ref.py`: llama.cpp's prefill of "
              "Qwen2.5-Coder-0.5B, tok/s, before and after each invocation; UTC):\n")
        print("| run | speed references |")
        print("| --- | --- |")
        print("\n".join(lines))


def summarise(run_path):
    progress = read_progress(run_path)
    calls = [json.loads(l) for l in open(run_path + ".trace.jsonl") if l.strip()]
    n = len(progress)
    not_ok = sum(1 for c in calls if not c["applied"] or (c.get("parse") or {}).get("outcome") != "ok")
    fell_back = sum(1 for c in calls
                    if not c["applied"] or (c.get("parse") or {}).get("outcome") == "empty")
    return {
        "queries": n,
        "qids": {p["qid"] for p in progress},
        "sec": sum(p["seconds"] for p in progress) / max(n, 1),
        "prompt": sum(c.get("prompt_tokens", 0) for c in calls) / max(n, 1),
        "completion": sum(c.get("completion_tokens", 0) for c in calls) / max(n, 1),
        "calls": len(calls) / max(n, 1),
        "not_ok": not_ok / max(len(calls), 1),
        "fell_back": fell_back / max(len(calls), 1),
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", default="smollm2-135m,qwen2.5-0.5b")
    ap.add_argument("--methods", default="rearank,rankgpt,rank-r1")
    ap.add_argument("--top", type=int, default=20)
    ap.add_argument("--max-new-tokens", type=int, default=1024)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--out", default=os.path.join("bench", "results", "vaswani-e2e"))
    ap.add_argument("--backend", default="candle", choices=["candle", "http"])
    ap.add_argument("--fallback", default="keep-top", choices=["keep-top", "first-stage"],
                    help="who wins a setwise comparison without a usable answer")
    ap.add_argument("--setwise-parse", default="reference", choices=["reference", "lenient"],
                    help="how setwise answers are read")
    ap.add_argument("--setwise-scoring", default="generate", choices=["generate", "likelihood"],
                    help="setwise picks from generated answers or from each label's log-probability")
    ap.add_argument("--port", type=int, default=18095)
    ap.add_argument("--report-only", action="store_true", help="do not run anything; report what is done")
    ap.add_argument("--no-speed-ref", action="store_true",
                    help="do not measure the machine's speed before and after each run (bench/speed_ref.py)")
    args = ap.parse_args()
    os.chdir(ROOT)
    os.makedirs(args.out, exist_ok=True)
    if not args.report_only and not os.environ.get("RERANK"):
        sh("cargo", "build", "--release", "-q", "-p", "rerank-cli", cwd=ROOT)
    bm25 = os.path.join(args.out, "bm25.run")
    if not os.path.exists(bm25):
        sh(BIN, "retrieve", "--corpus", CORPUS, "--topics", TOPICS, "-k", "100", "-o", bm25)
    configs = [(m, meth) for m in args.models.split(",") for meth in args.methods.split(",")]
    if not args.report_only and args.backend == "candle":
        for model, method in configs:
            sh(BIN, "fetch-model", model)
            run_path = os.path.join(args.out, folder(model, "candle"), run_name(args, method))
            run_with_speed_refs(
                run_path, args, BIN, "rerank", "--run", bm25, "--topics", TOPICS, "--corpus", CORPUS,
                "--model", model, "--method", method, "--top", str(args.top),
                "--max-new-tokens", str(args.max_new_tokens), "--batch", str(args.batch),
                *fallback_args(args, method), "-o", run_path)
    if not args.report_only and args.backend == "http":
        for model in args.models.split(","):
            pid = subprocess.run(["bash", os.path.join(ROOT, "scripts", "llama-server.sh"), str(args.port), model],
                                 check=True, capture_output=True, text=True).stdout.strip()
            try:
                for method in args.methods.split(","):
                    run_path = os.path.join(args.out, folder(model, "http"), run_name(args, method))
                    run_with_speed_refs(
                        run_path, args, BIN, "rerank", "--backend", "http",
                        "--base-url", f"http://127.0.0.1:{args.port}/v1",
                        "--model", model, "--tokenizer", model, "--extra-body", '{"repeat_penalty": 1.0}',
                        "--concurrency", "1", "--run", bm25, "--topics", TOPICS, "--corpus", CORPUS,
                        "--method", method, "--top", str(args.top),
                        "--max-new-tokens", str(args.max_new_tokens), "--batch", str(args.batch),
                        *fallback_args(args, method), "-o", run_path)
            finally:
                subprocess.run(["kill", pid])
    b_ndcg, b_map = evaluate(bm25)
    print(f"Vaswani, {N_QUERIES} queries; BM25 top 100, the top {args.top} reranked; greedy decoding, "
          f"at most {args.max_new_tokens} new tokens per call; 2 threads (CPU).\n")
    print("| run | backend | queries | nDCG@10 | vs BM25 (p) | MAP@100 | s/query | model calls/query | prompt tok/query | completion tok/query | not cleanly parsed | fell back |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    print(f"| BM25 (tantivy) | | {N_QUERIES} | {b_ndcg:.4f} | | {b_map:.4f} | | | | | | |")
    rows = [(m, meth, "candle") for m, meth in configs] + [(m, meth, "http") for m, meth in configs]
    rows = [(m, v + t, b) for m, meth, b in rows
            for v in ([meth + x for x in SETWISE_VARIANTS] if meth in SETWISE else [meth])
            for t in TOPS]
    for model, method, backend in rows:
        run = os.path.join(args.out, folder(model, backend), method + ".run")
        if not os.path.exists(run + ".progress"):
            continue
        header = json.loads(open(run + ".progress").readline())["config"]
        if backend == "candle":
            how = "candle, " + (header.get("weights") or "quantized") + " weights"
        else:
            how = "HTTP, llama.cpp server"
        s = summarise(run)
        if s["queries"] == 0:
            print(f"| {model} {method} | {how} | 0 (started) | | | | | | | | |")
            continue
        ndcg, mapv = evaluate(run)
        partial = ""
        if s["queries"] < N_QUERIES:
            bn, bm = evaluate(bm25, s["qids"])
            partial = f" (BM25 on these: {bn:.4f} / {bm:.4f})"
        single = method.startswith("first") or "likelihood" in method
        parsed = "n/a" if single else f"{100 * s['not_ok']:.0f}%"
        fell = "n/a" if single else f"{100 * s['fell_back']:.0f}%"
        print(f"| {model} {method} | {how} | {s['queries']}{partial} | {ndcg:.4f} | {significance(bm25, run, s['qids'])} | "
              f"{mapv:.4f} | {s['sec']:.1f} | "
              f"{s['calls']:.1f} | {s['prompt']:.0f} | {s['completion']:.0f} | {parsed} | {fell} |")
    speeds(args, rows)
    agreement(args, configs)


def agreement(args, configs):
    """How the HTTP backend's rankings agree with the candle backend's."""
    lines = []
    for model, method in configs:
        a = os.path.join(args.out, folder(model, "candle"), method + ".run")
        b = os.path.join(args.out, folder(model, "http"), method + ".run")
        if not (os.path.exists(a + ".progress") and os.path.exists(b + ".progress")):
            continue
        def rankings(path):
            r = {}
            for line in open(path):
                q, _, d, rank, _, _ = line.split()
                r.setdefault(q, []).append((int(rank), d))
            return {q: [d for _, d in sorted(v)][: args.top] for q, v in r.items()}
        ra, rb = rankings(a), rankings(b)
        common = sorted(set(ra) & set(rb), key=int)
        same = sum(1 for q in common if ra[q] == rb[q])
        top1 = sum(1 for q in common if ra[q][:1] == rb[q][:1])
        pos = sum(sum(1 for x, y in zip(ra[q], rb[q]) if x == y) for q in common)
        total = sum(len(ra[q]) for q in common)
        lines.append(f"| {model} {method} | {len(common)} | {same} | {top1} | {100 * pos / max(total, 1):.0f}% |")
    if lines:
        print("\nHTTP backend (llama.cpp server) against the candle backend, same model and prompts, greedy:\n")
        print("| run | queries | identical top-20 order | same top document | same document at the same position |")
        print("| --- | --- | --- | --- | --- |")
        print("\n".join(lines))


if __name__ == "__main__":
    main()
