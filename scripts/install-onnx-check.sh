#!/usr/bin/env bash
# A Python virtual environment with onnx and onnxruntime, for the ONNX export test
# (tests/it/onnx.rs runs tests/onnx_check.py with it). Wheels only, pinned to versions the test
# passed with; does nothing if the environment already has them.
# Usage: scripts/install-onnx-check.sh [DIR]   (default .ci/venv)
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${1:-.ci/venv}"
PINS=(onnx==1.23.2 onnxruntime==1.32.0 numpy==2.4.6)
PYTHON="${PYTHON:-python3}"

if [ -x "$VENV/bin/python" ] && "$VENV/bin/python" - "${PINS[@]}" <<'PY'
import sys
from importlib.metadata import version, PackageNotFoundError
try:
    ok = all(version(p.split("==")[0]) == p.split("==")[1] for p in sys.argv[1:])
except PackageNotFoundError:
    ok = False
sys.exit(0 if ok else 1)
PY
then
  exit 0
fi

if ! "$PYTHON" -m venv "$VENV"; then
  echo "$PYTHON -m venv $VENV failed (on Debian: apt-get install python3-venv)" >&2
  exit 1
fi
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --only-binary=:all: "${PINS[@]}"
"$VENV/bin/python" -c 'import onnx, onnxruntime; print("onnx", onnx.__version__, "onnxruntime", onnxruntime.__version__)'
