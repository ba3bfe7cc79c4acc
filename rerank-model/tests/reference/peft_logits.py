"""Logits of a GGUF model with a LoRA adapter written by this project, computed by
Hugging Face transformers (the GGUF file dequantized into float64) with the adapter
applied by PEFT: for tests/lora.rs, which applies the same adapter with our decoder.

The adapter is the seeded one of `examples/write_adapter.rs` (rank 4, alpha 8, all seven
projections, B non-zero), written in PEFT's format by `Adapter::save_peft`; PEFT loads
it with `PeftModel.from_pretrained`. For llama models transformers undoes llama.cpp's
q/k row permutation on load, so this also checks that our files are in Hugging Face's
row order. For every model, the first prompt of data/llama_cpp_logits.json: the logits
of the 64 fixed ids at every position, without and with the adapter.

usage: .venv-torch/bin/python peft_logits.py LLAMA_CPP.json OUT.json MODEL.gguf [MODEL.gguf ...]
  (after `cargo build --release -p rerank-model --example write_adapter`;
   .venv-torch from scripts/python-env-torch.sh)
"""
import json
import os
import subprocess
import sys
import tempfile

import peft
import torch
import transformers
from peft import PeftModel
from transformers import AutoModelForCausalLM
from transformers.utils.quantization_config import GgufConfig

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
WRITER = os.path.join(ROOT, "target", "release", "examples", "write_adapter")


def main(reference, out, models):
    fixture = json.load(open(reference))
    result = {"transformers": transformers.__version__, "peft": peft.__version__,
              "torch": torch.__version__, "dtype": "float64", "models": {}}
    for path in models:
        name = os.path.basename(path)
        ref = fixture["models"][name]
        adapter = tempfile.mkdtemp()
        subprocess.run([WRITER, path, adapter], check=True)
        model = AutoModelForCausalLM.from_pretrained(os.path.dirname(path), gguf_file=name,
                                                     dtype=torch.float64,
                                                     quantization_config=GgufConfig(dequantize=True))
        model.eval()
        fixed = ref["fixed_ids"]
        ids = torch.tensor([ref["cases"][0]["ids"]])
        with torch.no_grad():
            base = model(ids).logits[0]
        model = PeftModel.from_pretrained(model, adapter, torch_dtype=torch.float64)
        model.eval()
        with torch.no_grad():
            adapted = model(ids).logits[0]
        n = ids.shape[1]
        result["models"][name] = {
            "ids": ref["cases"][0]["ids"],
            "fixed_ids": fixed,
            "base": [[base[p, i].item() for i in fixed] for p in range(n)],
            "adapted": [[adapted[p, i].item() for i in fixed] for p in range(n)],
        }
        print(name, "largest change from the adapter:", (adapted - base).abs().max().item())
        del model
    with open(out, "w") as f:
        json.dump(result, f, separators=(",", ":"))
        f.write("\n")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3:])
