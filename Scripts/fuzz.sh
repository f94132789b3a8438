#!/usr/bin/env bash
# Builds the libFuzzer targets of Fuzz/ (with AddressSanitizer) and runs them from their committed seeds.
# A crash is copied to Fuzz/Regressions/TARGET/, where Tests/RumorNodeTests/FuzzRegressionTests.swift replays it,
# and makes the script fail. Fuzz/README.md describes the targets.
# Usage: Scripts/fuzz.sh [--quick] [--seconds N] [--seeds] [TARGET...]
#   --quick      all the targets given (default: all) in about a minute in total, for CI
#   --seconds N  each target for N seconds (default 600)
#   --seeds      only rewrite Fuzz/Corpus/TARGET/ from the seeds the targets define, and check them
# Environment: FUZZ_JOBS (default 1) runs that many fuzzing processes per target; FUZZ_FLAGS adds libFuzzer flags.
set -euo pipefail
cd "$(dirname "$0")/.."
. Scripts/lib/deps.sh
rumor_ensure_deps

all_targets=(packet handshake transport replay reassembly membership envelope json keyfiles snapshot)
seconds=600
quick=0
seeds_only=0
targets=()
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) quick=1 ;;
    --seconds) seconds=$2; shift ;;
    --seeds) seeds_only=1 ;;
    -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
    -*) echo "fuzz.sh: unknown option $1" >&2; exit 64 ;;
    *)
      if [[ " ${all_targets[*]} " != *" $1 "* ]]; then
        echo "fuzz.sh: no target '$1'; the targets are: ${all_targets[*]}" >&2
        exit 64
      fi
      targets+=("$1") ;;
  esac
  shift
done
[ ${#targets[@]} -gt 0 ] || targets=("${all_targets[@]}")
if [ "$quick" = 1 ]; then seconds=$(( 60 / ${#targets[@]} )); [ "$seconds" -ge 5 ] || seconds=5; fi

scratch=Fuzz/.build-fuzz
# Release code runs the scripted targets 10-20 times faster than debug; -enable-testing lets the harness reach
# the internals it checks (@testable import). lld, because gold sometimes fails on the sanitizer runtime.
echo "== building the fuzz targets (release, -sanitize=fuzzer,address)"
swift build --package-path Fuzz --scratch-path "$scratch" -c release \
  -Xswiftc -sanitize=fuzzer,address -Xswiftc -enable-testing -Xswiftc -use-ld=lld
bin=$scratch/release

# Swift's own crash backtracer fights AddressSanitizer over the crashed process (and reports a bogus
# stack-buffer-underflow), so libFuzzer and ASan report crashes alone. LeakSanitizer is off: Swift keeps tagged
# pointers in enum payloads, which it cannot see, so it reports reachable objects as leaked.
export SWIFT_BACKTRACE=enable=no
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0:abort_on_error=1}

if [ "$seeds_only" = 1 ]; then
  for target in "${targets[@]}"; do
    rm -rf "Fuzz/Corpus/$target"
    "$bin/fuzz-$target" --write-seeds "Fuzz/Corpus/$target"
    echo "$target: $(ls "Fuzz/Corpus/$target" | wc -l) seeds, $(cat "Fuzz/Corpus/$target"/* | wc -c) bytes"
  done
  exit 0
fi

max_len() {
  case "$1" in
    packet) echo 1400 ;;
    keyfiles|reassembly) echo 2048 ;;
    *) echo 4096 ;;
  esac
}

summary=$scratch/summary.txt
: > "$summary"
failed=()
for target in "${targets[@]}"; do
  corpus=$scratch/corpus/$target
  artifacts=$scratch/artifacts/$target
  log=$scratch/logs/$target.log
  mkdir -p "$corpus" "$artifacts" "$(dirname "$log")"
  echo "== fuzz-$target for ${seconds}s (log: $log)"
  # New inputs go to the first directory (ignored by git); the committed seeds are only read.
  status=0
  "$bin/fuzz-$target" "$corpus" "Fuzz/Corpus/$target" -max_total_time="$seconds" -max_len="$(max_len "$target")" \
    -timeout=30 -rss_limit_mb=3072 -detect_leaks=0 -print_final_stats=1 -artifact_prefix="$artifacts/" \
    -jobs="${FUZZ_JOBS:-1}" -workers="${FUZZ_JOBS:-1}" ${FUZZ_FLAGS:-} > "$log" 2>&1 || status=$?
  line=$(grep -E '^#[0-9]+' "$log" | tail -1 || true)
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  cov=$(echo "$line" | sed -n 's/.*cov: \([0-9]*\).*/\1/p')
  ft=$(echo "$line" | sed -n 's/.*ft: \([0-9]*\).*/\1/p')
  speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  result="ok"
  for crash in "$artifacts"/crash-* "$artifacts"/timeout-* "$artifacts"/oom-*; do
    [ -e "$crash" ] || continue
    mkdir -p "Fuzz/Regressions/$target"
    cp "$crash" "Fuzz/Regressions/$target/"
    rm "$crash"
    result="FOUND $(basename "$crash")"
    echo "   $(grep -m1 -E 'Fatal error|ERROR: AddressSanitizer|ERROR: libFuzzer' "$log" || true)"
    echo "   saved as Fuzz/Regressions/$target/$(basename "$crash"); replay: $bin/fuzz-$target Fuzz/Regressions/$target/$(basename "$crash")"
  done
  if [ "$status" != 0 ] && [ "$result" = ok ]; then result="exit $status"; fi
  [ "$result" = ok ] || failed+=("$target")
  printf '%-11s %-36s runs %-10s exec/s %-7s cov %-6s ft %-7s corpus %s\n' "$target" "$result" "${runs:-?}" "${speed:-?}" \
    "${cov:-?}" "${ft:-?}" "$(ls "$corpus" | wc -l)" | tee -a "$summary"
done

if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz.sh: ${failed[*]} found inputs that break an invariant (see above and Fuzz/README.md)" >&2
  exit 1
fi
