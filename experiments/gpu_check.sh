#!/usr/bin/env bash
# The one prepared check for a GPU machine: versions, the parity tests of
# tests/cuda on the real GPU, then experiments/bench_gpu.py.  Everything it
# finds goes to $OUT (default ./gpu_check_out).  Run from the repository root:
#
#     bash experiments/gpu_check.sh [TOTAL_SECONDS]
#
# TOTAL_SECONDS (default 380) bounds the whole script: the tests get at most
# TEST_S (default 170) and the benchmark starts no new case past the rest.
#
# Optional inputs (ignored when absent):
#   build/gpu_carry/wheels/      pure-Python wheels (pytest, threadpoolctl) for
#                                a machine without them and without internet
#   build/gpu_carry/cpu/bench_gpu.json   2-core CPU timings to merge into the
#                                table (python experiments/bench_gpu.py --devices cpu);
#                                the CPU column of the predict rows is measured here
set -u
TOTAL_S=${1:-380}
TEST_S=${TEST_S:-170}
OUT=${OUT:-$PWD/gpu_check_out}
PY=${PYTHON:-python3}
mkdir -p "$OUT"
START=$(date +%s)
elapsed() { echo $(( $(date +%s) - START )); }

echo "== versions ($(elapsed) s)"
nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv 2>&1 | tee "$OUT/nvidia_smi.txt"
# the environment report shared by the experiments (versions, CPU, GPU, numba-cuda, cuDNN)
"$PY" experiments/_env.py --gpu 2>&1 | tee "$OUT/versions.txt"

# pure-Python test dependencies from carried wheels when missing (no internet here)
for mod in pytest threadpoolctl; do
  if ! "$PY" -c "import $mod" 2>/dev/null; then
    "$PY" -m pip install -q --no-index --find-links build/gpu_carry/wheels "$mod" 2>&1 | tail -2
  fi
done

# tsrnn from the working tree.  ``import tsrnn`` is lazy, so the kernels, network, trainers
# and the CUDA backend import without scikit-learn or pandas (absent on a bare GPU machine).
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
"$PY" -c "import tsrnn._network, tsrnn._training, tsrnn.cuda as c; print('tsrnn imports; cuda_available =', c.cuda_available(), c.cuda_unavailable_reason())" 2>&1 | tee -a "$OUT/versions.txt"

echo "== parity tests on the GPU ($(elapsed) s)"
# two processes (float64 cases / the rest) so that kernel compilation, which
# dominates, runs on two cores
run_tests() {  # $1: -k expression, $2: output file
  TSRNN_TEST_GPU=1 timeout "$TEST_S" "$PY" -m pytest tests/cuda -q -p no:cacheprovider \
    --noconftest -rs --durations=5 -k "$1" > "$2" 2>&1
  echo "pytest exit code $?" >> "$2"
}
run_tests "float64" "$OUT/gpu_tests_float64.txt" &
run_tests "not float64" "$OUT/gpu_tests_rest.txt" &
wait
NOTE=""
for f in "$OUT/gpu_tests_float64.txt" "$OUT/gpu_tests_rest.txt"; do
  echo "-- $f"; grep -E "FAILED|ERROR|Error|passed|failed|exit code" "$f" | tail -30
  NOTE="$NOTE $(basename "$f" .txt): $(grep -E "passed|failed|error" "$f" | tail -1);"
done

echo "== benchmark ($(elapsed) s)"
# the CPU column of the prediction rows, measured here on two pinned cores (about a minute)
timeout 120 "$PY" experiments/bench_gpu.py --devices cpu --cases predict --repeats 2 \
  --out "$OUT/cpu_predict" > "$OUT/cpu_predict_log.txt" 2>&1
CPU_FILES=()
[ -f build/gpu_carry/cpu/bench_gpu.json ] && CPU_FILES+=(build/gpu_carry/cpu/bench_gpu.json)
[ -f "$OUT/cpu_predict/bench_gpu.json" ] && CPU_FILES+=("$OUT/cpu_predict/bench_gpu.json")
CPU_JSON=()
[ ${#CPU_FILES[@]} -gt 0 ] && CPU_JSON=(--cpu-json "${CPU_FILES[@]}")
BUDGET=$(( TOTAL_S - $(elapsed) - 45 ))
"$PY" experiments/bench_gpu.py --out "$OUT" --devices gpu,torch --budget-s "$BUDGET" \
  --check-note "tests/cuda with TSRNN_TEST_GPU=1:$NOTE" \
  "${CPU_JSON[@]}" --variants "seq_max_hidden=4096" "gemm=64,64,16,4,4" \
  "gemm=128,128,8,8,8;step=64,32,16,4,2" \
  2>&1 | tee "$OUT/bench_log.txt"
echo "== done ($(elapsed) s)"
