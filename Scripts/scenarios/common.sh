# shellcheck shell=bash
# Sourced by every scenario: the mode, the binary, checks and counts, figures, and cleanup on any exit.
#
# A scenario is a bash script that sources this file, builds a situation, acts, and asserts with `check`
# (or `pass`/`fail`), then calls `finish`. Its output ends with `N passed, N failed`; it exits 0 when
# nothing failed, 1 otherwise, and 77 when it was skipped (`skip REASON`). Docs/TESTING.md has the rules.
#
# Usage of a scenario: Scripts/scenarios/NAME.sh [--quick]
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/../lab/supervise.sh"

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
SCENARIO=$(basename "$0" .sh)
MODE=full
case "${1:-}" in
  --quick) MODE=quick ;;
  --full|"") MODE=full ;;
  *) echo "usage: $0 [--quick]" >&2; exit 64 ;;
esac
OBSERVE=("$(command -v python3 || echo python3)" "$ROOT/Scripts/lab/observe.py")
MESH=("$ROOT/Scripts/mesh.sh")

passed=0
failed=0
scenario_pids=()
scenario_cleanups=()
# The scenario's own directory: homes, logs and measurement files. Removed on exit unless KEEP=1.
WORK=$(mktemp -d "${TMPDIR:-/tmp}/rumor-scn-$SCENARIO.XXXXXX")

say() { echo "[$SCENARIO] $*"; }
pass() { passed=$((passed + 1)); echo "PASS $*"; }
fail() { failed=$((failed + 1)); echo "FAIL $*"; }

# check DESCRIPTION COMMAND...: passes when COMMAND succeeds.
check() {
  local description=$1; shift
  if "$@"; then pass "$description"; else fail "$description"; fi
}

# check_run DESCRIPTION OUTPUT-FILE COMMAND...: runs COMMAND (interruptibly) with its output in the file;
# passes when it succeeds, else fails and shows the output.
check_run() {
  local description=$1 output=$2; shift 2
  if run "$@" >"$output" 2>&1; then pass "$description"; else fail "$description (exit $?)"; show "$output"; fi
}

# A number the scenario measured, collected by scenarios.sh into its summary: figure KEY VALUE [UNIT]
figure() { echo "figure $SCENARIO.$1=$2${3:+ $3}"; }

# Seconds between two $EPOCHREALTIME values, with millisecond precision.
seconds_between() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }
# below A B: true when the number A is at most B.
at_most() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a <= b) }'; }

finish() {
  echo "$passed passed, $failed failed"
  if [ "$failed" -eq 0 ]; then exit 0; else exit 1; fi
}

skip() {
  echo "SKIP $SCENARIO: $*"
  echo "0 passed, 0 failed, 1 skipped"
  exit 77
}

# Runs a command in the background and waits for it, so that SIGINT and SIGTERM reach the trap at once
# instead of after the command. Returns the command's status.
run() {
  "$@" &
  scenario_pids+=("$!")
  await "$!"
}

# Starts a command in the background, remembered so that it is stopped on exit; its PID is in $!.
background() {
  "$@" &
  scenario_pids+=("$!")
}

# Waits for a process started by `run` or `background` and forgets it (so that a later exit never signals
# a reused PID). Returns its status.
await() {
  local pid=$1 status=0 kept=() p
  [[ " ${scenario_pids[*]} " == *" $pid "* ]] || scenario_pids+=("$pid")
  wait "$pid" || status=$?
  for p in "${scenario_pids[@]}"; do [ "$p" = "$pid" ] || kept+=("$p"); done
  scenario_pids=("${kept[@]}")
  return "$status"
}

# on_exit COMMAND...: runs COMMAND (a string for eval) when the scenario ends, before its own processes
# are stopped. Latest first.
on_exit() { scenario_cleanups=("$1" "${scenario_cleanups[@]}"); }

scenario_exit() {
  local status=$?
  trap - EXIT
  trap '' INT TERM
  local action pid
  for action in "${scenario_cleanups[@]}"; do eval "$action" >/dev/null 2>&1 || true; done
  for pid in "${scenario_pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${scenario_pids[@]}"; do
    for _ in $(seq 30); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  if [ "${KEEP:-0}" = 1 ]; then echo "[$SCENARIO] kept $WORK" >&2; else rm -rf "$WORK"; fi
  exit "$status"
}
trap scenario_exit EXIT
trap 'echo "[$SCENARIO] interrupted" >&2; exit 130' INT
trap 'echo "[$SCENARIO] terminated" >&2; exit 143' TERM

# The binary: $RUMOR_BIN (scenarios.sh builds once and exports it), else a debug build made here.
if [ -z "${RUMOR_BIN:-}" ]; then
  say "building (swift build)"
  (cd "$ROOT" && swift build >&2)
  RUMOR_BIN="$(cd "$ROOT" && swift build --show-bin-path)/rumor"
fi
export RUMOR_BIN
command -v python3 >/dev/null 2>&1 || { fail "python3 is needed for the measurements (Scripts/lab/observe.py)"; finish; }

# node_list FIRST LAST [SKIP...]: "nodeFIRST,...,nodeLAST" without the skipped numbers.
node_list() {
  local first=$1 last=$2 i names=()
  shift 2
  for i in $(seq "$first" "$last"); do
    [[ " $* " == *" $i "* ]] || names+=("node$i")
  done
  local IFS=,
  echo "${names[*]}"
}

# From an observe.py output file: `all_time` is the seconds since its --since when the last node got
# there; `all_at` is that moment as epoch seconds.
all_time() { sed -n 's/^all t=\([^ ]*\) .*/\1/p' "$1"; }
all_at() { sed -n 's/^all .* at=//p' "$1"; }

# Starts an observe.py `until` in the background (its PID in $!) and returns once it watches, so that the
# caller acts only after that. Arguments: OUTPUT-FILE, then the `until` options.
observe_until() {
  local out=$1; shift
  rm -f "$out.ready"
  background "${OBSERVE[@]}" --home "$home" until --ready "$out.ready" "$@" >"$out" 2>&1
  local pid=$! _
  for _ in $(seq 150); do
    [ -s "$out.ready" ] && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  return 0
}

# Shows an observe.py output indented, for the log.
show() { sed 's/^/    /' "$1"; }
