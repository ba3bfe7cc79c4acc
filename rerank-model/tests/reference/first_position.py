"""Why tests/decoder.rs skips position 0 of the ChatML prompts for Qwen2.5-Coder-1.5B:
at that position (`<|im_start|>` alone) llama.cpp's logits (data/llama_cpp_logits.json)
are far from those of Hugging Face transformers on the same GGUF file dequantized to
float32, while ours agree with transformers; from position 1 on, llama.cpp agrees again.
Prints, for the first four positions of the first prompt, four of the fixed ids' logits
from both, and position 0's three best tokens by llama.cpp for a ChatML prompt and for
plain text.

Output on 2026-12-02 (transformers 5.24.0, torch 2.15.0):
  0 transformers [-3.389, -2.425, -0.815, -2.5] llama.cpp [-2.605, -2.719, 1.359, -0.723]
  1 transformers [-1.919, -3.845, -2.156, -3.477] llama.cpp [-1.952, -3.831, -1.918, -3.597]
  2 transformers [3.344, 0.627, 3.28, 0.806] llama.cpp [3.161, 0.632, 3.327, 0.815]
  3 transformers [2.864, 0.26, 3.5, 1.02] llama.cpp [2.697, 0.149, 3.494, 0.967]
  prompt 0, position 0, llama.cpp's best [15, 16, 18]: transformers [6.601, 12.55, 10.476] llama.cpp [22.015, 18.505, 16.901]
  prompt 2, position 0, llama.cpp's best [15, 16, 18]: transformers [2.316, 7.858, 5.814] llama.cpp [14.427, 13.351, 11.891]
(ours at position 0, token 15: 6.64 and 2.43; fixed id 10438 of prompt 0: -3.397 with
quantized weights, -3.389 dense.)

usage: .venv-torch/bin/python first_position.py  (after `rerank fetch-model qwen2.5-1.5b`)
"""
import json
import os

import torch
from transformers import AutoModelForCausalLM
from transformers.utils.quantization_config import GgufConfig

HERE = os.path.dirname(os.path.abspath(__file__))
NAME = "Qwen2.5-Coder-1.5B-Instruct.Q4_K_M.gguf"


def main():
    fx = json.load(open(os.path.join(HERE, "..", "data", "llama_cpp_logits.json")))
    m = fx["models"][NAME]
    case = m["cases"][0]
    models = os.environ.get("RERANK_MODELS", os.path.expanduser("~/.cache/rerank/models"))
    model = AutoModelForCausalLM.from_pretrained(models, gguf_file=NAME, dtype=torch.float32,
                                                 quantization_config=GgufConfig(dequantize=True))
    with torch.no_grad():
        logits = model(torch.tensor([case["ids"][:4]])).logits[0]
    fixed = m["fixed_ids"][:4]
    for pos in range(4):
        print(pos, "transformers", [round(logits[pos, i].item(), 3) for i in fixed],
              "llama.cpp", [round(v, 3) for v in case["fixed_logits"][pos][:4]])
    for ci in (0, 2):  # a ChatML prompt (<|im_start|> first) and plain text ("The" first)
        c = m["cases"][ci]
        with torch.no_grad():
            first = model(torch.tensor([c["ids"][:1]])).logits[0, 0]
        top = c["top_ids"][0][:3]
        print(f"prompt {ci}, position 0, llama.cpp's best {top}: transformers",
              [round(first[i].item(), 3) for i in top], "llama.cpp",
              [round(v, 3) for v in c["top_logits"][0][:3]])


if __name__ == "__main__":
    main()
