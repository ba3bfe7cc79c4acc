"""One GRPO step, ours (`rerank train`) against TRL's GRPOTrainer on PyTorch CPU, side by
side on this machine: the same model (the GGUF file dequantized to float32), the same
LoRA (rank 8, alpha 16, all seven projections), the same group (G completions of one
REARANK prompt of the training run), completions of exactly the same length (the end
of generation suppressed until --tokens: TRL's generation_kwargs min_new_tokens, our
rollout.min_new_tokens), β = 0.04 (a reference pass with the adapter off), gradient
checkpointing, 2 threads each. Prints seconds per step split into rollout (sampling)
and update (reference pass, forward, backward, optimizer), the median over the steps
after the first, and the ratios TRL / ours. Ours runs twice: sampling with the
weights as stored (quantized, `rollout.weights = "quantized"`, the default) and with
the dequantized f32 weights TRL samples with (`rollout.weights = "dense"`); the
update is on the f32 weights in both.

usage: .venv-torch/bin/python bench/train_speed.py [--steps 4] [--group 4] [--tokens 64]
  (after `bash bench/train_vaswani.sh bench/train_vaswani_qwen.toml` has built bench/data/train-vaswani-qwen, or any
   REARANK training file as --data; .venv-torch from scripts/python-env-torch.sh)
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
THREADS = 2


def first_example(path):
    with open(path) as f:
        return json.loads(f.readline())


def run_ours(args, example, work, weights):
    data = os.path.join(work, "one.jsonl")
    with open(data, "w") as f:
        f.write(json.dumps(example) + "\n")
    cfg = os.path.join(work, f"ours-{weights}.toml")
    with open(cfg, "w") as f:
        f.write(f"""model = "{args.model}"
