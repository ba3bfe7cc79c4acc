"""Reference steps of PyTorch's AdamW with transformers' warm-up schedules and
clip_grad_norm_, for tests/optim_reference.rs.

Two parameters (a 3x2 matrix and a vector of 4) start at fixed values; for 8 steps,
fixed gradients (step-dependent, some large enough to be clipped) are set, the global
norm is clipped to 1.0, and AdamW (lr from get_linear_schedule_with_warmup or
get_cosine_schedule_with_warmup: peak 0.05, 3 warm-up steps of 8; betas (0.9, 0.99),
eps 1e-8, weight decay 0.1) steps. Recorded: the norm before clipping, the learning
rate, and both parameters after each step. float64 throughout.

usage: .venv-torch/bin/python optim_reference.py OUT.json
"""
import json
import math
import sys

import torch
import transformers
from transformers import get_cosine_schedule_with_warmup, get_linear_schedule_with_warmup


def grads(step):
    a = torch.tensor([[math.sin(step + i + 2 * j) * (0.2 if step % 2 else 1.0) for j in range(2)] for i in range(3)],
                     dtype=torch.float64)
    b = torch.tensor([math.cos(3 * step + i) * (4.0 if step % 3 == 0 else 0.3) for i in range(4)],
                     dtype=torch.float64)
    return a, b


def run(kind):
    a = torch.nn.Parameter(torch.tensor([[0.5, -0.25], [1.0, 0.0], [-0.75, 0.125]], dtype=torch.float64))
    b = torch.nn.Parameter(torch.tensor([0.1, 0.2, -0.3, 0.4], dtype=torch.float64))
    opt = torch.optim.AdamW([a, b], lr=0.05, betas=(0.9, 0.99), eps=1e-8, weight_decay=0.1)
    make = get_linear_schedule_with_warmup if kind == "linear" else get_cosine_schedule_with_warmup
    sched = make(opt, num_warmup_steps=3, num_training_steps=8)
    steps = []
    for step in range(8):
        ga, gb = grads(step)
        a.grad, b.grad = ga.clone(), gb.clone()
        norm = torch.nn.utils.clip_grad_norm_([a, b], 1.0).item()
        lr = opt.param_groups[0]["lr"]
        opt.step()
        sched.step()
        steps.append({"grad_a": ga.tolist(), "grad_b": gb.tolist(), "norm": norm, "lr": lr,
                      "a": a.detach().tolist(), "b": b.detach().tolist()})
    return steps


def main(out):
    result = {"torch": torch.__version__, "transformers": transformers.__version__,
              "linear": run("linear"), "cosine": run("cosine")}
    with open(out, "w") as f:
        json.dump(result, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main(sys.argv[1])
