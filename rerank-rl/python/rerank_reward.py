"""The rewards of rerank-rl (REARANK's and Rank-R1's), in plain Python, for the
engines that train at scale: verl calls `compute_score`, TRL calls `reward_func`.

They compute exactly what the Rust crate computes (its test
`tests/python_rewards.rs` compares both on thousands of generated completions to
1e-12): the answer is read with a port of rerank-prompt's parsers (the last
`<answer>` block, else the text after `</think>`, else the whole output; identifiers
in any Unicode digit script), nDCG@10 is trec_eval's `ndcg_cut` with linear gains,
and Rank-R1's rule is the published one (ielab/llm-rankers `Rank-R1/train_grpo.py`).
Standard library only. One caveat: Rank-R1's lenient reading lower-cases the output
as Rust does, and Python 3.11 knows Unicode 14 case mappings where Rust knows 16; a
character given a case mapping since then could read differently (none is in a
passage label).

verl (`custom_reward_function.path=rerank_reward.py`, `name=compute_score`,
optionally `reward_kwargs`):

    compute_score(data_source, solution_str, ground_truth, extra_info=None, **settings)

TRL (`GRPOTrainer(reward_funcs=[reward_func], ...)` on the JSON lines of
`rerank rl build-data`, whose columns it passes as keyword lists):

    reward_func(completions, ground_truth, method, **columns)

Settings (both): `gain` ("normalized", "raw", "difference"), `w_rank` (0.8),
`w_think_answer` (0.1), `w_answer_format` (0.1), `depth` (10) for REARANK; `rule`
("exact", "lenient") for Rank-R1.
"""
import json
import math
import re
import sys

__all__ = ["compute_score", "reward_func", "rearank_reward", "rank_r1_reward", "ndcg_cut_of_labels"]

# Rust's char::is_whitespace (Unicode White_Space). Python's isspace() also takes
# U+001C..U+001F; where Rust code trims or matches \s, this set is used instead.
RUST_WS = "\t\n\x0b\x0c\r \x85\xa0\u1680" + "".join(chr(c) for c in range(0x2000, 0x200B)) + "\u2028\u2029\u202f\u205f\u3000"
RUST_WS_CLASS = "[" + re.escape(RUST_WS) + "]"
_ASCII_LOWER = {c: c + 32 for c in range(ord("A"), ord("Z") + 1)}

# --- identifiers (rerank-prompt, parse/ids.rs) -------------------------------------

_ZERO_BASED = [0x30, 0x660, 0x6F0, 0x7C0, 0x966, 0x9E6, 0xA66, 0xAE6, 0xB66, 0xBE6, 0xC66, 0xCE6, 0xD66,
               0xE50, 0xED0, 0xF20, 0x1040, 0x17E0, 0x1810, 0xFF10, 0x2080, 0x1D7CE, 0x1D7D8, 0x1D7E2,
               0x1D7EC, 0x1D7F6]
_NUMBER_RANGES = [(0x2460, 0x2473, 1), (0x2474, 0x2487, 1), (0x2488, 0x249B, 1), (0x24F5, 0x24FE, 1),
                  (0x2776, 0x277F, 1), (0x2780, 0x2789, 1), (0x278A, 0x2793, 1), (0x24EB, 0x24F4, 11),
                  (0x3251, 0x325F, 21), (0x32B1, 0x32BF, 36)]
U64_MAX = 2 ** 64 - 1


def digit_value(c):
    cp = ord(c)
    for z in _ZERO_BASED:
        if z <= cp < z + 10:
            return cp - z
    if c == "\u2070":
        return 0
    if c == "\u00b9":
        return 1
    if c == "\u00b2":
        return 2
    if c == "\u00b3":
        return 3
    if 0x2074 <= cp <= 0x2079:
        return cp - 0x2070
    return None


def number_value(c):
    if c in ("\u24ea", "\u24ff"):
        return 0
    cp = ord(c)
    for lo, hi, base in _NUMBER_RANGES:
        if lo <= cp <= hi:
            return base + (cp - lo)
    return None


def _is_open(c):
    return c in "[\uff3b\u3010\u3014"


def _is_close(c):
    return c in "]\uff3d\u3011\u3015"


