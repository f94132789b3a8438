#!/usr/bin/env bash
# Cleanup: running a script twice, or interrupting it, leaves nothing behind. Runs mesh.sh up/down twice
# (each command twice in a row), interrupts a mesh.sh up with SIGINT, runs a lab twice, interrupts a lab
# with SIGINT (once while it builds, once while it is up), and removes a lab killed with SIGKILL (which
# cannot clean up after itself) with `lab.sh cleanup`. After each, no process may be left (none in the
# session the script ran in, none naming its home), and no namespace, veth, bridge, nftables table, qdisc
# or directory with that lab's prefix.
# The lab parts need root; elsewhere they are reported as not run.
. "$(dirname "$0")/common.sh" "$@"

LAB=("$ROOT/Scripts/lab/lab.sh")

# leftovers PATH [PREFIX]: prints every process whose command line holds PATH and, with PREFIX, every
# namespace, root-namespace link, nftables table, qdisc and directory of that lab. True when none.
leftovers() {
  local path=$1 prefix=${2:-} found=no proc command
  for proc in /proc/[0-9]*; do
    command=$(tr '\0' ' ' 2>/dev/null <"$proc/cmdline") || continue
    if [[ "$command" == *"$path"* ]]; then echo "  process ${proc#/proc/}: $command"; found=yes; fi
  done
  if [ -n "$prefix" ]; then
    local line
    while read -r line; do [ -z "$line" ] || { echo "  namespace: $line"; found=yes; }; done \
      < <(ip netns list 2>/dev/null | grep "^$prefix-" || true)
    while read -r line; do [ -z "$line" ] || { echo "  link: $line"; found=yes; }; done \
      < <(ip -o link show 2>/dev/null | grep -- "$prefix" || true)
    while read -r line; do [ -z "$line" ] || { echo "  nftables: $line"; found=yes; }; done \
      < <(nft list tables 2>/dev/null | grep -e rumorlab -e "$prefix" || true)
    while read -r line; do [ -z "$line" ] || { echo "  qdisc: $line"; found=yes; }; done \
      < <(tc qdisc show 2>/dev/null | grep -e netem -e "$prefix" || true)
    for line in "${TMPDIR:-/tmp}/$prefix".*; do [ ! -e "$line" ] || { echo "  directory: $line"; found=yes; }; done
  fi
  session_leftovers || found=yes
  [ "$found" = no ]
}

# Every mesh.sh and lab.sh here runs in a session of its own (setsid; no fork, as a background job is no
# process group leader), and every process it starts inherits that session unless it makes its own. So
# a process still in one of these sessions is a leftover, whatever its name, path or parent.
sessions=()
# A zombie is not left running: it has exited, and init reaps it (on this machine, a moment later).
session_leftovers() {
  ps -eo pid=,sid=,stat=,args= | awk -v list=" ${sessions[*]} " '
    index(list, " " $2 " ") && $3 !~ /^Z/ { print "  process in session " $2 ": " $0; found = 1 }
    END { exit found }'
}

# Runs a command in a new session and waits for it.
in_new_session() {
  setsid "$@" &
  sessions+=("$!")
  scenario_pids+=("$!")
  await "$!"
}

# nothing_left DESCRIPTION PATH [PREFIX]
nothing_left() {
  local description=$1; shift
  if leftovers "$@" >"$WORK/leftovers"; then pass "$description: nothing left"; else fail "$description: left behind:"; cat "$WORK/leftovers"; fi
}

# A command started so that SIGINT reaches it as it would from a terminal (a background job of a script
# otherwise ignores SIGINT); its PID is in $!.
interruptible_background() {
  background setsid env --default-signal=INT "$@"
  sessions+=("$!")
}

# --- mesh.sh: twice, and each command twice ----------------------------------------------------------------
home=$WORK/mesh
for round in 1 2; do
  if in_new_session "${MESH[@]}" --home "$home" up 4 >"$WORK/up.out" 2>&1; then
    pass "round $round: mesh.sh up 4"
  else
    fail "round $round: mesh.sh up 4"
    show "$WORK/up.out"
  fi
  in_new_session "${MESH[@]}" --home "$home" up 4 >"$WORK/up2.out" 2>&1 || true
  check "round $round: a second mesh.sh up 4 starts nothing more" grep -q "after starting 0 node(s)" "$WORK/up2.out"
  in_new_session "${MESH[@]}" --home "$home" down >"$WORK/down.out" 2>&1 || true
  check "round $round: mesh.sh down stops the 4 nodes gracefully" grep -q "stopped 4 node(s): 4 left gracefully" "$WORK/down.out"
  in_new_session "${MESH[@]}" --home "$home" down >"$WORK/down2.out" 2>&1 || true
  check "round $round: a second mesh.sh down finds nothing to stop" grep -q "no node running" "$WORK/down2.out"
  nothing_left "round $round: after mesh.sh up, up, down, down" "$home"
