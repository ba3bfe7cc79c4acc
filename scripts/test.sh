#!/usr/bin/env bash
# The project's test command: sets up what the tests need on a fresh machine (the
# Python reference packages in .venv), then runs every test of the workspace.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/python-env.sh
export RERANK_PYTHON="$PWD/.venv/bin/python"
cargo test --workspace --release "$@"
