#!/usr/bin/env bash
# Creates (once) and caches the Python venv for the embedding benchmark peer:
# sentence-transformers on PyTorch (CPU), plus NumPy for the reference implementation.
# Idempotent: re-running with a complete venv does nothing. Prints the venv's python path.
#
#   scripts/bench/setup_peer_venv.sh            # torch + sentence-transformers + numpy
#   MINDPULSE_PEER_NUMPY_ONLY=1 scripts/bench/setup_peer_venv.sh   # numpy + safetensors + tokenizers only
#
# PyPI's Linux torch wheel is the CUDA build: importing it needs the nvidia-* wheels (several
# GB), which pip installs as its dependencies. It runs on the CPU all the same.
set -euo pipefail
VENV="${MINDPULSE_PEER_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/mindpulse/venv-bench}"
STAMP="$VENV/.mindpulse-ready"
if [ -f "$STAMP" ] && "$VENV/bin/python" -c 'import numpy' >/dev/null 2>&1; then
  echo "$VENV/bin/python"; exit 0
fi
mkdir -p "$(dirname "$VENV")"
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV" >&2
PY="$VENV/bin/python"
"$PY" -m pip install -q --upgrade pip >&2 || true
"$PY" -m pip install -q numpy safetensors tokenizers >&2
if [ -z "${MINDPULSE_PEER_NUMPY_ONLY:-}" ]; then
  if "$PY" -m pip install -q torch sentence-transformers >&2 && "$PY" -c 'import torch, sentence_transformers' >&2; then
    echo torch > "$STAMP"
  else
    echo "warning: torch/sentence-transformers could not be installed; the NumPy peer remains" >&2
    echo numpy > "$STAMP"
  fi
else
  echo numpy > "$STAMP"
fi
echo "$PY"