def find_ids(text):
    """Every identifier in text: [(value, bracketed)], as rerank-prompt's find_ids."""
    out = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        v = number_value(c)
        if v is not None:
            end = i + 1
        elif digit_value(c) is not None:
            v, j = 0, i
            while j < n:
                d = digit_value(text[j])
                if d is None:
                    break
                v = min(v * 10 + d, U64_MAX) if v != U64_MAX else U64_MAX
                j += 1
            end = j
        else:
            i += 1
            continue
        before = next((ch for ch in reversed(text[:i]) if ch not in RUST_WS), None)
        after = next((ch for ch in text[end:] if ch not in RUST_WS), None)
        bracketed = before is not None and _is_open(before) and after is not None and _is_close(after)
        out.append((v, bracketed))
        i = end
    return out


# --- reading an output (rerank-prompt, parse/mod.rs and parse/listwise.rs) ---------

def sections(output):
    """(answer text or None, source, unclosed): where the answer is read."""
    lower = output.translate(_ASCII_LOWER)
    think_open = lower.find("<think>")
    think_open = None if think_open < 0 else think_open
    answer_open = lower.rfind("<answer>")
    last_think_close = lower.rfind("</think>")
    if answer_open >= 0:
        start = answer_open + 8
        end = lower.find("</answer>", start)
        if end >= 0:
            return output[start:end], "answer_tag", False
        return output[start:], "answer_tag", True
    if last_think_close >= 0:
        return output[last_think_close + 8:], "after_think", False
    if think_open is not None:
        return None, None, False
    return output, "whole", False


def parse_listwise_order(output, n):
    """The permutation rerank-prompt's listwise parser reads (0-based, best first)."""
    answer, _, _ = sections(output)
    if answer is None:
        return list(range(n))
    seen = [False] * n
    order = []
    for value, _ in find_ids(answer):
        if 1 <= value <= n:
            k = value - 1
            if not seen[k]:
                seen[k] = True
                order.append(k)
    order.extend(i for i in range(n) if not seen[i])
    return order


_REFERENCE = re.compile(r"<think>.*?</think>" + RUST_WS_CLASS + r"*<answer>(.*?)</answer>", re.DOTALL)


def parse_setwise_lenient(output, n):
    """The pick rerank-prompt's lenient setwise parser reads (0-based), or None."""
    m = _REFERENCE.search(output.lower())
    if m is not None:
        group = m.group(1).strip(RUST_WS)
        g = re.fullmatch(r"\[([0-9]+)\]", group)
        if g is not None:
            k = int(g.group(1))
            if 1 <= k <= n and group == "[%d]" % k:
                return k - 1
    answer, _, _ = sections(output)
    for value, _ in find_ids(answer if answer is not None else ""):
        if 1 <= value <= n:
            return value - 1
    return None


# --- nDCG (rerank-eval, measures/ndcg.rs: ndcg_cut_of_labels) ----------------------

def ndcg_cut_of_labels(ranked, judged, k):
    dcg = 0.0
    for i, r in enumerate(ranked[:k]):
        if r > 0:
            dcg += r / math.log2(i + 2)
    best = sorted((r for r in judged if r > 0), reverse=True)
    ideal = 0.0
    for i, r in enumerate(best[:k]):
        ideal += r / math.log2(i + 2)
    return dcg / ideal if ideal > 0.0 else 0.0


# --- REARANK (reward/rearank.rs) ----------------------------------------------------

_THINK = re.compile(r"<think>.*?</think>", re.DOTALL)
_ANSWER = re.compile(r"<answer>.*?</answer>", re.DOTALL)
_FORM = re.compile(r"\[[0-9]+\](?:[ \t\r\n]*>[ \t\r\n]*\[[0-9]+\])*")


