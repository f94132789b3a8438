# shellcheck shell=bash
# Sourced by Scripts/lab/lab.sh and the lab scenarios: a network lab of Linux network namespaces in which
# every Rumor node is its own host with its own address.
#
#   namespace PREFIX-sw     the switch: bridge br0, one port PREFIX-pI per host, and the nftables table
#                           `bridge rumorlab` that drops what the impairments say (loss, partitions)
#   namespace PREFIX-hI     host I: lo and eth0 = 10.77.0.I/24, the other end of PREFIX-pI; a netem qdisc
#                           on eth0 for delay (when the kernel has netem) and a `netdev rumorlab_dup` table
#                           for duplication
#
# PREFIX is rl<PID of the owning shell>, so parallel labs never share a name, and `lab.sh cleanup` can tell
# a leftover (its owner is gone) from a lab in use. 10.77.0.0/24 exists only inside these namespaces: the
# hosts have no route anywhere else, and nothing is created in the root namespace.
#
# The caller MUST run lab_destroy on exit (trap lab_destroy EXIT, with INT and TERM turned into exit).
# Functions return non-zero with a message on stderr; every wait is bounded.

LAB_PREFIX=${LAB_PREFIX:-rl${SUPERVISOR_PID:-$$}}
LAB_SUBNET=10.77.0
LAB_PORT=7946
LAB_HOSTS=0
LAB_DIR=""
LAB_NETEM=unknown
LAB_EGRESS_HOOK=unknown
declare -A LAB_NODE_PID=()
declare -A LAB_IMPAIRMENT=()
LAB_EVENTS=()

lab_switch() { echo "$LAB_PREFIX-sw"; }
lab_ns() { echo "$LAB_PREFIX-h$1"; }
lab_port() { echo "$LAB_PREFIX-p$1"; }
lab_addr() { echo "$LAB_SUBNET.$1"; }
lab_listen() { echo "$LAB_SUBNET.$1:$LAB_PORT"; }
lab_home() { echo "$LAB_DIR/home"; }
lab_exec() { local i=$1; shift; ip netns exec "$(lab_ns "$i")" "$@"; }
lab_switch_nft() { ip netns exec "$(lab_switch)" nft "$@"; }

lab_fail() { echo "lab: $*" >&2; return 1; }

# Installs a Debian package when its command is missing (root only: lab_require checks that first).
lab_install() {
  local command=$1 package=$2
  command -v "$command" >/dev/null 2>&1 && return 0
  echo "lab: installing $package with apt-get" >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$package" >&2 \
    || { apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$package" >&2; } \
    || lab_fail "cannot install $package"
}

# Checks that this shell may build a lab, before anything is created; installs iproute2 and nftables.
# Also detects what the kernel offers: LAB_NETEM (netem qdisc) and LAB_EGRESS_HOOK (nftables egress hook,
# used for duplication).
lab_require() {
  [ "$(uname -s)" = Linux ] || { lab_fail "needs Linux network namespaces; this is $(uname -s)"; return 1; }
  if [ "$(id -u)" != 0 ]; then
    lab_fail "needs root (it creates network namespaces, veth pairs, a bridge and nftables rules); run it as root, e.g. with sudo. Nothing was created."
    return 1
  fi
  lab_install ip iproute2 || return 1
  lab_install nft nftables || return 1
  lab_install tc iproute2 || return 1
  local probe="$LAB_PREFIX-probe"
  if ! ip netns add "$probe" 2>/dev/null; then
    lab_fail "cannot create a network namespace here (no CAP_SYS_ADMIN in this container?). Nothing was created."
    return 1
  fi
  ip -n "$probe" link set lo up
  if tc -n "$probe" qdisc add dev lo root netem delay 1ms 2>/dev/null; then LAB_NETEM=yes; else LAB_NETEM=no; fi
  if ip -n "$probe" link add probe0 type veth peer name probe1 2>/dev/null \
    && ip netns exec "$probe" nft -f - 2>/dev/null <<'EOF'
table netdev probe {
  chain egress { type filter hook egress device "probe0" priority 0; }
}
EOF
  then LAB_EGRESS_HOOK=yes; else LAB_EGRESS_HOOK=no; fi
  ip netns del "$probe"
}

