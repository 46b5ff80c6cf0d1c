#!/usr/bin/env bash
# The GPU checks in one go, for a machine with a CUDA GPU and a CUDA build of PyTorch (which need
# not be this project's pinned torch): the CUDA tests, `bench` on the GPU, the time to cdcgan's
# quality target and mlp2's 20,000 steps there, and, where the host CPU has AMX, the CPU bench at
# 2 threads beside it. Each part has its own time limit, so one that hangs cannot take the rest.
#
#   bash scripts/gpu_check.sh [OUT_DIR]      (default: gpu-check-<date>)
#   PARTS="tests bench" bash scripts/gpu_check.sh ...   (some parts: tests bench quality train cpu)
#
# Runs from the checkout without installing it (PYTHONPATH=src). Python packages the machine lacks
# can be put as wheels in .whl/ (tomli-w, argcomplete): they are installed into a scratch folder.
set -uo pipefail
out=${1:-${OUT:-gpu-check-$(date +%Y%m%d-%H%M)}}
mkdir -p "$out" && out=$(cd "$out" && pwd)  # where the caller stands, not the checkout
cd "$(dirname "$0")/.."
export PYTHONUNBUFFERED=1 COUNTERFEIT_CACHE=${COUNTERFEIT_CACHE:-/tmp/counterfeit-gpu-cache}
export PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}"
if compgen -G ".whl/*.whl" >/dev/null; then
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/gpu-check-site \
        .whl/*.whl && export PYTHONPATH="$PYTHONPATH:/tmp/gpu-check-site"
fi
parts=" ${PARTS:-tests bench quality train cpu} "
want() { [[ $parts == *" $1 "* ]]; }
part() { echo "== $1 ($(date +%T))"; }

{
    part machine
    nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.sm,clocks.max.sm --format=csv
    lscpu | grep -E '^(Model name|CPU\(s\)|Thread|Core)'
    grep -o -w -E 'avx512f|avx512_bf16|amx_tile|amx_bf16' /proc/cpuinfo | sort -u | tr '\n' ' '; echo
    python3 -c "import torch; print('torch', torch.__version__, 'cuda', torch.version.cuda, torch.cuda.get_device_name())"
} 2>&1 | tee "$out/machine.txt"

if want tests; then
    part "CUDA tests" | tee "$out/tests.log"
    # pytest-xdist where present; pytest-benchmark (if installed) warns under it, and warnings are errors here
    workers=$(python3 -c "import xdist" 2>/dev/null && echo "-n 8 -p no:benchmark")
    timeout 180 python3 -m pytest -q -p no:cacheprovider $workers -k "cuda or gpu" tests 2>&1 | tee -a "$out/tests.log" \
        | tail -25
fi

if want bench; then
    part "bench on the GPU"
    timeout 120 python3 -m counterfeit bench --device cuda --seconds 2 --preset mlp2 --preset mlp4 --preset dcgan \
        --preset cdcgan --json >"$out/bench-gpu.json" 2>"$out/bench-gpu.err" \
        && python3 -m counterfeit bench --summarize "$out/bench-gpu.json" || tail -3 "$out/bench-gpu.err"
fi

if want quality; then
    part "time to quality: cdcgan on the GPU"
    timeout 120 python3 -m counterfeit bench --to-quality cdcgan --device cuda --out "$out/run-to-quality" --quiet --json \
        >"$out/to-quality-cdcgan.json" 2>&1; tail -25 "$out/to-quality-cdcgan.json"
fi

if want train; then
    part "mlp2's 20,000 steps on the GPU (make train's run)"
    start=$(date +%s.%N)
    timeout 120 python3 -m counterfeit train --preset mlp2 --device cuda --out "$out/run-mlp2" --quiet >/dev/null 2>&1
    echo "exit $?, $(python3 -c "print(round($(date +%s.%N) - $start, 1))") s wall"
    grep -v eval_n "$out/run-mlp2/metrics.jsonl" 2>/dev/null | tail -1  # this run's, never a run before
fi

if want cpu && grep -q -w amx_tile /proc/cpuinfo; then
    part "bench on the host CPU (AMX), 2 threads"
    timeout 150 python3 -m counterfeit bench --device cpu --threads 2 --seconds 2 --preset mlp2 --preset mlp4 \
        --preset dcgan --preset cdcgan --json >"$out/bench-cpu.json" 2>"$out/bench-cpu.err" \
        && python3 -m counterfeit bench --summarize "$out/bench-cpu.json" || tail -3 "$out/bench-cpu.err"
fi
part done
