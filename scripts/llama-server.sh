#!/usr/bin/env bash
# Starts llama.cpp's OpenAI-compatible server (llama-cpp-python, from .venv) on
# 127.0.0.1:PORT serving a known model, waits until it answers, and prints its PID.
#   pid=$(bash scripts/llama-server.sh 8080 smollm2-135m)   ...   kill $pid
set -euo pipefail
cd "$(dirname "$0")/.."
PORT=${1:-8080}
MODEL=${2:-smollm2-135m}
THREADS=${THREADS:-2}
GGUF=$(./target/release/rerank fetch-model "$MODEL" --print-path 2>/dev/null)
.venv/bin/python -m llama_cpp.server --model "$GGUF" --host 127.0.0.1 --port "$PORT" \
    --n_ctx 4096 --n_threads "$THREADS" --verbose False >/dev/null 2>&1 &
PID=$!
for _ in $(seq 1 180); do
    if .venv/bin/python -c "import urllib.request,sys; urllib.request.urlopen('http://127.0.0.1:$PORT/v1/models', timeout=2)" 2>/dev/null; then
        echo "$PID"
        exit 0
    fi
    if ! kill -0 "$PID" 2>/dev/null; then
        echo "llama_cpp.server exited early" >&2
        exit 1
    fi
    sleep 1
done
kill "$PID"
echo "llama_cpp.server did not answer within 3 minutes" >&2
exit 1