# Builds the switch and N hosts. Needs lab_require first. Sets LAB_DIR (a temporary directory for the home
# and the node logs, removed by lab_destroy).
lab_create() {
  local count=$1 i
  [[ "$count" =~ ^[0-9]+$ ]] && [ "$count" -ge 1 ] && [ "$count" -le 200 ] || { lab_fail "hosts must be 1 to 200"; return 1; }
  LAB_DIR=$(mktemp -d "${TMPDIR:-/tmp}/$LAB_PREFIX.XXXXXX")
  mkdir -m 700 "$LAB_DIR/home" "$LAB_DIR/logs"
  local sw
  sw=$(lab_switch)
  ip netns add "$sw" || return 1
  ip -n "$sw" link set lo up
  ip -n "$sw" link add br0 type bridge || return 1
  ip -n "$sw" link set br0 up
  ip netns exec "$sw" nft -f - <<'EOF' || return 1
table bridge rumorlab {
  set blocked { type ipv4_addr . ipv4_addr; }
  chain forward {
    type filter hook forward priority 0; policy accept;
    ip saddr . ip daddr @blocked counter drop
  }
}
EOF
  for i in $(seq 1 "$count"); do
    local ns port
    ns=$(lab_ns "$i")
    port=$(lab_port "$i")
    ip netns add "$ns" || return 1
    LAB_HOSTS=$i
    ip -n "$ns" link set lo up
    ip -n "$sw" link add "$port" type veth peer name eth0 netns "$ns" || return 1
    ip -n "$sw" link set "$port" master br0
    ip -n "$sw" link set "$port" up
    ip -n "$ns" addr add "$(lab_addr "$i")/24" dev eth0
    ip -n "$ns" link set eth0 up
    # Host I's datagrams enter the switch at port I: its chain holds what is done to them.
    lab_switch_nft add chain bridge rumorlab "host$i" || return 1
    lab_switch_nft add rule bridge rumorlab forward iifname "\"$port\"" jump "host$i" || return 1
  done
}

# Starts the Rumor node of host I in the background: name nodeI, listening on 10.77.0.I:7946, extra
# arguments passed to `rumor start`. Waits (at most 15 s) for its ready line.
lab_start_node() {
  local i=$1; shift
  local name="node$i" out="$LAB_DIR/logs/node$i.out" log="$LAB_DIR/logs/node$i.log"
  rm -f "$out"
  echo "--- $(date '+%F %T') lab starts $name" >>"$log"
  (
    local fd
    for fd in /proc/$BASHPID/fd/*; do
      fd=${fd##*/}
      [ "$fd" -gt 2 ] 2>/dev/null && eval "exec $fd>&-" 2>/dev/null
    done
    exec ip netns exec "$(lab_ns "$i")" "$RUMOR_BIN" start --home "$(lab_home)" --name "$name" \
      --listen "$(lab_listen "$i")" "$@" </dev/null >"$out" 2>>"$log"
  ) &
  LAB_NODE_PID[$i]=$!
  local _
  for _ in $(seq 300); do
    grep -q '^ready ' "$out" 2>/dev/null && return 0
    kill -0 "${LAB_NODE_PID[$i]}" 2>/dev/null || break
    sleep 0.05
  done
  lab_fail "node$i did not start; the end of its log:"
  tail -n 5 "$log" >&2
  return 1
}

