#!/usr/bin/env bash
# Creates .venv-torch with PyTorch, transformers, PEFT, TRL and verl (pinned in
# scripts/python-requirements-torch.txt): the reference implementations that the
# committed fixture scripts and benchmarks run. Not needed by the tests (their
# fixtures are committed). Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [ -x .venv-torch/bin/python ] && .venv-torch/bin/python -c "import torch, transformers, peft, trl, verl.trainer.ppo.core_algos" 2>/dev/null; then
    exit 0
fi
"$PY" -m venv .venv-torch
.venv-torch/bin/pip install --quiet --disable-pip-version-check -r scripts/python-requirements-torch.txt
.venv-torch/bin/pip install --quiet --disable-pip-version-check --no-deps verl==0.9.1
