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
ok = all(version(k.split("[")[0]) == v for k, v in want.items())
# A llama.cpp built with its AMX kernels crashes on AMX machines (see below).
import llama_cpp
sys.exit(0 if ok and b"AMX_INT8 = 1" not in llama_cpp.llama_print_system_info() else 1)
PYEOF
then
    exit 0
fi
echo "setting up .venv with $(cat $REQS scripts/python-requirements-nodeps.txt | tr '\n' ' ')" >&2
"$PY" -m venv .venv
# llama.cpp, built for this CPU but without its AMX kernels: on Sapphire Rapids
# machines (AMX_INT8) they crash the server at its first answer (SIGSEGV in
# ggml_backend_amx_mul_mat, llama.cpp issue #20824), which a native build enables.
# The wheel is kept in a folder named after the build flags, so a machine builds it
# once, and pip's own cache (keyed by version only) never hands back an AMX build.
LLAMA=$(grep "^llama-cpp-python" "$REQS")
CPU_FLAGS=" $(grep -m1 '^flags' /proc/cpuinfo | cut -d: -f2) "
CMAKE="-DGGML_NATIVE=OFF -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF"
for pair in avx:AVX avx2:AVX2 fma:FMA f16c:F16C bmi2:BMI2 avx_vnni:AVX_VNNI avx512f:AVX512 \
    avx512vbmi:AVX512_VBMI avx512_vnni:AVX512_VNNI avx512_bf16:AVX512_BF16; do
    if [[ "$CPU_FLAGS" == *" ${pair%%:*} "* ]]; then on=ON; else on=OFF; fi
    CMAKE+=" -DGGML_${pair#*:}=$on"
done
WHEELS="${XDG_CACHE_HOME:-$HOME/.cache}/rerank/wheels/$(echo "$LLAMA $CMAKE" | sha256sum | cut -c1-16)"
if ! ls "$WHEELS"/llama_cpp_python-*.whl >/dev/null 2>&1; then
    echo "building llama.cpp ($LLAMA) with $CMAKE (once per machine, about 10 minutes)" >&2
    CMAKE_ARGS="$CMAKE" .venv/bin/pip wheel --quiet --disable-pip-version-check --no-cache-dir \
        --no-deps -w "$WHEELS.tmp" "${LLAMA%%\[*}==${LLAMA##*==}"
    mv "$WHEELS.tmp" "$WHEELS"
fi
# (forced: a .venv from before may hold the same version built with AMX)
.venv/bin/pip install --quiet --disable-pip-version-check --force-reinstall --no-deps \
    "$(ls "$WHEELS"/llama_cpp_python-*.whl)"
.venv/bin/pip install --quiet --disable-pip-version-check -r "$REQS"
# Packages used only for their pure-Python algorithms, without their heavy model
# dependencies (torch, transformers): see scripts/python-requirements-nodeps.txt.
.venv/bin/pip install --quiet --disable-pip-version-check --no-deps -r scripts/python-requirements-nodeps.txt