# SIGKILL (a crash) or SIGTERM (a graceful leave) to host I's node; waits until it is gone.
lab_stop_node() {
  local i=$1 signal=${2:-TERM} pid=${LAB_NODE_PID[$1]:-} _
  [ -n "$pid" ] || return 0
  kill "-$signal" "$pid" 2>/dev/null || true
  for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  unset "LAB_NODE_PID[$i]"
}

# Drops PCT percent of host I's UDP datagrams as they leave it (nftables numgen in the switch). The sender
# sees no error, as on a real lossy link. 0 removes the loss.
lab_set_loss() {
  local i=$1 pct=$2
  lab_switch_nft flush chain bridge rumorlab "host$i" || return 1
  if [ "$pct" -gt 0 ]; then
    lab_switch_nft add rule bridge rumorlab "host$i" ip protocol udp counter numgen random mod 100 '<' "$pct" counter drop || return 1
  fi
  lab_note loss "$i" "$pct"
}

# Sends a second copy of PCT percent of host I's UDP datagrams (nftables dup on the egress hook of eth0).
lab_set_dup() {
  local i=$1 pct=$2
  lab_note dup "$i" "$pct"
  [ "$LAB_EGRESS_HOOK" = yes ] || return 0
  lab_exec "$i" nft delete table netdev rumorlab_dup 2>/dev/null || true
  [ "$pct" -gt 0 ] || return 0
  lab_exec "$i" nft -f - <<EOF || return 1
table netdev rumorlab_dup {
  chain egress {
    type filter hook egress device "eth0" priority 0;
    ip protocol udp numgen random mod 100 < $pct counter dup to "eth0"
  }
}
EOF
}

# Delays host I's outgoing datagrams by MS ± JITTER milliseconds with netem, when the kernel has it.
lab_set_delay() {
  local i=$1 ms=$2 jitter=$3
  if [ "$ms" -eq 0 ]; then lab_note delay "$i" 0; else lab_note delay "$i" "$ms ms ± $jitter ms"; fi
  [ "$LAB_NETEM" = yes ] || return 0
  if [ "$ms" -eq 0 ]; then
    tc -n "$(lab_ns "$i")" qdisc del dev eth0 root 2>/dev/null || true
    return 0
  fi
  tc -n "$(lab_ns "$i")" qdisc replace dev eth0 root netem delay "${ms}ms" "${jitter}ms" || return 1
}

# Splits the hosts into two sides given as space-separated lists: no datagram crosses between them.
lab_partition() {
  local -a side_a side_b
  read -ra side_a <<<"$1"
  read -ra side_b <<<"$2"
  local elements=() a b
  for a in "${side_a[@]}"; do
    for b in "${side_b[@]}"; do
      elements+=("$(lab_addr "$a") . $(lab_addr "$b")" "$(lab_addr "$b") . $(lab_addr "$a")")
    done
  done
  local IFS=,
  lab_switch_nft add element bridge rumorlab blocked "{ ${elements[*]} }" || return 1
  IFS=' '
  LAB_EVENTS+=("partition: hosts {${side_a[*]}} | {${side_b[*]}}: drop rules in the switch (nftables set)")
}

lab_heal() {
  lab_switch_nft flush set bridge rumorlab blocked || return 1
  LAB_EVENTS+=("heal: every partition rule removed")
}

# Cuts host I's link (its switch port goes down), or brings it back.
lab_cut() {
  ip -n "$(lab_switch)" link set "$(lab_port "$1")" down || return 1
  LAB_EVENTS+=("cut: host $1's switch port set down (ip link)")
}
lab_restore() {
  ip -n "$(lab_switch)" link set "$(lab_port "$1")" up || return 1
  LAB_EVENTS+=("restore: host $1's switch port set up again")
}

# Remembers the impairment KIND (loss, dup, delay) of host I, for lab_report.
lab_note() { LAB_IMPAIRMENT[$1.$2]=$3; }

