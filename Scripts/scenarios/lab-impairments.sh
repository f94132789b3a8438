#!/usr/bin/env bash
# The network lab itself: does each impairment do what the lab says it applied? Three hosts, no Rumor
# node. Host 1 sends a paced stream of UDP datagrams to host 2 (to 10.77.0.2 only, inside the lab), and
# host 2 counts what arrives, under each impairment in turn. Also checks that the lab stays off the
# host's own network: no lab address or link in the root namespace, no route out of a lab host.
#
# Bounds, for 2000 datagrams: 20% loss must deliver 75–85% (the binomial standard deviation is 0.9%, so
# this is over 5 sigma); 10% duplication must deliver 105–115%; no impairment, at least 99%.
. "$(dirname "$0")/common.sh" "$@"
. "$ROOT/Scripts/lab/netlab.sh"

lab_require || skip "the network lab cannot run here (see the message above)"
on_exit lab_destroy
lab_create 3 || { fail "the lab of 3 hosts cannot be built"; finish; }
say "lab $LAB_PREFIX; netem: $LAB_NETEM, nftables egress hook: $LAB_EGRESS_HOOK"

cat >"$WORK/udp.py" <<'PY'
import socket, sys, time
if sys.argv[1] == "receive":
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    # Room for the whole stream, so that a receiver starved of CPU for a moment does not drop any.
    s.setsockopt(socket.SOL_SOCKET, 33, 16 << 20)  # SO_RCVBUFFORCE (root, as the lab is)
    s.bind((sys.argv[2], 9999))
    s.settimeout(1.0)
    open(sys.argv[3], "w").write("ready\n")
    count = 0
    try:
        while True:
            s.recv(64)
            count += 1
    except socket.timeout:
        pass
    print(count)
elif sys.argv[1] == "echo":
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((sys.argv[2], 9999))
    s.settimeout(3.0)
    open(sys.argv[3], "w").write("ready\n")
    try:
        while True:
            data, peer = s.recvfrom(64)
            s.sendto(data, peer)
    except socket.timeout:
        pass
elif sys.argv[1] == "rtt":
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(1.0)
    times = []
    for _ in range(20):
        start = time.time()
        s.sendto(b"ping", (sys.argv[2], 9999))
        try:
            s.recv(64)
            times.append((time.time() - start) * 1000)
        except socket.timeout:
            pass
    times.sort()
    print(round(times[len(times) // 2]) if times else -1)
else:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    for _ in range(int(sys.argv[3])):
        try:
            s.sendto(b"lab", (sys.argv[2], 9999))
        except OSError:
            pass
        time.sleep(0.0003)
PY

# received FROM TO: how many of 2000 datagrams from host FROM reach host TO.
received() {
  local from=$1 to=$2
  rm -f "$WORK/receiver.ready"
  background lab_exec "$to" python3 "$WORK/udp.py" receive "$(lab_addr "$to")" "$WORK/receiver.ready"
  local receiver=$! _
  for _ in $(seq 50); do [ -s "$WORK/receiver.ready" ] && break; sleep 0.1; done
  run lab_exec "$from" python3 "$WORK/udp.py" send "$(lab_addr "$to")" 2000
  await "$receiver" >/dev/null
}
# between COUNT LOW HIGH: LOW <= COUNT <= HIGH
between() { [ "$1" -ge "$2" ] && [ "$1" -le "$3" ]; }

check "no lab address (10.77.0.0/24) in the root namespace" bash -c "! ip -o addr show | grep -q ' 10\.77\.0\.'"
check "no lab link in the root namespace" bash -c "! ip -o link show | grep -q '$LAB_PREFIX'"
check "a lab host has no route but its own subnet" \
  test "$(lab_exec 1 ip -4 route show | grep -vc '^10\.77\.0\.0/24 ')" -eq 0

n=$(received 1 2 | tail -n 1)
check "no impairment: host 2 receives $n of 2000 (at least 1980)" between "$n" 1980 2000

lab_set_loss 1 20
n=$(received 1 2 | tail -n 1)
check "20% loss on host 1: host 2 receives $n of 2000 (1500 to 1700)" between "$n" 1500 1700
lab_set_loss 1 0

if [ "$LAB_EGRESS_HOOK" = yes ]; then
  lab_set_dup 1 10
  n=$(received 1 2 | tail -n 1)
  check "10% duplication on host 1: host 2 receives $n for 2000 sent (2100 to 2300)" between "$n" 2100 2300
  lab_set_dup 1 0
else
  say "duplication: not available here (no nftables egress hook); not checked"
fi

lab_partition "1" "2 3"
n=$(received 1 2 | tail -n 1)
check "partition {1} | {2 3}: host 2 receives $n from host 1 (0)" test "$n" -eq 0
n=$(received 3 2 | tail -n 1)
check "partition {1} | {2 3}: host 2 still receives $n of 2000 from host 3 (at least 1980)" between "$n" 1980 2000
lab_heal
n=$(received 1 2 | tail -n 1)
check "healed: host 2 receives $n of 2000 from host 1 (at least 1980)" between "$n" 1980 2000

lab_cut 2
n=$(received 1 2 | tail -n 1)
check "host 2's link cut: it receives $n (0)" test "$n" -eq 0
lab_restore 2
sleep 0.2
n=$(received 1 2 | tail -n 1)
check "host 2's link restored: it receives $n of 2000 (at least 1980)" between "$n" 1980 2000

if [ "$LAB_NETEM" = yes ]; then
  lab_set_delay 1 50 0
  rm -f "$WORK/echo.ready"
  background lab_exec 2 python3 "$WORK/udp.py" echo "$(lab_addr 2)" "$WORK/echo.ready"
  echo_server=$!
  for _ in $(seq 50); do [ -s "$WORK/echo.ready" ] && break; sleep 0.1; done
  rtt=$(lab_exec 1 python3 "$WORK/udp.py" rtt "$(lab_addr 2)")
  await "$echo_server" || true
  check "50 ms delay on host 1 (netem): median round trip to host 2 is ${rtt} ms (45 to 80)" between "$rtt" 45 80
  lab_set_delay 1 0 0
else
  say "delay and jitter: not available here (no netem qdisc); scenarios say so where they would use it"
fi
lab_report
finish
