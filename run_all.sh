#!/usr/bin/env bash
# mmlkit: one command to reproduce, one to test.
#
#   ./run_all.sh [--profile default|smoke|paper] [--seeds 0,1,2] [--dataset synthetic|somethingv2|PATH]
#                [--data-root DIR] [--only NOTEBOOK]... [--results-dir DIR] [--device cpu|cuda]
#                [--synth-seed S] [--lanes N] [--unpinned]
#       Makes .venv when missing, generates the embedded benchmark (and its optical flow) when
#       missing, runs every notebook with papermill and writes papers_results/: executed
#       notebooks, tables (CSV + Markdown), figures (PNG) and papers_results/README.md.
#       --synth-seed S reruns on another draw of the benchmark (into papers_results/draw-S/).
#       --lanes 2 trains the runs the last full run planned, two at a time, then runs two notebooks
#       at once, each run with one thread (runs of their own: their bits differ from the
#       default's, which made papers_results/), for more runs per hour.
#       Every process runs on the AVX2 code paths (mmlkit.runtime.PINNED_DISPATCH), so that AVX2 and
#       AVX-512 hosts train the same bits (tests/test_bits.py checks it), into results/<profile>-pinned.
#       --unpinned runs on the host's own code paths instead (faster on AVX-512, other bits there),
#       into results/<profile>; --pin-dispatch, the default, is accepted for older command lines.
#
#   ./run_all.sh test [pytest args...]
#       Makes .venv when missing, then runs pytest and nbval over notebooks/ (smoke profile).
#       The documentation site's browser test needs Debian's chromium (/usr/bin/chromium); .ci/run
#       installs it; without it that test is skipped unless MMLKIT_REQUIRE_BROWSER=1.
#
#   ./run_all.sh docs
#       Makes .venv when missing, then builds the documentation site from docs/ and the executed
#       notebooks in papers_results/ into site/ (offline, every warning an error); open
#       site/index.html from disk or serve the folder from any static host.
set -euo pipefail
cd "$(dirname "$0")"
ROOT=$(pwd)
VENV="$ROOT/.venv"
PY="$VENV/bin/python"
PYTHON=${PYTHON:-python3}

log() { printf '[run_all %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

# Refuse early, with the figures, when the disk cannot hold what comes next: pip's own
# "[Errno 28] No space left on device" comes minutes in, halfway through an install.
need_disk() {  # need_disk FOLDER GIB WHAT
  local avail_kb
  avail_kb=$(df -Pk "$1" 2>/dev/null | awk 'NR == 2 {print $4}')
  if [ -n "$avail_kb" ] && [ "$avail_kb" -lt $(( $2 * 1024 * 1024 )) ]; then
    log "error: $3 needs about $2 GiB free on the disk of $1; $(( avail_kb / 1024 )) MiB are free there. Free some space and rerun."
    exit 1
  fi
}

ensure_venv() {
  if [ -x "$PY" ] && "$PY" -c "import mmlkit, torch, torchvision, cv2, papermill, nbval, sphinx, myst_nb, furo, playwright" 2>/dev/null; then
    return 0
  fi
  # 6.8 GiB installed (torch 2.14.1 is a CUDA build on x86_64), plus pip's unpacking
  need_disk "$ROOT" 8 "creating $VENV"
  log "creating $VENV (torch==2.14.1, torchvision==0.29.1 and the project's dependencies; a few minutes)"
  [ -x "$PY" ] || "$PYTHON" -m venv "$VENV"
  "$PY" -m pip install -q --upgrade pip
  # constraints.txt: the exact versions behind papers_results/ (floats depend on them)
  "$PY" -m pip install -q -c constraints.txt "torch==2.14.1" "torchvision==0.29.1"
  "$PY" -m pip install -q -c constraints.txt -e ".[dev,docs,tensorboard]"
  log "environment ready: $("$PY" -c 'import torch; print("torch", torch.__version__)')"
}

# The notebooks' kernel "mmlkit" carries the pinned dispatch; "mmlkit-unpinned" does not
# (mmlkit.runtime.install_kernels). Installed on every start (0.2 s), so a .venv from before a
# change to them never runs the notebooks on an old spec.
ensure_kernel() {
  "$PY" -m mmlkit kernels --prefix "$VENV" >/dev/null
}

run_tests() {
  export MMLKIT_PROFILE=smoke MPLBACKEND=Agg PYTHONHASHSEED=0
  export MMLKIT_CACHE="${MMLKIT_CACHE:-$ROOT/.cache}"
  log "pytest"
  "$PY" -m pytest -q "$@"
  log "nbval over notebooks/ (smoke profile)"
  "$PY" -m pytest -q --nbval-lax --nbval-kernel-name mmlkit -p no:cacheprovider notebooks/
}

build_docs() {
  log "docs: sphinx-build -W (warnings are errors) docs/ -> site/"
  rm -rf "$ROOT/site"
  "$PY" -m sphinx -W --keep-going -q -b html "$ROOT/docs" "$ROOT/site"
  rm -rf "$ROOT/jupyter_execute"  # MyST-NB's copy of the notebooks' outputs, beside site/; the site has its own
  log "docs: open $ROOT/site/index.html"
}

run_notebooks() {
  local profile=default seeds="" dataset="" data_root="" results="" device="" synth_seed="" lanes="" pin=1
  local only=()  # --only is repeatable: each names one notebook
  while [ $# -gt 0 ]; do
    case "$1" in
      --profile) profile=$2; shift 2;;
      --seeds) seeds=$2; shift 2;;
      --dataset) dataset=$2; shift 2;;
      --data-root) data_root=$2; shift 2;;
      --only) only+=(--only "$2"); shift 2;;
      --results-dir) results=$2; shift 2;;
      --device) device=$2; shift 2;;
      --synth-seed) synth_seed=$2; shift 2;;
      --lanes) lanes=$2; shift 2;;
      --pin-dispatch) pin=1; shift;;
      --unpinned) pin=0; shift;;
      -h|--help) sed -n '2,19p' "$0"; exit 0;;
      *) echo "run_all.sh: unknown option $1 (see ./run_all.sh --help)" >&2; exit 2;;
    esac
  done
  # The pins, exported (or, --unpinned, removed) before any Python starts: each library reads its
  # variable once. reproduce then runs the notebooks on the kernel with the same dispatch.
  eval "$("$PY" -c 'import sys; from mmlkit.runtime import PINNED_DISPATCH as P
print("; ".join(f"export {k}={v}" if sys.argv[1] == "1" else f"unset {k}" for k, v in P.items()))' "$pin")"
  export MPLBACKEND=Agg PYTHONHASHSEED=0
  local args=(--profile "$profile")
  [ -n "$seeds" ] && args+=(--seeds "$seeds")
  [ -n "$dataset" ] && args+=(--dataset "$dataset")
  [ -n "$data_root" ] && args+=(--data-root "$data_root")
  [ ${#only[@]} -gt 0 ] && args+=("${only[@]}")
  [ -n "$results" ] && args+=(--results-dir "$results")
  [ -n "$device" ] && args+=(--device "$device")
  [ -n "$synth_seed" ] && args+=(--synth-seed "$synth_seed")
  [ -n "$lanes" ] && args+=(--lanes "$lanes")
  "$PY" -m mmlkit.results.reproduce "${args[@]}"
}

ensure_venv
ensure_kernel
if [ "${1:-}" = "test" ]; then
  shift
  run_tests "$@"
elif [ "${1:-}" = "docs" ]; then
  shift
  build_docs
else
  run_notebooks "$@"
fi
