#!/usr/bin/env bash
# Creates (once) and caches the Python venv of the topic-model peer (scripts/bertopic_peer.py):
# BERTopic's default pipeline (UMAP + HDBSCAN + c-TF-IDF) run on precomputed embeddings, which
# `mindpulse bench topics` compares with the project's own topic model.
# BERTopic is installed with --no-deps so that neither PyTorch nor sentence-transformers comes
# along (the peer passes embedding_model=None and its own embeddings); its real runtime
# dependencies are pinned below, with every transitive one, and install from wheels only.
# jieba (Chinese tokenizer for --language chinese) exists only as a pure-Python sdist.
# Idempotent: re-running with a complete venv does nothing. Prints the venv's python path
# on its last line of stdout; progress goes to stderr.
#
#   scripts/setup_topics_venv.sh
#   MINDPULSE_CACHE=/path scripts/setup_topics_venv.sh      # venv at /path/venv-topics
set -euo pipefail
CACHE="${MINDPULSE_CACHE:-$HOME/.cache/mindpulse}"
VENV="$CACHE/venv-topics"
PY="$VENV/bin/python"
BERTOPIC="bertopic==0.17.4"
# BERTopic's declared dependencies less sentence-transformers, what they pull in, and pyyaml
# (imported by bertopic/_bertopic.py without being declared).
DEPS="numpy==2.4.6 pandas==3.1.1 scikit-learn==1.9.1 scipy==1.17.1 umap-learn==0.5.12 \
hdbscan==0.8.44 pynndescent==0.7.0 numba==0.68.1 llvmlite==0.50.0 tqdm==4.70.1 plotly==7.1.0 \
narwhals==2.29.0 joblib==1.6.0 threadpoolctl==3.8.0 cloudpickle==3.1.3 packaging==26.4 \
python-dateutil==4.0.0 tzdata==2026.6 pyyaml==6.0.4"
JIEBA="jieba==0.42.1"
# The stamp holds this list, so a cached venv is brought up to date when it changes.
WANT="$BERTOPIC $DEPS $JIEBA"
STAMP="$VENV/.mindpulse-ready"
CHECK='import bertopic, umap, hdbscan, sklearn, jieba; from bertopic import BERTopic'
if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$WANT" ] \
  && "$PY" -c "$CHECK" >/dev/null 2>&1; then
  echo "$PY"; exit 0
fi
command -v python3 >/dev/null 2>&1 || { echo "python3 (with venv) is needed for the topics venv" >&2; exit 1; }
mkdir -p "$CACHE"
if [ ! -x "$PY" ]; then
  echo "creating $VENV" >&2
  python3 -m venv "$VENV" >&2
fi
"$PY" -m pip install -q --upgrade pip >&2 || true
echo "installing $BERTOPIC (no torch) and its dependencies into $VENV" >&2
# shellcheck disable=SC2086
"$PY" -m pip install -q --only-binary :all: $DEPS >&2
"$PY" -m pip install -q --only-binary :all: --no-deps "$BERTOPIC" >&2
# jieba ships no wheel: build its sdist (pure Python, seconds).
"$PY" -m pip install -q --no-deps "$JIEBA" >&2
"$PY" -c "$CHECK" >&2
echo "$WANT" > "$STAMP"
echo "$PY"