def rearank_reward(completion, labels, gain="normalized", w_rank=0.8, w_think_answer=0.1,
                   w_answer_format=0.1, depth=10):
    """REARANK's reward of one completion for a window with these labels (prompt order):
    {"total": …, "rank": …, "ndcg": …, "think_answer": 0/1, "answer_format": 0/1}."""
    labels = list(labels)
    order = parse_listwise_order(completion, len(labels))
    ndcg = ndcg_cut_of_labels([labels[i] for i in order], labels, depth)
    asc = sorted(labels)
    worst = ndcg_cut_of_labels(asc, labels, depth)
    initial = ndcg_cut_of_labels(labels, labels, depth)
    ideal = ndcg_cut_of_labels(asc[::-1], labels, depth)
    if gain == "raw":
        rank = ndcg
    elif gain == "difference":
        rank = ndcg - initial
    elif gain == "normalized":
        if ideal - initial > 1e-12:
            rank = (ndcg - initial) / (ideal - initial)
        elif ideal - worst > 1e-12:
            rank = (ndcg - initial) / (ideal - worst)
        else:
            rank = 0.0
    else:
        raise ValueError("gain must be normalized, raw or difference, got %r" % (gain,))
    f1 = 1.0 if (_THINK.search(completion) and _ANSWER.search(completion)) else 0.0
    answer, source, unclosed = sections(completion)
    f2 = 1.0 if (source == "answer_tag" and not unclosed and _FORM.fullmatch(answer.strip())) else 0.0
    total = w_rank * rank + w_think_answer * f1 + w_answer_format * f2
    return {"total": total, "rank": rank, "ndcg": ndcg, "think_answer": f1, "answer_format": f2}


# --- Rank-R1 (reward/rank_r1.rs; ielab/llm-rankers Rank-R1/train_grpo.py) ---------

_RANK_R1 = re.compile(r"<think>.*?</think>\s*<answer>(.*?)</answer>", re.DOTALL)


def rank_r1_reward(completion, positive, n, rule="exact"):
    """Rank-R1's reward: {"total": …, "exact": 0/1, "lenient": 0/1}; `positive` is
    0-based in prompt order, of `n` passages."""
    label = "[%d]" % (positive + 1)
    m = _RANK_R1.search(completion)
    exact = 1.0 if (m is not None and label == m.group(1).strip()) else 0.0
    lenient = 1.0 if (exact == 1.0 or parse_setwise_lenient(completion, n) == positive) else 0.0
    if rule not in ("exact", "lenient"):
        raise ValueError("rule must be exact or lenient, got %r" % (rule,))
    return {"total": exact if rule == "exact" else lenient, "exact": exact, "lenient": lenient}


# --- the engines' entry points ------------------------------------------------------

_REARANK_KEYS = ("gain", "w_rank", "w_think_answer", "w_answer_format", "depth")


def _text(completion):
    # TRL passes conversational completions as [{"role": "assistant", "content": …}].
    if isinstance(completion, list):
        return "".join(m.get("content", "") for m in completion if isinstance(m, dict))
    return completion


def _score(method, completion, ground_truth, n=None, **settings):
    if method == "rearank":
        labels = json.loads(ground_truth) if isinstance(ground_truth, str) else list(ground_truth)
        kw = {k: v for k, v in settings.items() if k in _REARANK_KEYS}
        return rearank_reward(_text(completion), labels, **kw)["total"]
    if method == "rank-r1":
        positive = int(re.fullmatch(r"\[([0-9]+)\]", ground_truth.strip()).group(1)) - 1
        rule = settings.get("rule", "exact")
        if rule == "lenient" and n is None:
            raise ValueError("the lenient Rank-R1 rule needs the number of passages (extra_info['n'] or doc_ids)")
        return rank_r1_reward(_text(completion), positive, n if n is not None else positive + 1, rule)["total"]
    raise ValueError("unknown method %r (rearank or rank-r1)" % (method,))


def compute_score(data_source, solution_str, ground_truth, extra_info=None, **settings):
    """verl's reward function: data_source is "rerank/rearank" or "rerank/rank-r1"."""
    method = data_source.split("/", 1)[-1]
    n = (extra_info or {}).get("n")
    return float(_score(method, solution_str, ground_truth, n=n, **settings))


def reward_func(completions, ground_truth, method, doc_ids=None, **settings):
    """TRL's reward function: one reward per completion, the dataset's columns as lists."""
    out = []
    for i, c in enumerate(completions):
        n = len(doc_ids[i]) if doc_ids is not None else None
        out.append(float(_score(method[i], c, ground_truth[i], n=n, **settings)))
    return out


def _main():
    # One JSON object per line in, one out: the parity test's interface.
    for line in sys.stdin:
        if not line.strip():
            continue
        case = json.loads(line)
        if case["method"] == "rearank":
            r = rearank_reward(case["completion"], case["labels"], **case.get("settings", {}))
        else:
            r = rank_r1_reward(case["completion"], case["positive"], case["n"], **case.get("settings", {}))
        sys.stdout.write(json.dumps({k: repr(v) for k, v in r.items()}) + "\n")


if __name__ == "__main__":
    _main()
