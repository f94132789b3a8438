#!/usr/bin/env bash
# A mesh of Rumor nodes on 127.0.0.1, all under one home directory, started in the background and stopped
# by PID.
#
# Usage: Scripts/mesh.sh [--home DIR] COMMAND [ARGS]
#   up N [--profile P] [--base-port PORT] [--timeout S]
#                       Start node1..nodeN: node1 first, then all the others at once, joining through node1.
#                       Waits until every node sees N alive, then prints the table. Nodes already running
#                       are kept, so a second `up` only starts what is missing. Default profile: local (one
#                       machine). Default ports: free ones; with --base-port, nodeI listens on PORT+I-1.
#   down [--timeout S]  Every node leaves gracefully (SIGTERM); survivors get SIGKILL after S s (default 10).
#   status              One line per node: PID, address, and the members it sees in each state.
#   send FROM TO MSG    `rumor send`: returns once TO acknowledged MSG.
#   kill NAME           SIGKILL NAME, to simulate a crash. Its peers will mark it dead.
#   restart NAME        Stop NAME (gracefully) if it runs, start it again on its last port without --join
#                       (it rejoins from its peers.snapshot), and wait until it sees the running nodes alive.
#
# HOME is --home, else $RUMOR_HOME, else ~/.rumor, as for `rumor`. The binary is $RUMOR_BIN, else the debug
# build (built when missing). Bookkeeping lives in HOME/.mesh/ (no node name starts with a dot): NAME.pid,
# NAME.log (the node's stderr), NAME.out (its ready line), NAME.listen, profile.
# An interrupted or failed `up` or `restart` stops the nodes it started. Every wait is bounded.
set -euo pipefail
. "$(dirname "$0")/lab/supervise.sh"

root=$(cd "$(dirname "$0")/.." && pwd)
home=${RUMOR_HOME:-$HOME/.rumor}

# The header comment above, as help: to stdout for --help, to stderr (exit 64) for a usage error.
usage() {
  local status=${1:-64}
  awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0" >&$((status == 0 ? 1 : 2))
  exit "$status"
}

die() { echo "mesh: $*" >&2; exit 1; }

rumor_binary() {
  if [ -n "${RUMOR_BIN:-}" ]; then echo "$RUMOR_BIN"; return; fi
  if [ ! -x "$root/.build/debug/rumor" ]; then
    echo "mesh: building rumor (swift build)" >&2
    (cd "$root" && swift build >&2)
  fi
  echo "$root/.build/debug/rumor"
}

# --- node bookkeeping -------------------------------------------------------------------------------------

# Prints the PID of NAME when NAME's recorded process is alive and is really that node; else removes the
# stale record and fails. A zombie counts as gone.
node_pid() {
  local name=$1 file="$state/$1.pid" pid
  [ -f "$file" ] || return 1
  pid=$(cat "$file")
  if [[ "$pid" =~ ^[0-9]+$ ]] && is_node_process "$pid" "$name"; then
    echo "$pid"
    return 0
  fi
  rm -f "$file"
  return 1
}

is_node_process() {
  local pid=$1 name=$2 cmdline status
  cmdline=$(tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline") || return 1
  status=$(sed -n 's/^State:[[:space:]]*\([A-Z]\).*/\1/p' "/proc/$pid/status" 2>/dev/null) || return 1
  [ "$status" != Z ] || return 1
  [[ "$cmdline" == *" start --home $home --name $name "* ]]
}

node_alive() { [ -d "/proc/$1" ] && [ "$(sed -n 's/^State:[[:space:]]*\([A-Z]\).*/\1/p' "/proc/$1/status" 2>/dev/null)" != Z ]; }

# The names of every node with a PID file, in node order (node2 before node10).
recorded_names() {
  local file
  for file in "$state"/*.pid; do [ -e "$file" ] && basename "$file" .pid; done | sort -V
}

running_names() {
  local name
  for name in $(recorded_names); do node_pid "$name" >/dev/null && echo "$name"; done
  return 0
}

listen_of() { sed -n 's/^ready .* listen=\([^ ]*\)$/\1/p' "$state/$1.out" 2>/dev/null; }

# Closes every descriptor above 2 in this (sub)shell: a node must not hold our lock or a caller's pipe.
close_inherited_fds() {
  local fd
  for fd in /proc/$BASHPID/fd/*; do
    fd=${fd##*/}
    [ "$fd" -gt 2 ] 2>/dev/null && eval "exec $fd>&-" 2>/dev/null
  done
  return 0
}

