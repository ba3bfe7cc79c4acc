"""The pytrec_eval side of the evaluation benchmark: read a qrels file and a run file,
evaluate all_trec for every query, print the means (as `trec_eval -m all_trec` would).

usage: python bench/pytrec_eval_all_trec.py QRELS RUN
"""
import sys
from collections import defaultdict

import pytrec_eval


def main(qrels_path, run_path):
    qrels = defaultdict(dict)
    with open(qrels_path) as f:
        for line in f:
            qid, _, docno, rel = line.split()
            qrels[qid][docno] = int(rel)
    run = defaultdict(dict)
    with open(run_path) as f:
        for line in f:
            qid, _, docno, _, score, _ = line.split()
            run[qid][docno] = float(score)
    evaluator = pytrec_eval.RelevanceEvaluator(qrels, {"all_trec"})
    results = evaluator.evaluate(run)
    measures = sorted(next(iter(results.values())).keys())
    for m in measures:
        values = [q[m] for q in results.values()]
        print(f"{m:<22}\tall\t{sum(values) / len(values):.4f}")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
