"""Exact reference logits from an implementation independent of ours: Hugging Face
transformers reads the same GGUF files (dequantizing every weight with the `gguf`
package, once, into float64 tensors), and runs its own Llama / Qwen2 code in float64. For tests/decoder.rs: our
decoder (quantized, and with dequantized weights) and llama.cpp are each measured
against these values.

For every model and prompt of data/llama_cpp_logits.json (the same token ids): at every
position, the logits of llama.cpp's 10 best ids and of the 64 fixed ids.

usage: .venv-torch/bin/python transformers_logits.py LLAMA_CPP.json OUT.json MODEL.gguf [MODEL.gguf ...]
  (.venv-torch from scripts/python-env-torch.sh)
"""
import json
import os
import sys

import torch
import transformers
from transformers import AutoModelForCausalLM
from transformers.utils.quantization_config import GgufConfig


def main(reference, out, models):
    fixture = json.load(open(reference))
    result = {"transformers": transformers.__version__, "torch": torch.__version__, "dtype": "float64",
              "models": {}}
    for path in models:
        name = os.path.basename(path)
        ref = fixture["models"][name]
        # dequantize=True: every weight dequantized once into float64 tensors (by default
        # transformers 5 keeps GGUF blocks packed and multiplies in float32).
        model = AutoModelForCausalLM.from_pretrained(os.path.dirname(path), gguf_file=name,
                                                     dtype=torch.float64,
                                                     quantization_config=GgufConfig(dequantize=True))
        model.eval()
        fixed = ref["fixed_ids"]
        cases = []
        for case in ref["cases"]:
            ids = torch.tensor([case["ids"]])
            with torch.no_grad():
                logits = model(ids).logits[0]
            cases.append({
                "top_logits": [[logits[p, i].item() for i in case["top_ids"][p]] for p in range(len(case["ids"]))],
                "fixed_logits": [[logits[p, i].item() for i in fixed] for p in range(len(case["ids"]))],
            })
        result["models"][name] = {"cases": cases}
        del model
    with open(out, "w") as f:
        json.dump(result, f, separators=(",", ":"))
        f.write("\n")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3:])