# Launches NAME in the background; its PID goes to NAME.pid and to `started` (for the interrupt trap).
launch() {
  local name=$1 listen=$2; shift 2
  rm -f "$state/$name.out"
  echo "--- $(date '+%F %T') mesh.sh starts $name on $listen" >>"$state/$name.log"
  # A signal between starting the node and recording its PID would leak the node: hold it until the PID is
  # recorded, then act on it as the caller's trap would.
  local pending=""
  trap 'pending=130' INT
  trap 'pending=143' TERM
  (
    close_inherited_fds
    exec "$rumor" start --home "$home" --name "$name" --listen "$listen" --profile "$profile" "$@" \
      </dev/null >"$state/$name.out" 2>>"$state/$name.log"
  ) &
  echo $! >"$state/$name.pid"
  started+=("$!")
  trap 'exit 130' INT
  trap 'exit 143' TERM
  [ -z "$pending" ] || exit "$pending"
}

# Waits (until the deadline) for NAME's ready line; on failure shows the end of its log.
await_ready() {
  local name=$1 deadline=$2 pid
  pid=$(cat "$state/$name.pid")
  while [ "$SECONDS" -lt "$deadline" ]; do
    if grep -q '^ready ' "$state/$name.out" 2>/dev/null; then return 0; fi
    node_alive "$pid" || break
    sleep 0.05
  done
  echo "mesh: $name did not start; the end of $state/$name.log:" >&2
  tail -n 5 "$state/$name.log" >&2
  return 1
}

# The start time of a process (field 22 of /proc/PID/stat), to tell it from a later one with its PID.
start_time() { awk '{ sub(/^.*\) /, ""); print $20 }' "/proc/$1/stat" 2>/dev/null; }

# SIGTERM to every PID given, then SIGKILL to those still alive after `timeout` seconds. Prints how many
# needed the SIGKILL. A PID whose process ended and was reused meanwhile is left alone.
stop_pids() {
  local timeout=$1; shift
  local pid tries=$((timeout * 10)) killed=0
  local -A born=()
  [ "$#" -gt 0 ] || { echo 0; return 0; }
  for pid in "$@"; do born[$pid]=$(start_time "$pid"); kill -TERM "$pid" 2>/dev/null || true; done
  still_there() { node_alive "$1" && [ "$(start_time "$1")" = "${born[$1]}" ]; }
  for _ in $(seq "$tries"); do
    local any=no
    for pid in "$@"; do still_there "$pid" && any=yes; done
    [ "$any" = yes ] || break
    sleep 0.1
  done
  for pid in "$@"; do
    if still_there "$pid"; then kill -KILL "$pid" 2>/dev/null || true; killed=$((killed + 1)); fi
  done
  echo "$killed"
}

# Runs a command in the background and waits for it, so that a signal is handled at once (bash runs a trap
# only after the foreground command ends). The trap stops the command.
interruptible() {
  "$@" &
  helper=$!
  local status=0
  wait "$helper" || status=$?
  helper=""
  return "$status"
}

