#!/usr/bin/env bash
# Every CUDA path of the suite once, with small inputs, in a few minutes: one line per path, a summary.
# Exit status: 0 all passed, 1 some failed, 2 no CUDA device (nothing checked).
# Uses the checkout's .venv (make setup) unless PYTHON is set.
set -u
root=$(cd "$(dirname "$0")/.." && pwd)
python=${PYTHON:-$root/.venv/bin/python}
if [ ! -x "$python" ]; then
    echo "gpu_check: $python not found: run 'make setup' first (or set PYTHON)" >&2
    exit 2
fi
exec "$python" "$root/scripts/gpu_check.py" "$@"
