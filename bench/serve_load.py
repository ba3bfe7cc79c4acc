"""Throughput of `rerank serve` under concurrent clients, on the loopback interface.

Starts the server (SmolLM2 on candle by default), then for 1, 4 and 16 concurrent
clients sends the same Vaswani queries (the first --queries topics, in file order),
each with its BM25 top --docs abstracts, to POST /v1/rerank, and prints queries per
minute, p50 / p95 latency and the throughput ratio against one client. Every answer
is checked: each request answered once (unique response ids), each a permutation of
its documents; a lost or duplicated answer fails the run. Bounded: at most
--queries requests per level, each with a deadline.

usage: python3 bench/serve_load.py [--queries 16] [--docs 10] [--clients 1 4 16]
       [--method rearank] [--max-new-tokens 128] [--model smollm2-135m]
  (after `cargo build --release -p rerank-cli`; RERANK=path/to/rerank runs another build)
"""
import argparse
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.path.join(ROOT, "data", "vaswani")
BIN = os.environ.get("RERANK") or os.path.join(ROOT, "target", "release", "rerank")


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def cpus():
    """CPUs this process may run on (honours `taskset`), as the server's thread pool sees them."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count()


def post(url, payload, timeout=900):
    req = urllib.request.Request(url, data=json.dumps(payload).encode(), method="POST",
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=timeout) as r:
        return json.load(r)


def topics():
    text = open(os.path.join(DATA, "query-text.trec"), encoding="utf-8").read()
    out = []
    for block in re.findall(r"<top>(.*?)</top>", text, re.S | re.I):
        num = re.search(r"<num>\s*([^<\s]+)", block, re.I).group(1)
        title = re.search(r"<title>(.*?)(?=<|$)", block, re.S | re.I).group(1)
        out.append((num, " ".join(title.split())))
    return out


def corpus():
    text = open(os.path.join(DATA, "doc-text.trec"), encoding="utf-8").read()
    docs = {}
    for block in re.findall(r"<DOC>(.*?)</DOC>", text, re.S | re.I):
        no = re.search(r"<DOCNO>\s*(.*?)\s*</DOCNO>", block, re.S | re.I).group(1)
        body = re.sub(r"<DOCNO>.*?</DOCNO>", "", block, flags=re.S | re.I)
        docs[no] = " ".join(body.split())
    return docs


def bm25(tmp, k):
    run = os.path.join(tmp, "bm25.run")
    subprocess.run([BIN, "retrieve", "--corpus", os.path.join(DATA, "doc-text.trec"),
                    "--topics", os.path.join(DATA, "query-text.trec"), "-k", str(k), "-o", run],
                   check=True, stderr=subprocess.DEVNULL)
    ranked = {}
    for line in open(run):
        q, _, d, *_ = line.split()
        ranked.setdefault(q, []).append(d)
    return ranked


def level(base, requests, clients):
    lock = threading.Lock()
    todo = list(enumerate(requests))
    latencies, ids, problems = [], [], []

    def worker():
        while True:
            with lock:
                if not todo:
                    return
                i, payload = todo.pop(0)
            t0 = time.perf_counter()
            try:
                r = post(base + "/v1/rerank", payload)
            except Exception as e:  # noqa: BLE001 - counted as a lost request
                with lock:
                    problems.append(f"request {i}: {e}")
                continue
            dt = time.perf_counter() - t0
            order = sorted(x["index"] for x in r["results"])
            with lock:
                latencies.append(dt)
                ids.append(r["id"])
                if order != list(range(len(payload["documents"]))):
                    problems.append(f"request {i}: not a permutation: {order}")

    start = time.perf_counter()
    threads = [threading.Thread(target=worker) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - start
    if len(ids) != len(requests) or len(set(ids)) != len(ids):
        problems.append(f"{len(requests)} sent, {len(ids)} answered, {len(set(ids))} distinct")
    return wall, latencies, problems


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--queries", type=int, default=16)
    ap.add_argument("--docs", type=int, default=10)
    ap.add_argument("--clients", type=int, nargs="+", default=[1, 4, 16])
    ap.add_argument("--model", default="smollm2-135m")
    ap.add_argument("--method", default="rearank")
    ap.add_argument("--max-new-tokens", type=int, default=128)
    ap.add_argument("--batch", type=int, default=16)
    args = ap.parse_args()
    tmp = tempfile.mkdtemp()
    ranked, docs = bm25(tmp, args.docs), corpus()
    requests = []
    for qid, text in topics()[: args.queries]:
        requests.append({"model": args.model, "query": text,
                         "documents": [docs[d] for d in ranked[qid][: args.docs]]})
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = open(os.path.join(tmp, "serve.log"), "w")
    server = subprocess.Popen([BIN, "serve", "--model", args.model, "--method", args.method,
                               "--top", str(args.docs), "--window", str(args.docs), "--step", str(args.docs),
                               "--max-new-tokens", str(args.max_new_tokens), "--batch", str(args.batch),
                               "--max-queue", "64", "--listen", f"127.0.0.1:{port}"],
                              stdout=subprocess.DEVNULL, stderr=log)
    try:
        deadline = time.monotonic() + 120
        while True:
            if server.poll() is not None:
                log.close()
                sys.exit(f"the server exited with status {server.returncode} before it answered "
                         f"/health; its log:\n{open(log.name).read()[-2000:]}")
            if time.monotonic() > deadline:
                sys.exit(f"the server did not answer /health within 120 s; see {log.name}")
            try:
                urllib.request.urlopen(base + "/health", timeout=2)
                break
            except OSError:
                time.sleep(0.1)
        print(f"{args.queries} Vaswani queries x {args.docs} BM25 abstracts, {args.method} on {args.model}, "
              f"<= {args.max_new_tokens} new tokens, server batch {args.batch}, {cpus()} CPUs")
        print("| clients | wall time (s) | queries per minute | p50 latency (s) | p95 latency (s) | vs 1 client |")
        print("| ---: | ---: | ---: | ---: | ---: | ---: |")
        first = None
        failed = False
        for c in args.clients:
            wall, lat, problems = level(base, requests, c)
            if lat:
                qpm = 60 * len(lat) / wall
                first = first or qpm
                lat.sort()
                p95 = lat[min(len(lat) - 1, int(round(0.95 * (len(lat) - 1))))]
                print(f"| {c} | {wall:.1f} | {qpm:.1f} | {statistics.median(lat):.2f} | {p95:.2f} | {qpm / first:.2f}x |")
            else:
                print(f"| {c} | {wall:.1f} | no request answered | | | |")
                failed = True
            for p in problems:
                print("  PROBLEM:", p)
                failed = True
            if not lat:
                break
        sys.exit(1 if failed else 0)
    finally:
        server.terminate()
        server.wait(timeout=60)


if __name__ == "__main__":
    main()
