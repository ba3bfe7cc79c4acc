"""GRPO reference values from the projects' own code, for tests/grpo_reference.rs.

- verl 0.9.1 (`verl/trainer/ppo/core_algos.py`), called directly:
  `compute_grpo_outcome_advantage`, `compute_policy_loss_vanilla`, `kl_penalty`
  ("low_var_kl") and `agg_loss`, the total loss being `pg_loss + kl_coef * kl_loss`
  as verl's actor adds it.
- TRL 1.16.0 (`trl/trainer/grpo_trainer.py`): the loss is `GRPOTrainer._compute_loss`
  itself, run on a stand-in for the trainer whose `_get_per_token_logps_and_entropies`
  returns the given log-probabilities (so every line of TRL's loss runs as written);
  the advantages are a transcription of `_generate_and_score_completions` (lines
  2765-2810 of that file, `multi_objective_aggregation="sum_then_normalize"`, one
  reward function) with TRL's own `nanstd`.

Every value is float64; the gradient of each loss with respect to the per-token
log-probabilities comes from torch's autograd.

usage: .venv-torch/bin/python grpo_reference.py OUT.json   (scripts/python-env-torch.sh)
"""
import json
import sys
from collections import defaultdict
from types import SimpleNamespace

import numpy as np
import torch
import trl
import verl
from trl.trainer.grpo_trainer import GRPOTrainer
from trl.trainer.utils import nanstd
from verl.trainer.ppo import core_algos

torch.set_default_dtype(torch.float64)


def random_batch(rng, groups, per_group, max_len, off_policy):
    seqs = []
    for g in range(groups):
        for _ in range(per_group):
            n = int(rng.integers(1, max_len + 1))
            old = (-rng.exponential(1.5, n)).tolist()
            logp = (np.array(old) + (rng.normal(0, 0.4, n) if off_policy else 0)).tolist()
            ref = (np.array(old) + rng.normal(0, 0.3, n)).tolist()
            seqs.append({"group": g, "logp": logp, "old": old, "ref": ref})
    return seqs


def padded(seqs, key):
    t = max(len(s["logp"]) for s in seqs)
    out = torch.zeros(len(seqs), t)
    mask = torch.zeros(len(seqs), t)
    for i, s in enumerate(seqs):
        out[i, : len(s[key])] = torch.tensor(s[key])
        mask[i, : len(s[key])] = 1.0
    return out, mask


def grads(g, seqs):
    return [g[i, : len(s["logp"])].tolist() for i, s in enumerate(seqs)]


# --- advantages ---------------------------------------------------------------------

def trl_advantages(rewards, num_generations, scale_rewards):
    rewards = torch.tensor(rewards)
    mean_grouped_rewards = torch.nanmean(rewards.view(-1, num_generations), dim=1)
    mean_grouped_rewards = mean_grouped_rewards.repeat_interleave(num_generations, dim=0)
    if scale_rewards in ["group", "none"]:
        if num_generations > 1:
            std_rewards = nanstd(rewards.view(-1, num_generations), dim=1)
            std_rewards = std_rewards.repeat_interleave(num_generations, dim=0)
        else:
            std_rewards = torch.zeros_like(rewards)
    elif scale_rewards == "batch":
        std_rewards = nanstd(rewards).expand_as(rewards) if rewards.numel() > 1 else torch.zeros_like(rewards)
    advantages = rewards - mean_grouped_rewards
    if scale_rewards != "none":
        advantages = advantages / (std_rewards + 1e-4)
    return torch.nan_to_num(advantages, nan=0.0).tolist()


def verl_advantages(rewards, index, norm_by_std):
    t = torch.zeros(len(rewards), 3)
    t[:, -1] = torch.tensor(rewards)
    mask = torch.ones(len(rewards), 3)
    adv, _ = core_algos.compute_grpo_outcome_advantage(
        t, mask, np.array(index), epsilon=1e-6, norm_adv_by_std_in_grpo=norm_by_std)
    return adv[:, 0].tolist()


# --- losses ---------------------------------------------------------------------------

class Accelerator:
    num_processes = 1

    def gather(self, x):
        return x

    def reduce(self, x, reduction="sum"):
        return x

    def gather_for_metrics(self, x):
        return x


