"""Reference behaviour of the published ranking algorithms, from their own code.

Runs llm-rankers 0.0.2 (PyPI; the code behind Rank-R1's setwise heapsort and
bubblesort, and a RankGPT-style sliding window) with judges that answer from relevance
labels, and records how many comparisons each algorithm makes and the order it returns.
tests/reference_algorithms.rs checks that rerank-core makes the same number of calls
and returns the same order on the same input.

llm-rankers imports torch, transformers, openai and tiktoken at module level for its
model code; the algorithms do not use them, so they are replaced by empty modules here
(the model is replaced by the label judge anyway).

usage: python llm_rankers_reference.py OUT.json
"""
import json
import random
import sys
import types

for name in ["torch", "openai", "tiktoken", "transformers"]:
    module = types.ModuleType(name)
    for attr in ["T5Tokenizer", "T5ForConditionalGeneration", "AutoConfig", "AutoModelForCausalLM", "AutoTokenizer"]:
        setattr(module, attr, None)
    sys.modules[name] = module

from llmrankers.listwise import OpenAiListwiseLlmRanker  # noqa: E402
from llmrankers.rankers import SearchResult  # noqa: E402
from llmrankers.setwise import SetwiseLlmRanker  # noqa: E402


def label_order(labels, docs):
    """Indices of docs by label, descending, ties in input order (rerank-core's LabelJudge)."""
    return sorted(range(len(docs)), key=lambda i: -labels.get(docs[i].docid, 0))


def fnv1a(text):
    h = 0xCBF29CE484222325
    for b in text.encode("utf-8"):
        h ^= b
        h = (h * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h


def hash_pick(docs):
    """An arbitrary but deterministic pick (not a consistent order): the FNV-1a hash of
    the set's ids joined by commas, modulo the set's size (rerank-core's tests use the
    same judge). It drives the sorts through paths a label judge never takes."""
    return fnv1a(",".join(d.docid for d in docs)) % len(docs)


def run_setwise(labels, docids, method, num_child, k, judge="labels"):
    ranker = object.__new__(SetwiseLlmRanker)
    ranker.num_child, ranker.k, ranker.method, ranker.num_permutation = num_child, k, method, 1

    degenerate = 0

    def compare(query, docs):
        nonlocal degenerate
        ranker.total_compare += 1
        if len(docs) < 2:
            # llm-rankers' bubblesort asks about sets of 0 or 1 documents once its
            # last_start bookkeeping has skipped a stable stretch. rerank-core does not
            # send those to the model; "no change" is the answer it assumes.
            degenerate += 1
            return ranker.CHARACTERS[0]
        if judge == "hash":
            return ranker.CHARACTERS[hash_pick(docs)]
        return ranker.CHARACTERS[label_order(labels, docs)[0]]

    ranker.compare = compare
    ranking = [SearchResult(docid=d, score=0.0, text="") for d in docids]
    out = ranker.rerank("q", ranking)
    return ranker.total_compare, degenerate, [r.docid for r in out]


def run_listwise(labels, docids, window, step, repeat):
    ranker = object.__new__(OpenAiListwiseLlmRanker)
    ranker.window_size, ranker.step_size, ranker.num_repeat = window, step, repeat
    calls = []

    def compare(query, docs):
        calls.append(len(docs))
        return " > ".join(f"[{i + 1}]" for i in label_order(labels, docs))

    ranker.compare = compare
    ranking = [SearchResult(docid=d, score=0.0, text="") for d in docids]
    out = ranker.rerank("q", ranking)
    return len(calls), [r.docid for r in out]


def main(out_path):
    rng = random.Random(20261123)
    cases = []
    for n, graded in [(100, True), (100, False), (60, True), (37, True), (20, True), (8, False)]:
        docids = [f"d{i}" for i in range(n)]
        if graded:
            labels = {d: rng.choice([0, 0, 0, 1, 1, 2, 3]) for d in docids}
        else:
            values = list(range(n))
            rng.shuffle(values)
            labels = dict(zip(docids, values))
        for method in ["heapsort", "bubblesort"]:
            for num_child, k in [(19, 10), (3, 10), (2, 5), (9, 1), (19, 100)]:
                calls, degenerate, order = run_setwise(labels, docids, method, num_child, k)
                cases.append({"kind": "setwise", "method": method, "num_child": num_child, "k": k,
                              "labels": labels, "docids": docids, "calls": calls,
                              "degenerate_calls": degenerate, "order": order})
        for window, step, repeat in [(20, 10, 1), (20, 10, 2), (10, 5, 1), (20, 7, 1), (4, 2, 1)]:
            calls, order = run_listwise(labels, docids, window, step, repeat)
            cases.append({"kind": "listwise", "window": window, "step": step, "passes": repeat,
                          "labels": labels, "docids": docids, "calls": calls, "order": order})
    # An arbitrary judge, for the bookkeeping paths a consistent one never reaches.
    for n in [100, 37, 20, 9]:
        docids = [f"d{i}" for i in range(n)]
        for method in ["heapsort", "bubblesort"]:
            for num_child, k in [(19, 10), (3, 10), (2, 5), (9, 1), (19, 100), (1, 4)]:
                calls, degenerate, order = run_setwise({}, docids, method, num_child, k, judge="hash")
                cases.append({"kind": "setwise", "judge": "hash", "method": method, "num_child": num_child,
                              "k": k, "labels": {}, "docids": docids, "calls": calls,
                              "degenerate_calls": degenerate, "order": order})
    with open(out_path, "w") as f:
        json.dump({"llm_rankers": "0.0.2", "cases": cases}, f)
        f.write("\n")


if __name__ == "__main__":
    main(sys.argv[1])
