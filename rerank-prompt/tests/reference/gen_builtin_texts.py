"""Generates src/builtin_texts.rs from tests/data/prompts.md (a copy of
shared/reference/prompts.md): the published prompt texts as Rust string constants, so
that not a byte is retyped by hand. tests/builtin_prompts.rs checks the constants
against the markdown again.

usage: python gen_builtin_texts.py
"""
import json
import os
import re
import tomllib

HERE = os.path.dirname(os.path.abspath(__file__))
MD = os.path.join(HERE, "..", "data", "prompts.md")
OUT = os.path.join(HERE, "..", "..", "src", "builtin_texts.rs")


def rust(s):
    out = []
    for ch in s:
        if ch == "\\":
            out.append("\\\\")
        elif ch == '"':
            out.append('\\"')
        elif ch == "\n":
            out.append("\\n")
        elif 32 <= ord(ch) < 127:
            out.append(ch)
        else:
            out.append("\\u{%x}" % ord(ch))
    return '"' + "".join(out) + '"'


def main():
    text = open(MD, encoding="utf-8").read()
    blocks = re.findall(r"```(toml|json)\n(.*?)```", text, re.S)
    toml_blocks = [tomllib.loads(b) for kind, b in blocks if kind == "toml"]
    json_blocks = [json.loads(b) for kind, b in blocks if kind == "json"]
    r1, zero_shot, v02, zephyr = toml_blocks
    rearank, rankgpt = json_blocks
    consts = {}
    for prefix, t in [("RANK_R1", r1), ("SETWISE", zero_shot), ("RANK_R1_V02", v02), ("RANKZEPHYR", zephyr)]:
        for key in ["prompt_system", "prompt_user", "pattern", "doc_separator", "doc_prefix"]:
            if key in t:
                consts[f"{prefix}_{key.upper()}"] = t[key]
    for prefix, msgs in [("REARANK", rearank), ("RANKGPT", rankgpt)]:
        names = ["SYSTEM", "INTRO_USER", "INTRO_ASSISTANT", "PASSAGE_USER", "PASSAGE_ASSISTANT", "FINAL_USER"]
        roles = ["system", "user", "assistant", "user", "assistant", "user"]
        assert [m["role"] for m in msgs] == roles
        for name, m in zip(names, msgs):
            consts[f"{prefix}_{name}"] = m["content"]
    with open(OUT, "w") as f:
        f.write("//! The published prompt texts, generated from `tests/data/prompts.md` by\n")
        f.write("//! `tests/reference/gen_builtin_texts.py`. Do not edit by hand.\n")
        f.write("//! Every published field is kept, including ones a template does not use\n")
        f.write("//! (Rank-R1 v0.1's `doc_prefix`, which only v0.2's code applied).\n")
        f.write("#![allow(dead_code)]\n\n")
        for name, value in consts.items():
            f.write(f"pub(crate) const {name}: &str = {rust(value)};\n")


if __name__ == "__main__":
    main()
