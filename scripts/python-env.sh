#!/usr/bin/env bash
# Creates .venv with the pinned Python packages that the reference checks compare
# against (pytrec_eval, scipy). Idempotent: does nothing when they are already there.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
REQS=scripts/python-requirements.txt
if [ -x .venv/bin/python ] && .venv/bin/python - <<'PYEOF' 2>/dev/null
import sys
want = dict(l.strip().split("==") for l in open("scripts/python-requirements.txt") if "==" in l)
from importlib.metadata import version
sys.exit(0 if all(version(k) == v for k, v in want.items()) else 1)
PYEOF
then
    exit 0
fi
echo "setting up .venv with $(tr '\n' ' ' < $REQS)" >&2
"$PY" -m venv .venv
.venv/bin/pip install --quiet --disable-pip-version-check -r "$REQS"
