"""Writes a large synthetic qrels/run pair for the evaluation benchmark, deterministically.

7,000 queries x 1,000 retrieved documents (7 million run lines, about 250 MB), scores
rounded to two decimals so that many documents tie, most retrieved documents unjudged,
graded labels 0-3 and a few -1 (in the pool, unjudged), about 100 judgements a query of
which some are never retrieved.

usage: python bench/gen_large_run.py OUT_DIR [--queries N] [--docs N] [--seed S]
"""
import argparse
import os
import random


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--queries", type=int, default=7000)
    ap.add_argument("--docs", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=2026)
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    rng = random.Random(args.seed)
    labels = [0, 0, 0, 0, 1, 1, 2, 3, -1]
    with open(os.path.join(args.out, "qrels"), "w") as qf, open(os.path.join(args.out, "run"), "w") as rf:
        for q in range(args.queries):
            qid = f"q{q}"
            docs = rng.sample(range(20_000_000), args.docs + 40)
            retrieved, unretrieved = docs[: args.docs], docs[args.docs:]
            # judged: 60 retrieved (skewed to the top) and the 40 never retrieved
            judged = set(rng.sample(retrieved[:300], 40) + rng.sample(retrieved[300:], 20))
            qlines = [f"{qid} 0 doc{d} {rng.choice(labels)}\n" for d in sorted(judged)]
            qlines += [f"{qid} 0 doc{d} {rng.choice(labels[:-1])}\n" for d in unretrieved]
            qf.writelines(qlines)
            top = rng.uniform(10.0, 30.0)
            scores = sorted((round(rng.uniform(0.0, top), 2) for _ in retrieved), reverse=True)
            rf.writelines(
                f"{qid} Q0 doc{d} {r + 1} {s} bench\n" for r, (d, s) in enumerate(zip(retrieved, scores))
            )


if __name__ == "__main__":
    main()
