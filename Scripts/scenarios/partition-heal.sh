#!/usr/bin/env bash
# Partition and heal, in the network lab (one host per node, Scripts/lab/): the hosts are split in two
# halves by drop rules in the switch. Each side must mark every node of the other side dead; the nodes of
# its own side stay alive. Then the partition heals and all must form one mesh again, and a message must
# cross where the cut was.
#
# Profile local (P = 0.2 s): the lab's links are veths, as fast as loopback.
# Detection bound: 2 (n − 1) × 9 P + Smax + 1 s, the bound of Docs/MEMBERSHIP.md with the local health
# at its cap (maxLocalHealth 8 stretches the probe interval to 9 P), plus 1 s for gossip. With half the
# members gone at once, an observer's probes keep failing and Lifeguard does raise its local health, so
# the plain bound (health 0) does not apply. n = 6: 21.4 s; n = 12: 43.2 s. The sides are much faster in
# practice (about 2 to 5 s), because their members gossip suspicions and confirm each other's.
# Heal bound: 20 s. Every node contacts one dead member every reconnectInterval (2 s); the first contact
# across the cut starts a push-pull, the nodes told they are dead refute at a higher incarnation, and
# gossip (or the next push-pull, 10 s) carries that to everyone.
# Quick mode: 6 hosts, 3 against 3. Full mode: 12 hosts, 6 against 6.
. "$(dirname "$0")/common.sh" "$@"
. "$ROOT/Scripts/lab/netlab.sh"

count=6
[ "$MODE" = quick ] || count=12
half=$((count / 2))
detect_bound=$(awk -v n="$count" 'BEGIN { p = 0.2; l = log(n) / log(10); if (l < 1) l = 1
  printf "%.1f", 2 * (n - 1) * 9 * p + 4 * 3 * l * p + 1 }')
heal_bound=20

lab_require || skip "the network lab cannot run here (see the message above)"
on_exit lab_destroy
lab_create "$count" || { fail "the lab of $count hosts cannot be built"; finish; }
home=$(lab_home)
say "lab $LAB_PREFIX: $count hosts; detection bound ${detect_bound}s, heal bound ${heal_bound}s"
t0=$EPOCHREALTIME
lab_start_node 1 --profile local || { fail "node1 does not start"; finish; }
for i in $(seq 2 "$count"); do
  lab_start_node "$i" --profile local --join "$(lab_listen 1)" || { fail "node$i does not start"; finish; }
done
all=$(node_list 1 "$count")
if run "${OBSERVE[@]}" --home "$home" alive --nodes "$all" --count "$count" --timeout 60 --since "$t0" \
  >"$WORK/converge.out" 2>&1; then
  pass "$count hosts form one mesh ($(all_time "$WORK/converge.out")s after the first start)"
else
  fail "$count hosts do not form one mesh"
  show "$WORK/converge.out"
  finish
fi

left=$(node_list 1 "$half")
right=$(node_list $((half + 1)) "$count")
declare -A observer
observe_until "$WORK/left.out" --observers "$left" --members "$right" --state dead --timeout 120
observer[left]=$!
observe_until "$WORK/right.out" --observers "$right" --members "$left" --state dead --timeout 120
observer[right]=$!
t0=$EPOCHREALTIME
lab_partition "$(seq -s ' ' 1 "$half")" "$(seq -s ' ' $((half + 1)) "$count")"
say "partitioned: {$left} | {$right}"
for side in left right; do
  if await "${observer[$side]}"; then
    took=$(seconds_between "$t0" "$(all_at "$WORK/$side.out")")
    check "the $side side marks all $half nodes of the other side dead within ${detect_bound}s (took ${took}s)" \
      at_most "$took" "$detect_bound"
    figure "detect_s.$side" "$took" s
  else
    fail "the $side side does not mark the other side dead within 120 s"
    show "$WORK/$side.out"
  fi
done
"${OBSERVE[@]}" --home "$home" table --nodes "$all" >"$WORK/split.out"
check "during the partition each node sees its own $half alive and the other $half dead" \
  test "$(grep -c "alive=$half suspect=0 dead=$half left=0" "$WORK/split.out")" -eq "$count"

t1=$EPOCHREALTIME
lab_heal
say "healed"
if run "${OBSERVE[@]}" --home "$home" alive --nodes "$all" --count "$count" --timeout 90 --since "$t1" \
  >"$WORK/heal.out" 2>&1; then
  took=$(all_time "$WORK/heal.out")
  check "after the heal all $count nodes see $count alive within ${heal_bound}s (took ${took}s)" at_most "$took" "$heal_bound"
  figure heal_s "$took" s
else
  fail "after the heal the nodes do not form one mesh within 90 s"
  show "$WORK/heal.out"
fi
check "node1's message to node$count crosses the healed cut" \
  run "$RUMOR_BIN" send --home "$home" --node node1 "node$count" "across the cut" --timeout 10
lab_report
finish
