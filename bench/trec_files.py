"""TREC run and qrels readers shared by the bench scripts that read the committed
Vaswani results (`first_calibration.py`, `setwise_picks.py`, `window_depth.py`).
A missing file or a malformed line exits with the file and line."""
import sys
from collections import defaultdict


def rows(path, width, what):
    """The whitespace-separated fields of each line of `path`, exiting with the file and
    line when a line does not have `width` of them."""
    try:
        f = open(path)
    except OSError as e:
        sys.exit(f"{path}: cannot read the {what} file: {e.strerror}")
    with f:
        for n, line in enumerate(f, 1):
            parts = line.split()
            if len(parts) != width:
                sys.exit(f"{path}:{n}: expected {width} fields of a {what} line, got {len(parts)}")
            yield parts


def read_run(path):
    """A TREC run as {qid: [docid, ...]} in rank order."""
    ranked = defaultdict(list)
    for q, _, d, rank, _, _ in rows(path, 6, "TREC run"):
        ranked[q].append((int(rank), d))
    return {q: [d for _, d in sorted(v)] for q, v in ranked.items()}


def read_relevant(path):
    """Qrels as {qid: {docid judged relevant (grade > 0), ...}}."""
    relevant = defaultdict(set)
    for q, _, d, grade in rows(path, 4, "qrels"):
        if int(grade) > 0:
            relevant[q].add(d)
    return relevant
