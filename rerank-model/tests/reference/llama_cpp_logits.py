"""Reference logits and greedy continuations from llama.cpp (llama-cpp-python 0.3.36,
built from source) for tests/decoder.rs: our candle decoder on the same GGUF file must
give logits within a stated tolerance at every position and the same first 32 greedy
tokens.

For each model and prompt: the prompt's token ids; at every position the 10 largest
logits (ids and values) and the logits of 64 fixed vocabulary ids; 32 greedily
generated token ids, and llama.cpp's margin (best minus second-best logit) at each of
those 32 choices.

usage: python llama_cpp_logits.py OUT.json MODEL.gguf [MODEL.gguf ...]
"""
import json
import os
import sys

import llama_cpp
import numpy as np

SYSTEM = "You are a helpful assistant."
PROMPTS = [
    f"<|im_start|>system\n{SYSTEM}<|im_end|>\n<|im_start|>user\nWhat is the capital of France?<|im_end|>\n<|im_start|>assistant\n",
    "<|im_start|>system\nYou are RankLLM, an intelligent assistant that can rank passages based on their relevancy to the query<|im_end|>\n"
    "<|im_start|>user\nI will provide you with 3 passages, each indicated by a numerical identifier []. Rank the passages based on their relevance to the search query: solar wind.\n"
    "[1] Bees make honey from nectar.\n[2] The solar wind is a stream of charged particles released from the Sun.\n[3] Wind turbines convert wind into electricity.\n"
    "Search Query: solar wind.\nRank the 3 passages above based on their relevance to the search query. The output format should be [] > [].<|im_end|>\n<|im_start|>assistant\n",
    "The quick brown fox jumps over the lazy dog. Counting: 1, 2, 3, 4, 5,",
]


def main(out, models):
    rng = np.random.default_rng(7)
    result = {"llama_cpp_python": llama_cpp.__version__, "models": {}}
    for path in models:
        # f32 key/value cache (type 0), as ours, so that differences come from the matrix
        # products alone (llama.cpp defaults to f16 there).
        llm = llama_cpp.Llama(model_path=path, n_ctx=1024, logits_all=True, n_threads=2, n_batch=512,
                              type_k=0, type_v=0, verbose=False)
        vocab = llm.n_vocab()
        fixed = sorted(rng.choice(vocab, size=64, replace=False).tolist())
        cases = []
        for prompt in PROMPTS:
            ids = llm.tokenize(prompt.encode("utf-8"), add_bos=False, special=True)
            llm.reset()
            llm.eval(ids)
            scores = np.array(llm.scores[: len(ids)], dtype=np.float32)
            top = np.argsort(-scores, axis=1)[:, :10]
            greedy = []
            llm.reset()
            for tok in llm.generate(ids, temp=0.0, top_k=1, reset=True):
                greedy.append(int(tok))
                if len(greedy) == 32:
                    break
            # llama.cpp's own margins along its greedy path: the gap between its best and
            # second-best logit when it chose each greedy token.
            llm.reset()
            llm.eval(ids + greedy[:-1])
            along = np.array(llm.scores[len(ids) - 1: len(ids) - 1 + len(greedy)], dtype=np.float32)
            best2 = -np.sort(-along, axis=1)[:, :2]
            cases.append({
                "greedy_margins": (best2[:, 0] - best2[:, 1]).round(5).tolist(),
                "prompt": prompt,
                "ids": ids,
                "top_ids": top.tolist(),
                "top_logits": np.take_along_axis(scores, top, axis=1).round(5).tolist(),
                "fixed_logits": scores[:, fixed].round(5).tolist(),
                "greedy": greedy,
            })
        result["models"][os.path.basename(path)] = {"fixed_ids": fixed, "cases": cases}
    with open(out, "w") as f:
        json.dump(result, f)
        f.write("\n")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2:])
