#!/usr/bin/env bash
# A network lab for Rumor: every node is its own host (a Linux network namespace with its own address on
# 10.77.0.0/24), all plugged into one bridge that lives in a namespace of its own. Needs root, iproute2 and
# nftables (installed with apt-get when missing). Nothing touches the host's own network.
#
# Usage: Scripts/lab/lab.sh COMMAND
#   check                 Say whether a lab can run here and what the kernel offers (netem, egress hook).
#   up N [--profile P] [--loss PCT] [--dup PCT] [--delay MS] [--jitter MS] [--duration S]
#                         Build N hosts, start one node on each (node1 is the seed), wait until all see N
#                         alive, print the hosts and the impairments really applied, then stay up until
#                         SIGINT/SIGTERM or for S seconds; tear everything down on the way out.
#   partition LAB A B     In the running lab LAB (as `list` prints it), cut hosts A from hosts B, each a
#                         list like 1-3,5. `heal LAB` removes every cut.
#   loss LAB PCT          Set the loss of every host of LAB.
#   list                  The labs on this machine and whether their owner still runs.
#   cleanup [--all]       Remove the leftovers of labs whose owner is gone (with --all: every lab),
#                         including processes inside them.
set -euo pipefail
. "$(dirname "$0")/supervise.sh"
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
. "$here/netlab.sh"

# The header comment above, as help: to stdout for --help, to stderr (exit 64) for a usage error.
usage() {
  local status=${1:-64}
  awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0" >&$((status == 0 ? 1 : 2))
  exit "$status"
}

# "1-3,5" → "1 2 3 5"
expand_hosts() {
  local part out=()
  for part in ${1//,/ }; do
    if [[ "$part" =~ ^([0-9]+)-([0-9]+)$ ]]; then
      local k
      for ((k = BASH_REMATCH[1]; k <= BASH_REMATCH[2]; k++)); do out+=("$k"); done
    elif [[ "$part" =~ ^[0-9]+$ ]]; then out+=("$part")
    else echo "lab: bad host list '$1'" >&2; exit 64; fi
  done
  echo "${out[*]}"
}

owner_alive() { [ -d "/proc/${1#rl}" ]; }

# The `rumor wait` that `up` waits on, stopped with the lab.
helper=""
teardown() {
  trap '' INT TERM
  [ -z "$helper" ] || kill -TERM "$helper" 2>/dev/null || true
  lab_destroy
}

# Points the netlab functions at the running lab LAB.
attach() {
  local prefix=$1
  [[ "$prefix" =~ ^rl[0-9]+$ ]] || { echo "lab: '$prefix' is not a lab name (see 'lab.sh list')" >&2; exit 64; }
  ip netns list 2>/dev/null | awk '{print $1}' | grep -qx "$prefix-sw" || { echo "lab: no lab $prefix" >&2; exit 1; }
  LAB_PREFIX=$prefix
  LAB_HOSTS=$(ip netns list 2>/dev/null | awk '{print $1}' | grep -c "^$prefix-h[0-9]*$")
}

cmd_check() {
  lab_require || exit 1
  echo "lab: can run here (root, iproute2, nftables, network namespaces)"
  echo "lab: netem qdisc: $LAB_NETEM (delay and jitter are $([ "$LAB_NETEM" = yes ] && echo available || echo 'NOT available'))"
  echo "lab: nftables egress hook: $LAB_EGRESS_HOOK (duplication is $([ "$LAB_EGRESS_HOOK" = yes ] && echo available || echo 'NOT available'))"
}

cmd_up() {
  local count="" profile=local loss=0 dup=0 delay=0 jitter=0 duration=""
  while [ "$#" -gt 0 ]; do
    case $1 in
      --profile) profile=$2; shift 2 ;;
      --loss) loss=$2; shift 2 ;;
      --dup) dup=$2; shift 2 ;;
      --delay) delay=$2; shift 2 ;;
      --jitter) jitter=$2; shift 2 ;;
      --duration) duration=$2; shift 2 ;;
      -*) echo "lab: unknown option $1" >&2; exit 64 ;;
      *) count=$1; shift ;;
    esac
  done
  [[ "$count" =~ ^[0-9]+$ ]] && [ "$count" -ge 1 ] && [ "$count" -le 64 ] || { echo "lab: N must be 1 to 64" >&2; exit 64; }
  local value
  for value in "$loss" "$dup" "$delay" "$jitter" ${duration:+"$duration"}; do
    [[ "$value" =~ ^[0-9]+$ ]] || { echo "lab: --loss, --dup, --delay, --jitter and --duration take whole numbers" >&2; exit 64; }
  done
  [ "$loss" -le 100 ] && [ "$dup" -le 100 ] || { echo "lab: percentages go up to 100" >&2; exit 64; }
  lab_require || exit 1
  RUMOR_BIN=${RUMOR_BIN:-}
  if [ -z "$RUMOR_BIN" ]; then
    [ -x "$root/.build/debug/rumor" ] || (cd "$root" && swift build >&2)
    RUMOR_BIN=$root/.build/debug/rumor
  fi
  trap teardown EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM

  lab_create "$count"
  local i
  for i in $(seq 1 "$count"); do
    [ "$loss" -eq 0 ] || lab_set_loss "$i" "$loss"
    [ "$dup" -eq 0 ] || lab_set_dup "$i" "$dup"
    [ "$delay" -eq 0 ] || lab_set_delay "$i" "$delay" "$jitter"
  done
  lab_start_node 1 --profile "$profile"
  for i in $(seq 2 "$count"); do lab_start_node "$i" --profile "$profile" --join "$(lab_listen 1)"; done
  local home
  home=$(lab_home)
  for i in $(seq 1 "$count"); do
    # In the background, so that SIGINT is handled at once.
    "$RUMOR_BIN" wait --home "$home" --node "node$i" --alive "$count" --timeout 60 >/dev/null &
    helper=$!
    wait "$helper" || { echo "lab: node$i does not see $count alive after 60 s" >&2; exit 1; }
    helper=""
  done
  echo "lab $LAB_PREFIX: $count hosts up, every node sees $count alive"
  printf '%-7s %-14s %-20s %-8s\n' NODE NAMESPACE ADDRESS PID
  for i in $(seq 1 "$count"); do
    printf '%-7s %-14s %-20s %-8s\n' "node$i" "$(lab_ns "$i")" "$(lab_listen "$i")" "${LAB_NODE_PID[$i]}"
  done
  lab_report
  echo "talk to the nodes with: rumor --home $home peers --node node1"
  echo "impair from another shell: $0 partition $LAB_PREFIX 1-$((count / 2)) $((count / 2 + 1))-$count"
  # Idle in a builtin read on a FIFO that nobody writes to: no process to leave behind, and a signal
  # interrupts it at once.
  local idle
  mkfifo "$LAB_DIR/idle"
  exec {idle}<>"$LAB_DIR/idle"
  if [ -n "$duration" ]; then
    echo "lab: staying up for $duration s (Ctrl-C tears it down sooner)"
    read -r -t "$duration" -u "$idle" _ || true
  else
    echo "lab: up until Ctrl-C or SIGTERM"
    read -r -u "$idle" _ || true
  fi
}

