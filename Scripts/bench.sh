#!/usr/bin/env bash
# Measures Rumor against its baselines on this machine (issue 7; Docs/PERFORMANCE.md explains every figure).
# Builds rumor and rumor-bench in release mode, then prints one JSON document to stdout and progress and a
# readable table to stderr. Installs libsodium-dev first when it is missing.
#
# Usage: Scripts/bench.sh [--quick] [--only SECTION,...] [--window SECONDS] [--reps N] [--simulator-nodes N,...]
#                         [--mesh-nodes N,...]
#   --quick      about 1.5 minutes: 0.5 s runs, a 5 s idle window 12 s after the nodes start (once they have
#                given back their start-up pages), the 100- and 1,000-node simulations cut at 60 s, no 10,000-node
#                simulation.
#   --only       any of crypto, datagram, acked, rtt, processes, simulator (default: all), or profile
#                (Rumor's 64 B fire-and-forget alone, for callgrind; Docs/PERFORMANCE.md), profile-acked (its
#                acknowledged sends alone) or profile-ping (window × 1,000 pings).
#   --window     seconds per throughput run (default 1; quick 0.5). --reps: runs per figure (default 3).
#   --simulator-nodes  the simulator's mesh sizes, in order (default 100,1000,10000; quick 100,1000). A size
#                predicted from the one before not to fit in memory or in the wall-clock limit is not run.
#   --mesh-nodes the process section's mesh sizes (default 16,64; each 2-500). The idle figures are the
#                largest mesh's; converge_64_s needs 64 among them.
#
# Environment: RUMOR_BENCH_SCRATCH, the build directory (default .build).
# Node processes are stopped by PID (SIGTERM, then SIGKILL) however the bench ends; their homes and logs live
# in a temporary directory that is removed at the end.
set -euo pipefail
cd "$(dirname "$0")/.."

usage() {
  local status=${1:-64}
  awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0" >&$((status == 0 ? 1 : 2))
  exit "$status"
}

bench_args=()
while [ $# -gt 0 ]; do
  case $1 in
    -h|--help) usage 0 ;;
    --quick) bench_args+=(--quick); shift ;;
    --only|--window|--reps|--simulator-nodes|--mesh-nodes)
      [ $# -ge 2 ] || { echo "bench: $1 needs a value" >&2; usage; }
      bench_args+=("$1" "$2"); shift 2 ;;
    *) echo "bench: unknown argument $1" >&2; usage ;;
  esac
done

. Scripts/lib/deps.sh
rumor_ensure_deps

scratch=${RUMOR_BENCH_SCRATCH:-.build}
echo "bench: building rumor and rumor-bench (release, $scratch)" >&2
swift build -c release --scratch-path "$scratch" --product rumor-bench >&2
swift build -c release --scratch-path "$scratch" --product rumor >&2
bin=$(swift build -c release --scratch-path "$scratch" --show-bin-path)

work=$(mktemp -d /tmp/rumor-bench.XXXXXX)

# Stops what a crashed or interrupted bench left running: only PIDs it recorded, and only while they are
# still `rumor start` processes of this bench's homes (a PID may have been reused since).
cleanup() {
  local pid pids=()
  if [ -f "$work/pids" ]; then
    while read -r pid; do
      [[ "$pid" =~ ^[0-9]+$ ]] || continue
      if tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline" | grep -q -- "start --home $work/"; then pids+=("$pid"); fi
    done <"$work/pids"
  fi
  if [ ${#pids[@]} -gt 0 ]; then
    echo "bench: stopping ${#pids[@]} leftover node processes" >&2
    kill -TERM "${pids[@]}" 2>/dev/null || true
    for _ in $(seq 1 50); do
      local alive=()
      for pid in "${pids[@]}"; do [ -d "/proc/$pid" ] && alive+=("$pid"); done
      [ ${#alive[@]} -eq 0 ] && break
      sleep 0.1
    done
    for pid in "${pids[@]}"; do [ -d "/proc/$pid" ] && kill -KILL "$pid" 2>/dev/null; done
  fi
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

"$bin/rumor-bench" --rumor "$bin/rumor" --work "$work" "${bench_args[@]}"
