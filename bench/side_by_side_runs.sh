#!/bin/bash
# Two builds of `rerank` side by side on the same Vaswani queries (single-pass
# methods, --batch 8): wall time of each and whether their runs are byte for byte
# the same. Used for the logprob pass size (bench/results/logprob-pass-avx2-2026-12-03.txt:
# OLD = commit f2b2719, passes of 16,384 prompt tokens; NEW = passes of 2,048).
#
# usage: bench/side_by_side_runs.sh OLD_RERANK NEW_RERANK [OUT_DIR=/tmp/side-by-side]
# (run from the repository root, on a quiet machine; models installed with
# `rerank fetch-model`)
set -euo pipefail
OLD=$1; NEW=$2; DIR=${3:-/tmp/side-by-side}
mkdir -p "$DIR"
awk '$1<=16' bench/results/vaswani-e2e/bm25.run > "$DIR/q16.run"
awk '$1<=8' bench/results/vaswani-e2e/bm25.run > "$DIR/q8.run"
out=$DIR/result.txt
echo "side by side $(date -u) $(grep -m1 'model name' /proc/cpuinfo)" >> "$out"
one() { # label binary model run-file method-args...
  local label=$1 bin=$2 model=$3 run=$4; shift 4
  rm -f "$DIR/$label".run*
  local t0 t1
  t0=$(date +%s.%N)
  "$bin" rerank --run "$run" --topics data/vaswani/query-text.trec --corpus data/vaswani/doc-text.trec \
     --model "$model" --top 20 --batch 8 "$@" -o "$DIR/$label.run" > /dev/null 2> "$DIR/$label.err"
  t1=$(date +%s.%N)
  echo "$label $(echo "$t1 - $t0" | bc) s" | tee -a "$out"
}
for cfg in "smollm2-135m q16 first" "qwen2.5-0.5b q16 first" "smollm2-135m q8 lik" "qwen2.5-1.5b q8 first"; do
  set -- $cfg; m=$1; q=$2; k=$3
  if [ "$k" = first ]; then extra=(--method first); else extra=(--method rank-r1 --setwise-scoring likelihood); fi
  one "$m-$k-old" "$OLD" "$m" "$DIR/$q.run" "${extra[@]}"
  one "$m-$k-new" "$NEW" "$m" "$DIR/$q.run" "${extra[@]}"
  if cmp -s "$DIR/$m-$k-old.run" "$DIR/$m-$k-new.run"; then
    echo "$m $k: runs identical" | tee -a "$out"
  else
    echo "$m $k: RUNS DIFFER" | tee -a "$out"
  fi
done
