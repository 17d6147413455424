#!/usr/bin/env bash
# Fuzzes every parser that reads outside data (crates/mindpulse-fuzz) with cargo-fuzz and
# libFuzzer, SECONDS per target (default 600), and prints a table of targets, executions
# and findings. Idempotent: installs cargo-fuzz (once, cached in ~/.cargo/bin) and uses the
# nightly toolchain. The committed seeds (fuzz/corpus/<target>/, replayed by the tests) are
# read only; what libFuzzer finds interesting goes to fuzz/work/<target>/ (not committed:
# copy an input worth keeping into the seeds); crashes land in fuzz/artifacts/<target>/.
#
#   scripts/fuzz.sh            # every target, 10 minutes each
#   scripts/fuzz.sh 60 gguf    # one target, one minute
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-600}"
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  mapfile -t targets < <(sed -n 's/^name = "\(.*\)"$/\1/p' fuzz/Cargo.toml | grep -v '^mindpulse-fuzz-targets$')
fi
rustup toolchain list | grep -q '^nightly' || rustup toolchain install nightly --profile minimal
command -v cargo-fuzz >/dev/null 2>&1 || cargo install cargo-fuzz --locked
mkdir -p fuzz/artifacts
cargo +nightly fuzz build -O
printf '%-20s %12s %10s %9s\n' target executions corpus findings
status=0
for t in "${targets[@]}"; do
  mkdir -p "fuzz/corpus/$t" "fuzz/work/$t" "fuzz/artifacts/$t"
  log="fuzz/artifacts/$t.log"
  if cargo +nightly fuzz run -O "$t" "fuzz/work/$t" "fuzz/corpus/$t" -- \
      -max_total_time="$seconds" -print_final_stats=1 -max_len=65536 -timeout=10 \
      -artifact_prefix="fuzz/artifacts/$t/" >"$log" 2>&1; then :; else status=1; fi
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  findings=$(find "fuzz/artifacts/$t" -type f | wc -l)
  corpus=$(find "fuzz/work/$t" "fuzz/corpus/$t" -type f | wc -l)
  printf '%-20s %12s %10s %9s\n' "$t" "${execs:-?}" "$corpus" "$findings"
done
exit "$status"