def trl_loss(seqs, advantages, loss_type, beta, epsilon_high, level, max_completion_length):
    logp, mask = padded(seqs, "logp")
    old, _ = padded(seqs, "old")
    ref, _ = padded(seqs, "ref")
    logp = logp.clone().requires_grad_(True)
    b, t = logp.shape
    stand_in = SimpleNamespace(
        _get_per_token_logps_and_entropies=lambda *a, **k: (logp, torch.zeros(b, t), None),
        aux_loss_enabled=False, top_entropy_quantile=1.0, off_policy_mask_threshold=None,
        importance_sampling_level=level, beta=beta, loss_type=loss_type,
        epsilon_low=0.2, epsilon_high=epsilon_high, use_vllm=False,
        vllm_importance_sampling_correction=False, model=SimpleNamespace(training=True),
        current_gradient_accumulation_steps=1, max_completion_length=max_completion_length,
        accelerator=Accelerator(), _metrics={"train": defaultdict(list)}, _entropy_bonus_enabled=False,
        args=SimpleNamespace(delta=None, use_bias_correction_kl=False, steps_per_generation=1),
    )
    inputs = {
        "prompt_ids": torch.zeros(b, 1, dtype=torch.long), "prompt_mask": torch.ones(b, 1, dtype=torch.long),
        "completion_ids": torch.zeros(b, t, dtype=torch.long), "completion_mask": mask,
        "advantages": torch.tensor(advantages), "old_per_token_logps": old, "ref_per_token_logps": ref,
        "num_items_in_batch": mask.sum(),
    }
    loss = GRPOTrainer._compute_loss(stand_in, None, inputs)
    loss.backward()
    m = stand_in._metrics["train"]
    return {
        "loss": loss.item(), "grad": grads(logp.grad, seqs),
        "clip_region": m["clip_ratio/region_mean"][0], "clip_low": m["clip_ratio/low_mean"][0],
        "clip_high": m["clip_ratio/high_mean"][0], "kl_mean": m["kl"][0] if beta != 0 else 0.0,
    }


class ActorConfig(dict):
    def __getattr__(self, k):
        return self[k]


def verl_loss(seqs, advantages, agg, kl_coef):
    logp, mask = padded(seqs, "logp")
    old, _ = padded(seqs, "old")
    ref, _ = padded(seqs, "ref")
    logp = logp.clone().requires_grad_(True)
    adv = torch.tensor(advantages).unsqueeze(-1) * mask
    config = ActorConfig(clip_ratio=0.2, clip_ratio_low=0.2, clip_ratio_high=0.2, clip_ratio_c=3.0,
                         global_batch_info={})
    pg_loss, _ = core_algos.compute_policy_loss_vanilla(old, logp, adv, mask, loss_agg_mode=agg, config=config)
    kld = core_algos.kl_penalty(logp, ref, "low_var_kl")
    kl_loss = core_algos.agg_loss(kld, mask, agg)
    loss = pg_loss + kl_coef * kl_loss
    loss.backward()
    return {"loss": loss.item(), "grad": grads(logp.grad, seqs)}


def main(out):
    rng = np.random.default_rng(20261201)
    result = {"trl": trl.__version__, "verl": verl.__version__, "torch": torch.__version__,
              "advantages": [], "losses": []}
    for case in range(12):
        groups, per = int(rng.integers(1, 5)), int(rng.integers(1, 6))
        rewards = rng.choice([0.0, 0.1, 0.35, 0.8, 1.0], size=groups * per).tolist()
        if case % 4 == 0:
            rewards[:per] = [0.5] * per  # a group whose rewards are all equal
        index = [g for g in range(groups) for _ in range(per)]
        result["advantages"].append({
            "rewards": rewards, "groups": index,
            "trl_group": trl_advantages(rewards, per, "group"),
            "trl_batch": trl_advantages(rewards, per, "batch"),
            "trl_none": trl_advantages(rewards, per, "none"),
            "verl": verl_advantages(rewards, index, True),
            "verl_no_std": verl_advantages(rewards, index, False),
        })
    for case in range(6):
        seqs = random_batch(rng, groups=3, per_group=4, max_len=9, off_policy=case > 0)
        adv = (rng.normal(0, 1, len(seqs))).tolist()
        max_len = max(len(s["logp"]) for s in seqs)
        base = {"seqs": [{k: s[k] for k in ("logp", "old", "ref")} for s in seqs], "advantages": adv}
        for loss_type in ["grpo", "bnpo", "dr_grpo", "dapo"]:
            for beta in [0.0, 0.04]:
                r = trl_loss(seqs, adv, loss_type, beta, 0.2, "token", max_len)
                result["losses"].append(dict(base, framework="trl", loss_type=loss_type, beta=beta,
                                             epsilon_high=0.2, level="token", max_completion_length=max_len, **r))
        r = trl_loss(seqs, adv, "grpo", 0.04, 0.28, "token", max_len)
        result["losses"].append(dict(base, framework="trl", loss_type="grpo", beta=0.04, epsilon_high=0.28,
                                     level="token", max_completion_length=max_len, **r))
        r = trl_loss(seqs, adv, "grpo", 0.04, 0.2, "sequence", max_len)
        result["losses"].append(dict(base, framework="trl", loss_type="grpo", beta=0.04, epsilon_high=0.2,
                                     level="sequence", max_completion_length=max_len, **r))
        for agg in ["token-mean", "seq-mean-token-mean", "seq-mean-token-sum", "seq-mean-token-sum-norm",
                    "token-sum"]:
            for kl_coef in [0.0, 0.001]:
                r = verl_loss(seqs, adv, agg, kl_coef)
                result["losses"].append(dict(base, framework="verl", agg=agg, kl_coef=kl_coef,
                                             max_completion_length=max_len, **r))
    with open(out, "w") as f:
        json.dump(result, f, indent=None, separators=(",", ":"))
        f.write("\n")


if __name__ == "__main__":
    main(sys.argv[1])