# The trap of `up` and `restart`: stops what this invocation started unless it finished.
abandon() {
  local code=$?
  trap '' INT TERM
  [ -z "$helper" ] || kill -TERM "$helper" 2>/dev/null || true
  if [ "$finished" != yes ] && [ "${#started[@]}" -gt 0 ]; then
    echo "mesh: stopping the ${#started[@]} node(s) this command started" >&2
    stop_pids 5 "${started[@]}" >/dev/null
    local pid
    for pid in "${started[@]}"; do grep -lx "$pid" "$state"/*.pid 2>/dev/null | xargs -r rm -f; done
  fi
  exit "$code"
}

take_lock() {
  exec 9>"$state/lock"
  flock -w 300 9 || die "another mesh.sh command holds $state/lock"
}

# --- commands --------------------------------------------------------------------------------------------

cmd_up() {
  local count="" base_port="" timeout=120
  profile=local
  while [ "$#" -gt 0 ]; do
    case $1 in
      --profile) profile=${2:?--profile needs a value}; shift 2 ;;
      --base-port) base_port=${2:?--base-port needs a value}; shift 2 ;;
      --timeout) timeout=${2:?--timeout needs a value}; shift 2 ;;
      -*) die "up: unknown option $1" ;;
      *) [ -z "$count" ] || die "up: one N only"; count=$1; shift ;;
    esac
  done
  [[ "$count" =~ ^[0-9]+$ ]] && [ "$count" -ge 1 ] && [ "$count" -le 200 ] || die "up: N must be 1 to 200"
  [ -z "$base_port" ] || { [[ "$base_port" =~ ^[0-9]+$ ]] && [ $((base_port + count - 1)) -le 65535 ] && [ "$base_port" -ge 1 ]; } \
    || die "up: --base-port must leave room for N ports below 65536"
  [[ "$timeout" =~ ^[0-9]+$ ]] || die "up: --timeout must be whole seconds"
  case $profile in local|lan|wan) ;; *) die "up: --profile must be local, lan or wan" ;; esac

  take_lock
  local name extra=()
  for name in $(running_names); do
    [ "${name#node}" -le "$count" ] 2>/dev/null || extra+=("$name")
  done
  [ "${#extra[@]}" -eq 0 ] || die "up: ${extra[*]} also run(s) here; use 'down' first or a larger N"
  echo "$profile" >"$state/profile"

  trap abandon EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  local start=$EPOCHREALTIME deadline=$((SECONDS + timeout)) i seed=""
  listen_for() { if [ -n "$base_port" ]; then echo "127.0.0.1:$((base_port + $1 - 1))"; else echo "127.0.0.1:0"; fi; }

  # The seed: node1 when it runs or can be started; a running node otherwise lends its address.
  if node_pid node1 >/dev/null; then
    seed=$(listen_of node1)
  else
    local join=()
    for name in $(running_names); do join=(--join "$(listen_of "$name")"); break; done
    launch node1 "$(listen_for 1)" "${join[@]}"
    await_ready node1 "$deadline" || exit 1
    seed=$(listen_of node1)
  fi
  local fresh=()
  for i in $(seq 2 "$count"); do
    node_pid "node$i" >/dev/null && continue
    launch "node$i" "$(listen_for "$i")" --join "$seed"
    fresh+=("node$i")
  done
  for name in "${fresh[@]}"; do await_ready "$name" "$deadline" || exit 1; done
  for name in $(running_names); do listen_of "$name" >"$state/$name.listen"; done

  for i in $(seq 1 "$count"); do
    local left=$((deadline - SECONDS))
    [ "$left" -gt 0 ] || left=0
    if ! interruptible "$rumor" wait --home "$home" --node "node$i" --alive "$count" --timeout "$left" >/dev/null; then
      echo "mesh: node$i does not see $count members alive after ${timeout}s" >&2
      exit 1
    fi
  done
  finished=yes
  local end=$EPOCHREALTIME
  show_status
  awk -v s="$start" -v e="$end" -v n="$count" -v f="${#fresh[@]}" \
    'BEGIN { printf "up: %d nodes, all see %d alive; %.2f s after starting %d node(s)\n", n, n, e - s, f + 0 }'
}

cmd_down() {
  local timeout=10
  while [ "$#" -gt 0 ]; do
    case $1 in
      --timeout) timeout=${2:?--timeout needs a value}; shift 2 ;;
      *) die "down: unknown argument $1" ;;
    esac
  done
  [[ "$timeout" =~ ^[0-9]+$ ]] || die "down: --timeout must be whole seconds"
  take_lock
  # Once stopping has begun it finishes (within the timeout): an interrupted down would leave some running.
  trap '' INT TERM
  local names=() pids=() name pid
  for name in $(recorded_names); do
    if pid=$(node_pid "$name"); then names+=("$name"); pids+=("$pid"); fi
  done
  if [ "${#pids[@]}" -eq 0 ]; then
    echo "down: no node running in $home"
    return 0
  fi
  local killed
  killed=$(stop_pids "$timeout" "${pids[@]}")
  for name in "${names[@]}"; do rm -f "$state/$name.pid"; done
  echo "down: stopped ${#pids[@]} node(s): $(( ${#pids[@]} - killed )) left gracefully, $killed killed after ${timeout}s"
}

show_status() {
  local name pid listen seen
  printf '%-8s %-8s %-8s %-22s %s\n' NAME PID STATE LISTEN SEES
  for name in $(recorded_names); do
    listen=$(listen_of "$name")
    if pid=$(node_pid "$name"); then
      seen=$("$rumor" status --home "$home" --node "$name" 2>/dev/null | sed -n 's/^members: *\(.*\) total=.*/\1/p') || true
      printf '%-8s %-8s %-8s %-22s %s\n' "$name" "$pid" running "${listen:--}" "${seen:-no answer}"
    else
      printf '%-8s %-8s %-8s %-22s %s\n' "$name" - stopped "${listen:--}" -
    fi
  done
}

