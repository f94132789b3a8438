#!/usr/bin/env bash
# Runs the test suite under AddressSanitizer and/or ThreadSanitizer, each in its own build folder (.build-asan,
# .build-tsan), so a sanitized build never mixes with the plain one. A sanitizer report fails the run.
# The two longest simulations (1,000 nodes joining, a virtual hour of 200 nodes) are skipped: they are pure-Swift
# value code that the shorter simulations run through the same paths, and under a sanitizer they take 10 to 30
# minutes. The CLI tests run the sanitized rumor binary.
# Usage: Scripts/sanitize.sh [address|thread|all]   (default: all)
set -euo pipefail
cd "$(dirname "$0")/.."
. Scripts/lib/deps.sh
rumor_ensure_deps

which=${1:-all}
case "$which" in
  address) sanitizers=(address) ;;
  thread) sanitizers=(thread) ;;
  all) sanitizers=(address thread) ;;
  *) echo "sanitize.sh: expected address, thread or all, not '$which'" >&2; exit 64 ;;
esac

# Swift's crash backtracer and the sanitizers both want the crashed process; let the sanitizer report alone.
export SWIFT_BACKTRACE=enable=no
# LeakSanitizer is off: Swift keeps tagged pointers in enum payloads, which it cannot see, so it reports objects
# that are still reachable as leaked. exitcode=0 keeps a report from counting twice (the log is checked below).
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0:halt_on_error=1}
export TSAN_OPTIONS=${TSAN_OPTIONS:-halt_on_error=0:second_deadlock_stack=1}

status=0
for sanitizer in "${sanitizers[@]}"; do
  case "$sanitizer" in
    address) scratch=.build-asan ;;
    thread) scratch=.build-tsan ;;
  esac
  log=$scratch/sanitize.log
  echo "== $sanitizer: building ($scratch)"
  swift build --build-tests --sanitize="$sanitizer" --scratch-path "$scratch"
  mkdir -p "$scratch"
  : > "$log"
  # As in Scripts/test.sh: the CLI tests run real node processes against time bounds, so they run alone.
  echo "== $sanitizer: unit, simulator and node tests"
  swift test --skip-build --sanitize="$sanitizer" --scratch-path "$scratch" --skip RumorCLITests \
    --skip 'ConvergenceTests/largeMesh' --skip 'FalsePositiveTests/lossyLinks' 2>&1 | tee -a "$log" || status=1
  echo "== $sanitizer: CLI tests (the rumor binary is sanitized too)"
  swift test --skip-build --sanitize="$sanitizer" --scratch-path "$scratch" --filter RumorCLITests \
    --skip StartSignalRaceTests 2>&1 | tee -a "$log" || status=1
  # Alone: its two sweeps hold both test-pool threads of a 2-core machine for their whole run (Scripts/test.sh).
  swift test --skip-build --sanitize="$sanitizer" --scratch-path "$scratch" --filter StartSignalRaceTests 2>&1 \
    | tee -a "$log" || status=1
  if grep -qE '^(==[0-9]+==ERROR: AddressSanitizer|WARNING: ThreadSanitizer|SUMMARY: (Address|Thread)Sanitizer)' "$log"; then
    echo "sanitize.sh: $sanitizer reported problems; see $log" >&2
    status=1
  fi
done
exit $status