# What the lab really did, one line per kind: the hosts and value of each impairment now in force,
# whether the kernel allowed it, and for loss the switch's own counters; then the partitions and cuts.
lab_report() {
  local kind how
  for kind in loss dup delay; do
    local -A by_value=()
    local key
    for key in "${!LAB_IMPAIRMENT[@]}"; do
      [ "${key%%.*}" = "$kind" ] || continue
      local value=${LAB_IMPAIRMENT[$key]}
      [ "$value" != 0 ] || continue
      by_value[$value]+=" ${key#*.}"
    done
    case $kind in
      loss) how="of outgoing UDP datagrams dropped (nftables numgen in the switch)" ;;
      dup) how="of outgoing UDP datagrams sent twice (nftables dup on the egress hook)"
           [ "$LAB_EGRESS_HOOK" = yes ] || how="NOT applied: no nftables egress hook in this kernel" ;;
      delay) how="on outgoing datagrams (netem)"
             [ "$LAB_NETEM" = yes ] || how="NOT applied: this kernel has no netem qdisc ('tc qdisc add ... netem' answers unknown)" ;;
    esac
    if [ "${#by_value[@]}" -eq 0 ]; then
      echo "impairment $kind: none"
      continue
    fi
    for value in "${!by_value[@]}"; do
      local hosts
      hosts=$(echo ${by_value[$value]} | tr ' ' '\n' | sort -n | tr '\n' ' ')
      echo "impairment $kind: $value$([ "$kind" = delay ] || echo %) $how; hosts ${hosts% }"
    done
  done
  lab_switch_nft list table bridge rumorlab 2>/dev/null | awk '
    /ip protocol udp counter packets/ {
      n = 0
      for (f = 1; f <= NF; f++) if ($f == "packets") { n++; if (n == 1) seen += $(f + 1); else dropped += $(f + 1) }
    }
    END { if (seen > 0) printf "impairment loss measured: %d of %d UDP datagrams dropped (%.1f%%)\n", dropped, seen, 100 * dropped / seen }'
  local event
  for event in "${LAB_EVENTS[@]}"; do echo "impairment $event"; done
}

# Stops every node (SIGTERM, then SIGKILL after 5 s), kills whatever else runs in the lab's namespaces,
# deletes the namespaces (and with them the veths, the bridge, the qdiscs and the nftables tables) and the
# lab's directory. Safe to call twice, and after a partial lab_create.
lab_destroy() {
  local pids=() i ns _
  for i in "${!LAB_NODE_PID[@]}"; do pids+=("${LAB_NODE_PID[$i]}"); done
  if [ "${#pids[@]}" -gt 0 ]; then
    kill -TERM "${pids[@]}" 2>/dev/null || true
    for _ in $(seq 50); do
      local any=no pid
      for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && any=yes; done
      [ "$any" = yes ] || break
      sleep 0.1
    done
    kill -KILL "${pids[@]}" 2>/dev/null || true
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  fi
  LAB_NODE_PID=()
  lab_remove_namespaces "$LAB_PREFIX"
  if [ -n "$LAB_DIR" ] && [ -d "$LAB_DIR" ]; then rm -rf "$LAB_DIR"; fi
  LAB_DIR=""
  LAB_HOSTS=0
}

# Deletes the namespaces named PREFIX-*, after killing any process still inside (by PID).
lab_remove_namespaces() {
  local prefix=$1 ns pid _
  for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep "^$prefix-" || true); do
    for _ in 1 2 3; do
      local inside
      inside=$(ip netns pids "$ns" 2>/dev/null || true)
      [ -n "$inside" ] || break
      for pid in $inside; do kill -KILL "$pid" 2>/dev/null || true; done
      sleep 0.2
    done
    ip netns del "$ns" 2>/dev/null || true
  done
}

# The prefixes of the labs on this machine (rl<PID>), one a line.
lab_prefixes() {
  ip netns list 2>/dev/null | awk '{print $1}' | sed -n 's/^\(rl[0-9][0-9]*\)-.*/\1/p' | sort -u
}
