#!/usr/bin/env python3
"""Do the Rank-R1 rows' picks carry relevance? A check on the committed Vaswani traces.

Rank-R1's heapsort asks the model for the most relevant document of a shuffled set
(`<answer>[k]</answer>`); each comparison is one line of
`bench/results/vaswani-e2e/MODEL/rank-r1*.run.trace.jsonl`, with the documents in the
order shown (`doc_ids`) and either the generated text (`raw_output`, read with Rank-R1's
own rule, as the run did: the group of `<think>.*?</think>\\s*<answer>(.*?)</answer>` on
the lower-cased text must be exactly `[k]`) or, for `--setwise-scoring likelihood`, the
log-probability of each label (`identifier_logprobs`; the pick is the largest, ties to
the better first-stage rank, as the run does).

Over the comparisons whose set holds at least one judged-relevant document (Vaswani's
qrels), it prints how often the pick is relevant against two references on the same
sets: a uniformly random document of the set (the share of relevant documents in it)
and the set's best-ranked document by BM25 (what `--fallback first-stage` picks).
`pick+ bm25-` and `pick- bm25+` count the sets where exactly one of the two is
relevant; the sign-test p-value (two-sided, exact binomial) says whether the model's
picks beat or trail BM25's more than chance would. The most common label, counted
against all readable picks, shows a label bias (a model that always answers `[3]` picks
a random document, since the set is shuffled). Reads only committed files.

    python3 bench/setwise_picks.py [trace.jsonl ...]   # default: every Rank-R1 trace
"""
import glob
import json
import math
import os
import re
import sys
from collections import Counter

from trec_files import read_relevant, read_run

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
E2E = os.path.join(ROOT, "bench", "results", "vaswani-e2e")
QRELS = os.path.join(ROOT, "data", "vaswani", "qrels")
# Rank-R1's answer pattern (rerank-prompt's RANK_R1_PATTERN), dot matching new lines.
PATTERN = re.compile(r"<think>.*?</think>\s*<answer>(.*?)</answer>", re.S)


def read_ranks(path):
    """A TREC run as {qid: {docid: 1-based rank}}."""
    return {q: {d: i + 1 for i, d in enumerate(docs)} for q, docs in read_run(path).items()}


def pick(t, rank):
    """The 0-based label the run used, or None where the answer was unusable; `rank`
    maps the query's documents to their first-stage ranks."""
    if "identifier_logprobs" in t:
        lp, docs = t["identifier_logprobs"], t["doc_ids"]
        return max(range(len(lp)), key=lambda i: (lp[i], -rank[docs[i]]))
    if not t.get("applied"):
        return None
    m = PATTERN.search(t["raw_output"].lower())
    group = m.group(1).strip() if m else ""
    k = re.fullmatch(r"\[(\d+)\]", group)
    if not k or not 1 <= int(k.group(1)) <= len(t["doc_ids"]):
        raise SystemExit(f"applied pick not in Rank-R1's form (lenient run?): {t['query_id']} step {t['step']}")
    return int(k.group(1)) - 1


def sign_test(a, b):
    """Two-sided exact binomial p-value for a successes of a + b at p = 1/2."""
    n = a + b
    if n == 0:
        return 1.0
    tail = sum(math.comb(n, i) for i in range(0, min(a, b) + 1)) / 2**n
    return min(1.0, 2 * tail)


def analyse(path, rel, ranks):
    calls = readable = 0
    n = hit = bm25_hit = 0
    rand = 0.0
    only_pick = only_bm25 = same = 0
    labels = Counter()
    queries = set()
    for line in open(path):
        if not line.strip():
            continue
        t = json.loads(line)
        calls += 1
        queries.add(t["query_id"])
        k = pick(t, ranks[t["query_id"]])
        if k is None:
            continue
        readable += 1
        labels[k + 1] += 1
        docs, relevant = t["doc_ids"], rel[t["query_id"]]
        n_rel = sum(d in relevant for d in docs)
        if n_rel == 0:
            continue
        best = min(docs, key=lambda d: ranks[t["query_id"]][d])
        n += 1
        p, b = docs[k] in relevant, best in relevant
        hit += p
        bm25_hit += b
        rand += n_rel / len(docs)
        only_pick += p and not b
        only_bm25 += b and not p
        same += docs[k] == best
    top_label, top_count = labels.most_common(1)[0] if labels else (None, 0)
    return {
        "queries": len(queries), "calls": calls, "readable": readable, "sets": n,
        "pick": hit / n if n else float("nan"), "random": rand / n if n else float("nan"),
        "bm25": bm25_hit / n if n else float("nan"), "only_pick": only_pick,
        "only_bm25": only_bm25, "p": sign_test(only_pick, only_bm25),
        "same": same / n if n else float("nan"),
        "label": f"[{top_label}] in {top_count} of {readable}" if readable else "n/a",
    }


def main():
    paths = sys.argv[1:] or sorted(glob.glob(os.path.join(E2E, "*", "rank-r1*.run.trace.jsonl")))
    rel = read_relevant(QRELS)
    ranks = read_ranks(os.path.join(E2E, "bm25.run"))
    print("| trace | queries | calls | readable picks | sets with a relevant doc | pick relevant |"
          " random doc relevant | BM25's best relevant | pick+ bm25- | pick- bm25+ | sign test p |"
          " pick = BM25's best | commonest label |")
    print("| --- |" + " ---: |" * 11 + " --- |")
    for path in paths:
        r = analyse(path, rel, ranks)
        name = os.path.relpath(path, E2E).replace(".run.trace.jsonl", "")
        if r["sets"] == 0:  # no readable pick in a set with a relevant document: nothing to compare
            print(f"| {name} | {r['queries']} | {r['calls']} | {r['readable']} | 0 |" + " — |" * 8)
            continue
        print(f"| {name} | {r['queries']} | {r['calls']} | {r['readable']} | {r['sets']} | {r['pick']:.3f} |"
              f" {r['random']:.3f} | {r['bm25']:.3f} | {r['only_pick']} | {r['only_bm25']} | {r['p']:.3g} |"
              f" {r['same']:.0%} | {r['label']} |")


if __name__ == "__main__":
    main()
