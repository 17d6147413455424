#!/usr/bin/env bash
# Installs the llama.cpp OpenAI-compatible server (the PyPI package llama-cpp-python[server],
# a CPU build compiled from source, a few minutes) into a cached virtual environment, used by
# the LLM scorer's tests and `mindpulse bench llm` as the reference server.
#
# Idempotent: a stamp file records the installed version, so a second run is instant.
# Prints the venv's python path on its last line of stdout.
#
#   scripts/setup_llama_server.sh            # install (or reuse) the venv
#   MINDPULSE_CACHE=/path scripts/setup_llama_server.sh
set -euo pipefail

VERSION="0.3.16"
CACHE="${MINDPULSE_CACHE:-$HOME/.cache/mindpulse}"
VENV="$CACHE/venv-llama"
STAMP="$VENV/.mindpulse-llama-cpp-python-$VERSION"
PY="$VENV/bin/python"

if [ -f "$STAMP" ] && [ -x "$PY" ] && "$PY" -c 'import llama_cpp.server' >/dev/null 2>&1; then
  echo "$PY"
  exit 0
fi

command -v python3 >/dev/null 2>&1 || { echo "python3 is needed to install llama-cpp-python" >&2; exit 1; }
mkdir -p "$CACHE"
if [ ! -x "$PY" ]; then
  echo "creating $VENV" >&2
  python3 -m venv "$VENV"
fi
"$PY" -m pip install --quiet --upgrade pip >&2

# CPU-only build, no BLAS/GPU backends; native ISA for speed on this machine.
export CMAKE_ARGS="${CMAKE_ARGS:--DGGML_CUDA=OFF -DGGML_METAL=OFF -DGGML_BLAS=OFF -DGGML_NATIVE=ON -DLLAMA_CURL=OFF}"
export CMAKE_BUILD_PARALLEL_LEVEL="${CMAKE_BUILD_PARALLEL_LEVEL:-2}"
echo "installing llama-cpp-python[server]==$VERSION (compiles llama.cpp, a few minutes)" >&2
"$PY" -m pip install --no-cache-dir "llama-cpp-python[server]==$VERSION" >&2
"$PY" -c 'import llama_cpp.server' >&2

rm -f "$VENV"/.mindpulse-llama-cpp-python-*
touch "$STAMP"
echo "$PY"
