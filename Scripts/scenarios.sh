#!/usr/bin/env bash
# Runs the multi-node scenarios (Scripts/scenarios/*.sh): each builds a situation, acts, and asserts the
# outcome. Builds rumor first (debug), unless RUMOR_BIN names a binary. Prints each scenario's output as it
# runs, then a summary with the figures measured, and last `N passed, N failed, N skipped` (scenarios).
# Exits 1 when a scenario failed or left something behind (a process, a network namespace), 0 otherwise.
#
# Usage: Scripts/scenarios.sh [--quick] [--only NAME[,NAME...]] [--list]
#   --quick   the short run of CI and Scripts/test.sh (a few minutes); without it, the full run
#   --only    run only these scenarios
#   --list    list the scenarios and stop
# Docs/TESTING.md says how to read the output and how to write a scenario.
set -euo pipefail
. "$(dirname "$0")/lab/supervise.sh"
cd "$(dirname "$0")/.."

scenarios=(join-storm crash-restart graceful-leave lab-impairments partition-heal lossy-network flood key-rotation cleanup-check)
mode=full
only=""
while [ "$#" -gt 0 ]; do
  case $1 in
    --quick) mode=quick; shift ;;
    --only) only=${2:?--only needs scenario names}; shift 2 ;;
    --list)
      for name in "${scenarios[@]}"; do printf '%-16s %s\n' "$name" "$(sed -n '2s/^# //p' "Scripts/scenarios/$name.sh")"; done
      exit 0 ;;
    -h|--help) sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "scenarios: unknown argument $1 (see --help)" >&2; exit 64 ;;
  esac
done
if [ -n "$only" ]; then
  for name in ${only//,/ }; do
    [ -f "Scripts/scenarios/$name.sh" ] || { echo "scenarios: no scenario '$name' (see --list)" >&2; exit 64; }
  done
  IFS=, read -ra scenarios <<<"$only"
fi

if [ -z "${RUMOR_BIN:-}" ]; then
  . Scripts/lib/deps.sh
  rumor_ensure_deps
  echo "== building rumor (swift build)"
  swift build
  RUMOR_BIN="$(swift build --show-bin-path)/rumor"
fi
export RUMOR_BIN
if ! command -v python3 >/dev/null 2>&1; then
  [ "$(id -u)" = 0 ] || { echo "scenarios: python3 is needed (Scripts/lab/observe.py); install it" >&2; exit 1; }
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3 >&2 \
    || { apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3 >&2; }
fi

# Every scenario's files (its homes, logs and labs) live under this run's directory, so that anything
# left running can be found by path afterwards.
run_dir=$(mktemp -d "${TMPDIR:-/tmp}/rumor-scenarios.XXXXXX")
child=""
tailer=""
interrupted() {
  trap '' INT TERM
  echo "scenarios: interrupted; stopping ${current:-the current scenario}" >&2
  if [ -n "$child" ]; then
    kill -TERM "$child" 2>/dev/null || true
    for _ in $(seq 300); do kill -0 "$child" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$child" 2>/dev/null || true
  fi
  if [ -n "$tailer" ]; then
    sleep 0.3
    kill "$tailer" 2>/dev/null || true
  fi
  exit 130
}
trap interrupted INT TERM
trap 'rm -rf "$run_dir"' EXIT

namespaces() { ip netns list 2>/dev/null | awk '{print $1}' | grep '^rl[0-9]*-' | sort || true; }

# Prints what a finished scenario left behind (processes of its files, new namespaces whose owner is
# gone) and stops or removes it. True when nothing was left.
sweep() {
  local before=$1 found=no proc command ns
  for proc in /proc/[0-9]*; do
    command=$(tr '\0' ' ' 2>/dev/null <"$proc/cmdline") || continue
    [[ "$command" == *"$run_dir/"* ]] || continue
    echo "LEAK process ${proc#/proc/}: $command"
    kill -KILL "${proc#/proc/}" 2>/dev/null || true
    found=yes
  done
  for ns in $(comm -13 <(echo "$before") <(namespaces)); do
    local owner=${ns%%-*}
    [ ! -d "/proc/${owner#rl}" ] || continue
    echo "LEAK network namespace $ns"
    found=yes
  done
  if [ "$found" = yes ] && [ "$(id -u)" = 0 ]; then Scripts/lab/lab.sh cleanup >/dev/null 2>&1 || true; fi
  [ "$found" = no ]
}

declare -A result seconds checks
figures=()
started_all=$SECONDS
for name in "${scenarios[@]}"; do
  current=$name
  log="$run_dir/$name.log"
  echo
  echo "=== $name ($mode)"
  before=$(namespaces)
  start=$SECONDS
  : >"$log"  # before tail opens it: the scenario's own redirection may come later
  TMPDIR=$run_dir "Scripts/scenarios/$name.sh" "--$mode" >"$log" 2>&1 &
  child=$!
  tail -s 0.2 -n +1 -f --pid="$child" "$log" &
  tailer=$!
  status=0
  wait "$child" || status=$?
  wait "$tailer" 2>/dev/null || true
  child=""
  tailer=""
  seconds[$name]=$((SECONDS - start))
  case $status in
    0) result[$name]=PASS ;;
    77) result[$name]=SKIP ;;
    *) result[$name]=FAIL ;;
  esac
  if ! sweep "$before" >"$run_dir/$name.sweep"; then
    cat "$run_dir/$name.sweep"
    result[$name]=FAIL
  fi
  checks[$name]=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$log" | tail -n 1 || true)
  [ -n "${checks[$name]}" ] || checks[$name]="no result line (exit $status)"
  while IFS= read -r line; do figures+=("${line#figure }"); done < <(grep '^figure ' "$log" || true)
  if [ "${result[$name]}" = FAIL ]; then cp "$log" "${TMPDIR:-/tmp}/rumor-scenario-$name.log"; fi
done

passed=0 failed=0 skipped=0
echo
echo "=== summary ($mode run, $((SECONDS - started_all)) s)"
for name in "${scenarios[@]}"; do
  printf '%-4s %-16s %4d s  %s\n' "${result[$name]}" "$name" "${seconds[$name]}" "${checks[$name]}"
  case ${result[$name]} in
    PASS) passed=$((passed + 1)) ;;
    SKIP) skipped=$((skipped + 1)) ;;
    *) failed=$((failed + 1)); echo "     its log: ${TMPDIR:-/tmp}/rumor-scenario-$name.log" ;;
  esac
done
if [ "${#figures[@]}" -gt 0 ]; then
  echo "=== figures"
  printf '  %s\n' "${figures[@]}"
fi
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
