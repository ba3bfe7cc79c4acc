#!/usr/bin/env bash
# Creates .venv with the pinned Python packages that the reference checks compare
# against (pytrec_eval, scipy) and the llama.cpp server the HTTP backend is tested
# with (llama-cpp-python builds llama.cpp from source once, about 10 minutes; pip keeps
# the wheel). Idempotent: does nothing when they are already there.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
REQS=scripts/python-requirements.txt
if [ -x .venv/bin/python ] && .venv/bin/python - <<'PYEOF' 2>/dev/null
import sys
want = dict(l.strip().split("==") for f in ["scripts/python-requirements.txt", "scripts/python-requirements-nodeps.txt"] for l in open(f) if "==" in l)
from importlib.metadata import version
sys.exit(0 if all(version(k.split("[")[0]) == v for k, v in want.items()) else 1)
PYEOF
then
    exit 0
fi
echo "setting up .venv with $(cat $REQS scripts/python-requirements-nodeps.txt | tr '\n' ' ')" >&2
"$PY" -m venv .venv
.venv/bin/pip install --quiet --disable-pip-version-check -r "$REQS"
# Packages used only for their pure-Python algorithms, without their heavy model
# dependencies (torch, transformers): see scripts/python-requirements-nodeps.txt.
.venv/bin/pip install --quiet --disable-pip-version-check --no-deps -r scripts/python-requirements-nodeps.txt
