"""Real clients against `rerank serve`, unchanged: the official Cohere SDK
(`cohere.ClientV2`), a Jina/vLLM-style client with plain `requests`, and TEI's request
shape. Prints what each got, as one JSON object, for tests/serve_cli.rs (which checks
the orders against `rerank rerank` on the same query and candidates).

usage: python clients.py BASE_URL CASE.json   (CASE: {"query": …, "documents": […]})
"""
import json
import sys

import cohere
import requests


def main(base, case_path):
    case = json.load(open(case_path))
    query, docs = case["query"], case["documents"]
    out = {}

    co = cohere.ClientV2(api_key=case.get("api_key", "unused"), base_url=base)
    r = co.rerank(model="smollm2-135m", query=query, documents=docs, top_n=len(docs))
    out["cohere"] = {"order": [x.index for x in r.results],
                     "scores": [x.relevance_score for x in r.results],
                     "id": r.id, "api_version": r.meta.api_version.version}
    r = co.rerank(model="smollm2-135m", query=query, documents=docs, top_n=2)
    out["cohere_top2"] = [x.index for x in r.results]

    headers = {"Authorization": "Bearer " + case.get("api_key", "unused")}
    r = requests.post(base + "/v1/rerank", headers=headers, timeout=600,
                      json={"model": "smollm2-135m", "query": query,
                            "documents": [{"text": d} for d in docs], "top_n": len(docs),
                            "return_documents": True})
    r.raise_for_status()
    j = r.json()
    out["jina"] = {"order": [x["index"] for x in j["results"]],
                   "texts_match": all(x["document"]["text"] == docs[x["index"]] for x in j["results"]),
                   "scores": [x["relevance_score"] for x in j["results"]],
                   "usage": j["usage"], "model": j["model"]}

    r = requests.post(base + "/rerank", headers=headers, timeout=600,
                      json={"query": query, "texts": docs, "return_text": True})
    r.raise_for_status()
    j = r.json()
    out["tei"] = {"order": [x["index"] for x in j],
                  "texts_match": all(x["text"] == docs[x["index"]] for x in j),
                  "scores": [x["score"] for x in j]}

    r = requests.post(base + "/native/rerank", headers=headers, timeout=600,
                      json={"query": query, "documents": docs})
    r.raise_for_status()
    j = r.json()
    out["native"] = {"order": [x["index"] for x in j["results"]], "calls": len(j["calls"]),
                     "has_raw_output": all("raw_output" in c for c in j["calls"])}
    print(json.dumps(out))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