cmd_partition() {
  [ "$#" -eq 3 ] || usage
  lab_require || exit 1
  attach "$1"
  lab_partition "$(expand_hosts "$2")" "$(expand_hosts "$3")"
  echo "lab $1: hosts {$(expand_hosts "$2")} and {$(expand_hosts "$3")} are cut from each other"
}

cmd_heal() {
  [ "$#" -eq 1 ] || usage
  lab_require || exit 1
  attach "$1"
  lab_heal
  echo "lab $1: healed"
}

cmd_loss() {
  [ "$#" -eq 2 ] && [[ "$2" =~ ^[0-9]+$ ]] && [ "$2" -le 100 ] || usage
  lab_require || exit 1
  attach "$1"
  local i
  for i in $(seq 1 "$LAB_HOSTS"); do lab_set_loss "$i" "$2"; done
  echo "lab $1: $2% loss on each of its $LAB_HOSTS hosts"
}

cmd_list() {
  local prefix found=no
  for prefix in $(lab_prefixes); do
    found=yes
    local hosts
    hosts=$(ip netns list 2>/dev/null | awk '{print $1}' | grep -c "^$prefix-h[0-9]*$" || true)
    if owner_alive "$prefix"; then echo "$prefix  $hosts hosts  owner pid ${prefix#rl} running"
    else echo "$prefix  $hosts hosts  owner gone (leftover: 'lab.sh cleanup' removes it)"; fi
  done
  [ "$found" = yes ] || echo "lab: no lab on this machine"
}

cmd_cleanup() {
  local all=no
  [ "${1:-}" != --all ] || all=yes
  [ "$(id -u)" = 0 ] || { echo "lab: cleanup needs root" >&2; exit 1; }
  local prefix removed=0
  for prefix in $(lab_prefixes); do
    if [ "$all" = no ] && owner_alive "$prefix"; then
      echo "lab: keeping $prefix (its owner, pid ${prefix#rl}, still runs; --all removes it anyway)"
      continue
    fi
    lab_remove_namespaces "$prefix"
    rm -rf "${TMPDIR:-/tmp}/$prefix".??????
    removed=$((removed + 1))
    echo "lab: removed $prefix"
  done
  echo "lab: cleanup done ($removed lab(s) removed)"
}

[ "$#" -ge 1 ] || usage
command=$1; shift
case $command in
  check|up|partition|heal|loss|list|cleanup) "cmd_$command" "$@" ;;
  -h|--help|help) usage 0 ;;
  *) usage ;;
esac
