#!/usr/bin/env bash
# Crash and restart: in a mesh on 127.0.0.1 (mesh.sh, --profile local), one node is killed with SIGKILL.
# Every other node must mark it dead within the detection bound. Then it is restarted (same home and port,
# no --join: it rejoins from its peers.snapshot) and every node must mark it alive again.
#
# Detection bound (Docs/MEMBERSHIP.md, "Detection bound"), for n members and the local profile's probe
# interval P = 0.2 s: the first observer marks the dead node within 2 (n − 1) P + Smax, where
# Smax = 4 × 3 × max(1, log10 n) × P; the others follow by gossip, for which we allow 1 s more.
# n = 8: 5.2 s + 1 s. n = 32: 16.0 s + 1 s.
# Restart bound: 10 s. The restarted node reaches its saved peers at once (joinRetryInterval 0.25 s) and
# announces itself at a higher incarnation; gossip spreads that in well under a second, and a node that
# missed it learns it at its next push-pull (pushPullInterval 10 s) or when it retries the dead member
# (reconnectInterval 2 s).
# Quick mode: 8 nodes, one crash. Full mode: 32 nodes, three crashes (node1, the seed, among them).
. "$(dirname "$0")/common.sh" "$@"

if [ "$MODE" = quick ]; then count=8; victims=(node3); else count=32; victims=(node7 node1 node32); fi
detect_bound=$(awk -v n="$count" 'BEGIN { p = 0.2; l = log(n) / log(10); if (l < 1) l = 1
  printf "%.1f", 2 * (n - 1) * p + 4 * 3 * l * p + 1 }')
restart_bound=10
home=$WORK/home
mkdir -p "$home"
on_exit "'${MESH[0]}' --home '$home' down --timeout 5"

say "$count nodes; detection bound ${detect_bound}s, restart bound ${restart_bound}s"
if ! run "${MESH[@]}" --home "$home" up "$count" --profile local --timeout 90 >"$WORK/up.out" 2>&1; then
  fail "mesh.sh up $count"
  show "$WORK/up.out"
  finish
fi
pass "mesh.sh up $count: $(tail -n 1 "$WORK/up.out")"

for victim in "${victims[@]}"; do
  others=$(node_list 1 "$count" "${victim#node}")
  observe_until "$WORK/dead.$victim.out" --observers "$others" --members "$victim" --state dead --timeout 60
  observer=$!
  t0=$EPOCHREALTIME
  run "${MESH[@]}" --home "$home" kill "$victim"
  if await "$observer"; then
    detect=$(seconds_between "$t0" "$(all_at "$WORK/dead.$victim.out")")
    check "all $((count - 1)) others mark crashed $victim dead within ${detect_bound}s (took ${detect}s)" \
      at_most "$detect" "$detect_bound"
    figure "detect_s.$victim" "$detect" s
  else
    fail "not every node marked crashed $victim dead within 60 s"
    show "$WORK/dead.$victim.out"
  fi

  observe_until "$WORK/alive.$victim.out" --observers "$others" --members "$victim" --state alive --timeout 60
  observer=$!
  t1=$EPOCHREALTIME
  if run "${MESH[@]}" --home "$home" restart "$victim" >"$WORK/restart.$victim.out" 2>&1; then
    pass "$victim restarts without --join and sees the mesh: $(tail -n 1 "$WORK/restart.$victim.out")"
  else
    fail "$victim does not restart"
    show "$WORK/restart.$victim.out"
  fi
  if await "$observer"; then
    back=$(seconds_between "$t1" "$(all_at "$WORK/alive.$victim.out")")
    check "all $((count - 1)) others mark restarted $victim alive within ${restart_bound}s (took ${back}s)" \
      at_most "$back" "$restart_bound"
    figure "rejoin_s.$victim" "$back" s
  else
    fail "not every node marked restarted $victim alive within 60 s"
    show "$WORK/alive.$victim.out"
  fi
done

"${OBSERVE[@]}" --home "$home" table --nodes "$(node_list 1 "$count")" >"$WORK/table.out"
check "in the end every node sees $count alive and nothing else" \
  test "$(grep -c "alive=$count suspect=0 dead=0 left=0" "$WORK/table.out")" -eq "$count"
finish