train = "{data}"
[lora]
rank = 8
alpha = 16.0
targets = ["q", "k", "v", "o", "gate", "up", "down"]
[rollout]
group = {args.group}
temperature = 1.0
max_new_tokens = {args.tokens}
min_new_tokens = {args.tokens}
weights = "{weights}"
[grpo]
beta = 0.04
[optim]
lr = 1e-5
[run]
steps = {args.steps}
prompts_per_step = 1
micro_batch = {args.group}
checkpoint_every = {args.steps}
""")
    out = os.path.join(work, f"ours-{weights}")
    env = dict(os.environ, RAYON_NUM_THREADS=str(THREADS))
    subprocess.run([os.path.join(ROOT, "target/release/rerank"), "train", cfg, "-o", out],
                   check=True, env=env, stderr=subprocess.DEVNULL)
    steps = [json.loads(l) for l in open(os.path.join(out, "metrics.jsonl"))]
    for s in steps:
        assert s["completion_tokens"] == args.tokens, s
    return [(s["rollout_seconds"], s["seconds"]) for s in steps]


def run_trl(args, example, gguf):
    import torch
    torch.set_num_threads(THREADS)
    import transformers
    from datasets import Dataset
    from peft import LoraConfig
    from transformers import AutoModelForCausalLM, AutoTokenizer, TrainerCallback
    from transformers.utils.quantization_config import GgufConfig
    from trl import GRPOConfig, GRPOTrainer

    folder, name = os.path.dirname(gguf), os.path.basename(gguf)
    tok = AutoTokenizer.from_pretrained(folder, gguf_file=name)
    model = AutoModelForCausalLM.from_pretrained(folder, gguf_file=name, dtype=torch.float32,
                                                 quantization_config=GgufConfig(dequantize=True))
    # Time spent sampling: every call of generate.
    sampling = []
    original = transformers.GenerationMixin.generate

    def timed(self, *a, **k):
        t = time.perf_counter()
        out = original(self, *a, **k)
        sampling.append(time.perf_counter() - t)
        return out

    transformers.GenerationMixin.generate = timed
    steps = []

    class Clock(TrainerCallback):
        def on_step_begin(self, *_, **__):
            self.t = time.perf_counter()
            self.s = len(sampling)

        def on_step_end(self, *_, **__):
            total = time.perf_counter() - self.t
            rollout = sum(sampling[self.s:])
            steps.append((rollout, total - rollout))

    data = Dataset.from_list([{"prompt": example["prompt"]}] * (args.group * args.steps))
    config = GRPOConfig(
        output_dir=tempfile.mkdtemp(), max_steps=args.steps, per_device_train_batch_size=args.group,
        num_generations=args.group, gradient_accumulation_steps=1, learning_rate=1e-5,
        beta=0.04, max_completion_length=args.tokens, temperature=1.0,
        generation_kwargs={"min_new_tokens": args.tokens}, gradient_checkpointing=True,
        logging_steps=1, report_to="none", save_strategy="no", bf16=False, fp16=False,
        use_cpu=True, dataloader_num_workers=0, seed=1)
    lora = LoraConfig(r=8, lora_alpha=16, lora_dropout=0.0, task_type="CAUSAL_LM",
                      target_modules=["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj",
                                      "up_proj", "down_proj"])
    reward = lambda completions, **_: [float(len(c[0]["content"]) % 7) for c in completions]
    trainer = GRPOTrainer(model=model, reward_funcs=reward, args=config, train_dataset=data,
                          processing_class=tok, peft_config=lora, callbacks=[Clock()])
    trainer.train()
    return steps, {"torch": torch.__version__, "transformers": transformers.__version__}


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", default="smollm2-135m")
    p.add_argument("--gguf", default=os.path.expanduser(
        "~/.cache/rerank/models/SmolLM2-135M-Instruct.Q4_1.gguf"))
    p.add_argument("--data", default=os.path.join(ROOT, "bench/data/train-vaswani-qwen/rl/train.jsonl"))
    p.add_argument("--steps", type=int, default=4)
    p.add_argument("--group", type=int, default=4)
    p.add_argument("--tokens", type=int, default=64)
    p.add_argument("-o", "--output", help="also write the figures here (JSON)")
    args = p.parse_args()
    example = first_example(args.data)
    work = tempfile.mkdtemp()
    ours = run_ours(args, example, work, "quantized")
    ours_dense = run_ours(args, example, work, "dense")
    trl_steps, versions = run_trl(args, example, args.gguf)
    import trl

    def median(rows, i):
        return statistics.median(r[i] for r in rows[1:] or rows)

    result = {"steps": args.steps, "group": args.group, "completion_tokens": args.tokens,
              "threads": THREADS, "trl": trl.__version__, **versions, "per_step": {}}
    print(f"one GRPO step: G={args.group}, {args.tokens} tokens per completion, "
          f"median of steps 2..{args.steps}, {THREADS} threads")
    print(f"{'':28} {'rollout s':>10} {'update s':>10} {'total s':>10}")
    names = [("TRL", trl_steps), ("ours (quantized sampling)", ours), ("ours (f32 sampling)", ours_dense)]
    for name, rows in names:
        r, u = median(rows, 0), median(rows, 1)
        result["per_step"][name] = {"rollout": r, "update": u, "all": rows}
        print(f"{name:28} {r:10.2f} {u:10.2f} {r + u:10.2f}")
    t = result["per_step"]["TRL"]
    result["ratio"] = {}
    for name, _ in names[1:]:
        o = result["per_step"][name]
        ratio = {"rollout": t["rollout"] / o["rollout"], "update": t["update"] / o["update"],
                 "total": (t["rollout"] + t["update"]) / (o["rollout"] + o["update"])}
        result["ratio"][name] = ratio
        print(f"{'TRL / ' + name:28} {ratio['rollout']:9.2f}x {ratio['update']:9.2f}x {ratio['total']:9.2f}x")
    if args.output:
        with open(args.output, "w") as f:
            json.dump(result, f, indent=1)
            f.write("\n")


if __name__ == "__main__":
    sys.exit(main())