cmd_status() {
  [ "$#" -eq 0 ] || die "status takes no argument"
  if [ -z "$(recorded_names)" ]; then echo "status: no node running in $home"; return 0; fi
  show_status
}

cmd_send() {
  [ "$#" -ge 3 ] || die "send FROM TO MSG"
  local from=$1 to=$2; shift 2
  exec "$rumor" send --home "$home" --node "$from" "$to" "$@"
}

cmd_kill() {
  [ "$#" -eq 1 ] || die "kill NAME"
  local name=$1 pid
  take_lock
  if ! pid=$(node_pid "$name"); then echo "kill: $name is not running"; return 0; fi
  kill -KILL "$pid"
  for _ in $(seq 50); do node_alive "$pid" || break; sleep 0.1; done
  rm -f "$state/$name.pid"
  echo "kill: $name (pid $pid) killed with SIGKILL"
}

cmd_restart() {
  local name="" timeout=60
  while [ "$#" -gt 0 ]; do
    case $1 in
      --timeout) timeout=${2:?--timeout needs a value}; shift 2 ;;
      -*) die "restart: unknown option $1" ;;
      *) [ -z "$name" ] || die "restart NAME"; name=$1; shift ;;
    esac
  done
  [ -n "$name" ] || die "restart NAME"
  [ -f "$state/$name.listen" ] || [ -f "$state/$name.out" ] || die "restart: $name was never started by mesh.sh in $home"
  take_lock
  profile=$(cat "$state/profile" 2>/dev/null || echo local)
  local pid listen
  listen=$(cat "$state/$name.listen" 2>/dev/null || listen_of "$name")
  if pid=$(node_pid "$name"); then
    stop_pids 10 "$pid" >/dev/null
    rm -f "$state/$name.pid"
  fi
  trap abandon EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  local deadline=$((SECONDS + timeout)) start=$EPOCHREALTIME
  launch "$name" "$listen"
  await_ready "$name" "$deadline" || exit 1
  local members
  members=$(running_names | wc -l)
  local left=$((deadline - SECONDS))
  [ "$left" -gt 0 ] || left=0
  interruptible "$rumor" wait --home "$home" --node "$name" --alive "$members" --timeout "$left" >/dev/null \
    || { echo "mesh: $name does not see the $members running nodes alive" >&2; exit 1; }
  finished=yes
  awk -v s="$start" -v e="$EPOCHREALTIME" -v n="$name" -v l="$(listen_of "$name")" -v m="$members" \
    'BEGIN { printf "restart: %s listens on %s and sees %d alive; %.2f s\n", n, l, m, e - s }'
}

# --- main --------------------------------------------------------------------------------------------------

while [ "$#" -gt 0 ]; do
  case $1 in
    --home) home=${2:?--home needs a directory}; shift 2 ;;
    -h|--help|help) usage 0 ;;
    *) break ;;
  esac
done
[ "$#" -ge 1 ] || usage
command=$1; shift
case $command in up|down|status|send|kill|restart) ;; *) usage ;; esac

# shellcheck disable=SC2174 # only HOME itself must be 0700, as `rumor start` would make it
mkdir -p -m 700 "$home"
home=$(cd "$home" && pwd)
state=$home/.mesh
mkdir -p "$state"
rumor=$(rumor_binary)
profile=local
started=()
finished=no
helper=""
"cmd_$command" "$@"
