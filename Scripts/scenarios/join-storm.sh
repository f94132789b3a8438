#!/usr/bin/env bash
# Join storm: 32 nodes on 127.0.0.1 (mesh.sh, --profile local); node1 starts, then the 31 others all at
# once, each joining through node1 only. Every node must come to see all 32 alive.
#
# Bound: 20 s from the first launch. A joiner gets node1's table by a push-pull at once, and the others'
# arrivals by gossip (fan-out 3 every 50 ms); a node that missed some gossip learns the rest at its next
# full-state exchange, which comes after 0.5 to 1 pushPullInterval (10 s with `local`). So 20 s covers
# launching 32 processes on two cores plus one full push-pull round with margin. Typical: about 2 s.
# Quick mode: one storm. Full mode: three storms, each in a fresh home.
. "$(dirname "$0")/common.sh" "$@"

count=32
bound=20
rounds=1
[ "$MODE" = quick ] || rounds=3
nodes=$(node_list 1 "$count")

for round in $(seq "$rounds"); do
  home=$WORK/home$round
  mkdir -p "$home"
  on_exit "'${MESH[0]}' --home '$home' down --timeout 5"
  say "round $round: $count nodes start through node1"
  t0=$EPOCHREALTIME
  background "${OBSERVE[@]}" --home "$home" alive --nodes "$nodes" --count "$count" --timeout 60 --since "$t0" \
    >"$WORK/converge$round.out" 2>&1
  observer=$!
  if run "${MESH[@]}" --home "$home" up "$count" --profile local --timeout 90 >"$WORK/up$round.out" 2>&1; then
    pass "round $round: mesh.sh up $count succeeds: $(tail -n 1 "$WORK/up$round.out")"
  else
    fail "round $round: mesh.sh up $count fails:"
    show "$WORK/up$round.out"
  fi
  if await "$observer"; then
    converge=$(all_time "$WORK/converge$round.out")
    check "round $round: all $count nodes see $count alive within ${bound}s (took ${converge}s)" at_most "$converge" "$bound"
    figure "converge_s.round$round" "$converge" s
  else
    fail "round $round: not every node came to see $count alive within 60 s"
    show "$WORK/converge$round.out"
  fi

  "${OBSERVE[@]}" --home "$home" table --nodes "$nodes" >"$WORK/table$round.out"
  check "round $round: no node sees a member suspect, dead or left" \
    test "$(grep -c "alive=$count suspect=0 dead=0 left=0" "$WORK/table$round.out")" -eq "$count"
  check "round $round: node$count's message to node2 is acknowledged" \
    run "${MESH[@]}" --home "$home" send "node$count" node2 "storm round $round" --timeout 10
  run "${MESH[@]}" --home "$home" down --timeout 15 >"$WORK/down$round.out" || true
  cat "$WORK/down$round.out"
  check "round $round: all $count nodes leave gracefully on down" \
    grep -q "stopped $count node(s): $count left gracefully" "$WORK/down$round.out"
done

finish
