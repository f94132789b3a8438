#!/usr/bin/env bash
# Graceful leave: in a mesh on 127.0.0.1 (mesh.sh, --profile local), nodes leave in each of the three
# ways: `rumor leave`, SIGTERM and SIGINT. Every other node must mark each one `left` (never suspect or
# dead), the SIGTERM and SIGINT processes must exit 0, and the mesh must carry on with the rest alive.
#
# Bound: 2 s. The leaving node sends its goodbye to every active member at once and gossips it while it
# lingers (3 gossip intervals, at least 200 ms), so on loopback every member has it within milliseconds;
# the bound is scheduling slack on a busy two-core machine. A member that missed the goodbye would
# suspect the node and then mark it dead: the watch below counts that as a failure.
# Quick mode: 5 nodes and 2 guests. Full mode: 16 nodes and 2 guests.
. "$(dirname "$0")/common.sh" "$@"

count=5
[ "$MODE" = quick ] || count=16
bound=2
home=$WORK/home
mkdir -p "$home"
on_exit "'${MESH[0]}' --home '$home' down --timeout 5"

if ! run "${MESH[@]}" --home "$home" up "$count" --profile local --timeout 60 >"$WORK/up.out" 2>&1; then
  fail "mesh.sh up $count"
  show "$WORK/up.out"
  finish
fi
pass "mesh.sh up $count: $(tail -n 1 "$WORK/up.out")"
seed=$(sed -n 's/^ready .* listen=//p' "$home/.mesh/node1.out")

# Two guests started here (children of this script, so their exit codes can be read).
declare -A guest_pid
for guest in guestterm guestint; do
  background "$RUMOR_BIN" start --home "$home" --name "$guest" --listen 127.0.0.1:0 --profile local --join "$seed" \
    </dev/null >"$WORK/$guest.out" 2>"$WORK/$guest.log"
  guest_pid[$guest]=$!
done
total=$((count + 2))
if run "${OBSERVE[@]}" --home "$home" alive --nodes "$(node_list 1 "$count"),guestterm,guestint" --count "$total" \
  --timeout 30 >"$WORK/alive.out" 2>&1; then
  pass "the two guests join: all $total members see $total alive"
else
  fail "the two guests do not join"
  show "$WORK/alive.out"
  finish
fi

observers=$(node_list 1 "$count" 2)
background "${OBSERVE[@]}" --home "$home" record --nodes "$observers" --out "$WORK/events" --ready "$WORK/record.ready" \
  --duration 120 >"$WORK/record.out" 2>&1
recorder=$!
for _ in $(seq 100); do [ -s "$WORK/record.ready" ] && break; sleep 0.1; done

# leaves NAME HOW...: runs the leave and measures until every observer marks NAME left.
leaves() {
  local name=$1; shift
  observe_until "$WORK/left.$name.out" --observers "$observers" --members "$name" --state left --timeout 30
  local observer=$! t0=$EPOCHREALTIME
  "$@"
  if await "$observer"; then
    local took
    took=$(seconds_between "$t0" "$(all_at "$WORK/left.$name.out")")
    check "every node marks $name left within ${bound}s (took ${took}s)" at_most "$took" "$bound"
    figure "left_s.$name" "$took" s
  else
    fail "not every node marked $name left within 30 s"
    show "$WORK/left.$name.out"
  fi
}

leave_by_command() {
  if run "$RUMOR_BIN" leave --home "$home" --node node2 >"$WORK/leave.out" 2>&1; then
    pass "rumor leave --node node2 succeeds: $(cat "$WORK/leave.out")"
  else
    fail "rumor leave --node node2: $(cat "$WORK/leave.out")"
  fi
}
leaves node2 leave_by_command
node2_pid=$(cat "$home/.mesh/node2.pid")
for _ in $(seq 50); do [ -d "/proc/$node2_pid" ] || break; sleep 0.1; done
check "node2's process has exited" test ! -d "/proc/$node2_pid"

leave_by_signal() {
  local guest=$1 signal=$2 status=0
  kill "-$signal" "${guest_pid[$guest]}"
  await "${guest_pid[$guest]}" || status=$?
  check "$guest exits 0 after SIG$signal (exit $status)" test "$status" -eq 0
}
leaves guestterm leave_by_signal guestterm TERM
leaves guestint leave_by_signal guestint INT

sleep 1
kill -TERM "$recorder"
await "$recorder" || true
for name in node2 guestterm guestint; do
  marks=$(awk -v n="$name" '$3 == n && ($5 == "suspect" || $5 == "dead")' "$WORK/events" | wc -l)
  check "no node ever marked $name suspect or dead ($marks marks)" test "$marks" -eq 0
done
"${OBSERVE[@]}" --home "$home" table --nodes "$observers" >"$WORK/table.out"
check "the $((count - 1)) remaining nodes see $((count - 1)) alive and 3 left" \
  test "$(grep -c "alive=$((count - 1)) suspect=0 dead=0 left=3" "$WORK/table.out")" -eq "$((count - 1))"
finish
