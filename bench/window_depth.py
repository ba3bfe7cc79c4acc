#!/usr/bin/env python3
"""Where do a top-100 run's top 10 come from? A check on the committed Vaswani runs.

Over the top 100, the sliding window (20, step 10, from the bottom up) can carry a
document from deep in BM25's list into the top 10: that is all a top-100 run can add
to a top-20 one. For every `bench/results/vaswani-e2e/MODEL/*top100.run`, this prints
how the run's top-10 places split by the document's BM25 rank (1-10, 11-20, 21-100)
and how many of each are judged relevant (Vaswani's qrels), beside BM25's own top 10
and the relevant documents BM25 leaves at ranks 21-100 (what the run could have lifted).
For FIRST runs it also counts, from the trace (`identifier_logprobs`), which window
position's identifier is the likeliest, window by window: the positional prior that
decides what moves up (for setwise likelihood runs, comparison by comparison: the label
bias). Counts are over the run's finished queries. Reads only committed files.

    python3 bench/window_depth.py [run ...]   # default: every top-100 run
"""
import glob
import json
import os
import sys
from collections import Counter, defaultdict

from trec_files import read_relevant, read_run

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
E2E = os.path.join(ROOT, "bench", "results", "vaswani-e2e")
QRELS = os.path.join(ROOT, "data", "vaswani", "qrels")
BANDS = [(0, 10, "1-10"), (10, 20, "11-20"), (20, 100, "21-100")]


def main():
    runs = sys.argv[1:] or sorted(glob.glob(os.path.join(E2E, "*", "*top100.run")))
    bm25 = read_run(os.path.join(E2E, "bm25.run"))
    relevant = read_relevant(QRELS)
    for path in runs:
        run = read_run(path)
        qids = sorted(run, key=int)
        places = defaultdict(int)
        hits = defaultdict(int)
        for q in qids:
            bm25_rank = {d: i for i, d in enumerate(bm25.get(q, []))}
            for d in run[q][:10]:
                if d not in bm25_rank:
                    sys.exit(f"{path}: query {q}, document {d} is not in BM25's top 100 (bm25.run); "
                             "give a run that reranks bench/results/vaswani-e2e/bm25.run")
                rank = bm25_rank[d]
                band = next(name for lo, hi, name in BANDS if lo <= rank < hi)
                places[band] += 1
                hits[band] += d in relevant[q]
        bm25_hits = sum(d in relevant[q] for q in qids for d in bm25[q][:10])
        deep = sum(d in relevant[q] for q in qids for d in bm25[q][20:100])
        print(f"## {os.path.relpath(path, ROOT)}: {len(qids)} queries, {10 * len(qids)} top-10 places")
        print("| BM25 rank of the document | top-10 places | judged relevant |")
        print("| --- | ---: | ---: |")
        for _, _, name in BANDS:
            print(f"| {name} | {places[name]} | {hits[name]} |")
        print(f"\nBM25's own top 10: {bm25_hits} judged relevant; relevant documents at BM25 ranks "
              f"21-100 on these queries: {deep}\n")
        trace = path + ".trace.jsonl"
        if os.path.exists(trace):
            with open(trace) as f:
                calls = [json.loads(line) for line in f if line.strip()]
            firsts = Counter(max(range(len(c["identifier_logprobs"])), key=c["identifier_logprobs"].__getitem__) + 1
                             for c in calls if c.get("identifier_logprobs"))
            if firsts:
                told = ", ".join(f"[{k}] in {n}" for k, n in firsts.most_common())
                unit = "comparisons" if calls[0].get("method") == "heapsort" else "windows"
                print(f"Likeliest identifier of each of the {sum(firsts.values())} {unit}: {told}\n")


if __name__ == "__main__":
    main()