done

# --- mesh.sh: interrupted ---------------------------------------------------------------------------------
home=$WORK/interrupted
mkdir -p "$home"
interruptible_background "${MESH[@]}" --home "$home" up 12 --timeout 60
mesh=$!
for _ in $(seq 200); do [ "$(ls "$home/.mesh/"*.pid 2>/dev/null | wc -l)" -ge 4 ] && break; sleep 0.05; done
kill -INT "$mesh"
status=0
await "$mesh" >/dev/null 2>&1 || status=$?
check "mesh.sh up interrupted with SIGINT exits 130 (exit $status)" test "$status" -eq 130
nothing_left "after SIGINT to mesh.sh up (with nodes started)" "$home"
check "no PID file stays behind" test "$(ls "$home/.mesh/"*.pid 2>/dev/null | wc -l)" -eq 0

# --- the lab -------------------------------------------------------------------------------------------------
if ! "${LAB[@]}" check >"$WORK/check.out" 2>&1; then
  say "lab parts not run: $(tail -n 1 "$WORK/check.out")"
  finish
fi

for round in 1 2; do
  if in_new_session "${LAB[@]}" up 3 --duration 1 >"$WORK/lab.out" 2>&1; then
    prefix=$(sed -n 's/^lab \(rl[0-9]*\): .*/\1/p' "$WORK/lab.out")
    pass "lab run $round: lab.sh up 3 --duration 1 ($prefix)"
    nothing_left "lab run $round: after it ended" "$prefix." "$prefix"
  else
    fail "lab run $round: lab.sh up 3 --duration 1"
    show "$WORK/lab.out"
  fi
done

# interrupt_lab WHEN TEST...: starts `lab.sh up 6`, waits until TEST (given the prefix) holds, sends SIGINT.
interrupt_lab() {
  local when=$1; shift
  interruptible_background "${LAB[@]}" up 6 --duration 120 >"$WORK/lab.$when.out" 2>&1
  local lab=$! prefix="rl$!" _
  # `env` execs the script, whose supervisor keeps this PID and names the lab after it.
  for _ in $(seq 1200); do
    "$@" "$prefix" && break
    kill -0 "$lab" 2>/dev/null || break
    sleep 0.05
  done
  kill -INT "$lab"
  local status=0
  await "$lab" || status=$?
  if [ "$status" -eq 130 ]; then
    pass "lab.sh up interrupted $when exits 130"
  else
    fail "lab.sh up interrupted $when exits 130 (exit $status); its output:"
    show "$WORK/lab.$when.out"
  fi
  nothing_left "after SIGINT to lab.sh $when" "$prefix." "$prefix"
}
hosts_exist() { ip netns list 2>/dev/null | grep -q "^$1-h2"; }
lab_up() { grep -q "^lab $1: 6 hosts up" "$WORK/lab.up.out"; }
interrupt_lab building hosts_exist
interrupt_lab up lab_up

# A lab killed with SIGKILL cannot clean up: `lab.sh cleanup` must.
background setsid "${LAB[@]}" up 3 --duration 120 >"$WORK/lab.killed.out" 2>&1
lab=$!
sessions+=("$lab")
prefix="rl$lab"
for _ in $(seq 1200); do
  grep -q "^lab $prefix: 3 hosts up" "$WORK/lab.killed.out" && break
  kill -0 "$lab" 2>/dev/null || break
  sleep 0.05
done
# The script runs as a supervisor and its worker (Scripts/lab/supervise.sh): kill both, worker first.
# The supervisor may notice its worker's death and exit before its own SIGKILL arrives (seen under load in CI):
# either way neither cleans up.
for worker in $(pgrep -P "$lab" || true); do kill -KILL "$worker" 2>/dev/null || true; done
kill -KILL "$lab" 2>/dev/null || true
{ await "$lab" || true; } 2>/dev/null
if leftovers "$prefix." "$prefix" >"$WORK/leftovers"; then
  fail "a lab killed with SIGKILL should leave something for cleanup to remove"
else
  pass "a lab killed with SIGKILL leaves its namespaces and nodes behind, as expected"
fi
check_run "lab.sh cleanup runs" "$WORK/cleanup.out" "${LAB[@]}" cleanup
check "the nodes of the killed lab were still running before cleanup" grep -q " start --home " "$WORK/leftovers"
check "lab.sh cleanup reports removing $prefix" grep -q "removed $prefix" "$WORK/cleanup.out"
nothing_left "after lab.sh cleanup of the killed lab" "$prefix." "$prefix"
finish
