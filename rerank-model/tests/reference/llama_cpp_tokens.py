"""Token ids that llama.cpp (llama-cpp-python, which builds it from source) assigns to a
set of texts, for tests/tokenizer.rs: our tokenizer, built from the same GGUF file's
metadata, must give the same ids.

usage: python llama_cpp_tokens.py OUT.json MODEL.gguf [MODEL.gguf ...]
"""
import json
import os
import sys

import llama_cpp

TEXTS = [
    "Hello, world!",
    "The quick brown fox jumps over the lazy dog.",
    "[12] > [3] > [1] > [20]",
    "<think>Passage [2] mentions solar wind.</think>\n<answer>[2] > [1]</answer>",
    "  leading spaces, trailing spaces   \n\n\ttabs\tand\nnew lines\n",
    "Ünïcödé: naïve café — 数学很有趣 🚀🎉 ＲＡＮＫ ３ ①②③",
    "def f(x):\n    return x ** 2  # square\n",
    "numbers 1234567890 3.14159 -42 1e-9",
    "<|im_start|>system\nYou are DeepRerank.<|im_end|>\n<|im_start|>user\nRank these.<|im_end|>\n<|im_start|>assistant\n",
    "A" * 300,
]


def main(out, models):
    result = {"llama_cpp_python": llama_cpp.__version__, "texts": TEXTS, "models": {}}
    for path in models:
        llm = llama_cpp.Llama(model_path=path, vocab_only=True, verbose=False)
        result["models"][os.path.basename(path)] = [
            llm.tokenize(t.encode("utf-8"), add_bos=False, special=True) for t in TEXTS
        ]
    with open(out, "w", encoding="utf-8") as f:
        json.dump(result, f, ensure_ascii=False)
        f.write("\n")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2:])
