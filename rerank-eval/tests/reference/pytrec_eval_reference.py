"""Reference values from pytrec_eval for the differential test (tests/pytrec_eval_diff.rs).

pytrec_eval (PyPI package `pytrec-eval-terrier`) embeds trec_eval's C code. For every
case folder under CASES_DIR (files `qrels`, `run`, `config.json`), this evaluates the
run with pytrec_eval and writes `result.json`: {qid: {measure: value}}.

usage: python pytrec_eval_reference.py CASES_DIR
"""
import json
import math
import os
import sys
from collections import defaultdict

import pytrec_eval


def read_qrels(path):
    qrels = defaultdict(dict)
    with open(path) as f:
        for line in f:
            if not line.strip() or line.startswith("#"):
                continue
            qid, _, docno, rel = line.split()
            qrels[qid][docno] = int(rel)
    return qrels


def read_run(path):
    run = defaultdict(dict)
    with open(path) as f:
        for line in f:
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            qid, _, docno, _, score, _ = line.split()[:6]
            run[qid][docno] = float(score)
    return run


def main(cases_dir):
    for name in sorted(os.listdir(cases_dir)):
        case = os.path.join(cases_dir, name)
        with open(os.path.join(case, "config.json")) as f:
            config = json.load(f)
        evaluator = pytrec_eval.RelevanceEvaluator(
            read_qrels(os.path.join(case, "qrels")),
            set(config["measures"]),
            relevance_level=config["relevance_level"],
            judged_docs_only_flag=config["judged_only"],
        )
        result = evaluator.evaluate(read_run(os.path.join(case, "run")))
        # JSON has no NaN: write it as a string.
        clean = {
            q: {m: ("nan" if isinstance(v, float) and math.isnan(v) else v) for m, v in ms.items()}
            for q, ms in result.items()
        }
        with open(os.path.join(case, "result.json"), "w") as f:
            json.dump(clean, f)
    print(f"pytrec_eval {pytrec_eval.__version__ if hasattr(pytrec_eval, '__version__') else ''}: "
          f"{len(os.listdir(cases_dir))} cases", file=sys.stderr)


if __name__ == "__main__":
    main(sys.argv[1])
