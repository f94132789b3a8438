#!/usr/bin/env bash
# Lossy network, in the network lab: every host loses 20% of the UDP datagrams it sends (so does every
# datagram between two hosts), and where the kernel has netem every host also delays them by 50 ms ± 20 ms.
# The nodes start under that loss and must converge; then, for the whole run, messages go between random
# pairs of nodes and every member event is recorded. Asserts: the mesh converges within its bound, every
# message is acknowledged and delivered exactly once, no node is ever marked dead (a false death: no node
# fails here), and every node sees all alive at the end.
#
# Profile lan (the default; P = 1 s, probe timeout 500 ms): this is the profile meant for real networks,
# and the `local` profile's 100 ms probe timeout is below the round trip that netem's delay would give.
# Convergence bound: 60 s, two pushPullIntervals (30 s with lan): joins are retried every second until
# one gets through, gossip reaches most members at once, and the full-state exchange mends what loss hid.
# Messages: each `rumor send` waits up to 30 s for its acknowledgement (retransmissions start at 200 ms
# and back off to 2 s, so a fragment needs about 10 tries in 30 s; all ten lost at 36% per try is
# about 1 in 30,000).
# Quick mode: 6 hosts, 40 s of traffic. Full mode: 12 hosts, 300 s (5 minutes).
. "$(dirname "$0")/common.sh" "$@"
. "$ROOT/Scripts/lab/netlab.sh"

if [ "$MODE" = quick ]; then count=6; duration=40; else count=12; duration=300; fi
loss=20
converge_bound=60

lab_require || skip "the network lab cannot run here (see the message above)"
on_exit lab_destroy
lab_create "$count" || { fail "the lab of $count hosts cannot be built"; finish; }
home=$(lab_home)
for i in $(seq 1 "$count"); do
  lab_set_loss "$i" "$loss"
  lab_set_delay "$i" 50 20
done
say "lab $LAB_PREFIX: $count hosts, $loss% loss on every host; ${duration}s of traffic"
lab_report | grep -v measured

t0=$EPOCHREALTIME
lab_start_node 1 || { fail "node1 does not start"; finish; }
for i in $(seq 2 "$count"); do
  lab_start_node "$i" --join "$(lab_listen 1)" || { fail "node$i does not start"; finish; }
done
all=$(node_list 1 "$count")
if run "${OBSERVE[@]}" --home "$home" alive --nodes "$all" --count "$count" --timeout 120 --since "$t0" \
  >"$WORK/converge.out" 2>&1; then
  took=$(all_time "$WORK/converge.out")
  check "under $loss% loss all $count nodes see $count alive within ${converge_bound}s (took ${took}s)" \
    at_most "$took" "$converge_bound"
  figure converge_s "$took" s
else
  fail "under $loss% loss the nodes do not converge within 120 s"
  show "$WORK/converge.out"
  finish
fi

background "${OBSERVE[@]}" --home "$home" record --nodes "$all" --out "$WORK/events" --ready "$WORK/record.ready" \
  --duration $((duration + 120)) >"$WORK/record.out" 2>&1
recorder=$!
for _ in $(seq 100); do [ -s "$WORK/record.ready" ] && break; sleep 0.1; done

# One message at a time between random pairs until the run's end; one line per message in $WORK/sent:
# NUMBER FROM TO STATUS RTT_MS.
traffic() {
  local end=$((SECONDS + duration)) number=0
  while [ "$SECONDS" -lt "$end" ] && [ "$number" -lt 10000 ]; do
    number=$((number + 1))
    local from=$((RANDOM % count + 1)) to=$((RANDOM % (count - 1) + 1))
    [ "$to" -lt "$from" ] || to=$((to + 1))
    local status=0 reply
    reply=$("$RUMOR_BIN" send --home "$home" --node "node$from" "node$to" "lossy-$number" --timeout 30 --json 2>&1) || status=$?
    local rtt
    rtt=$(echo "$reply" | sed -n 's/.*"rtt_ms":\([0-9.]*\).*/\1/p')
    echo "$number node$from node$to $status ${rtt:--}" >>"$WORK/sent"
    sleep 0.5
  done
}
: >"$WORK/sent"
background traffic
sender=$!
await "$sender" || true
sleep 2
kill -TERM "$recorder"
await "$recorder" || true
say "recorded: $(cat "$WORK/record.out")"

sent=$(wc -l <"$WORK/sent")
acknowledged=$(awk '$4 == 0' "$WORK/sent" | wc -l)
# Delivered: a message line at the right receiver from the right sender; counted once per number.
delivered=$(awk 'NR == FNR { want["lossy-" $1] = $3 " " $2; next }
  $4 == "message" && ($5 in want) && want[$5] == $2 " " $3 { seen[$5]++ }
  END { n = 0; for (m in seen) n++; print n }' "$WORK/sent" "$WORK/events")
duplicates=$(awk '$4 == "message" { seen[$2 " " $5]++ } END { n = 0; for (m in seen) if (seen[m] > 1) n += seen[m] - 1; print n }' "$WORK/events")
deaths=$(awk '$5 == "dead"' "$WORK/events" | wc -l)
suspicions=$(awk '$5 == "suspect"' "$WORK/events" | wc -l)
rtts=$(awk '$5 != "-" { print $5 }' "$WORK/sent" | sort -n)
median=$(echo "$rtts" | awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)]; else print "-" }')
worst=$(echo "$rtts" | tail -n 1)

check "messages were sent ($sent)" test "$sent" -gt 0
check "every message is acknowledged ($acknowledged of $sent)" test "$acknowledged" -eq "$sent"
check "every message is delivered to its receiver ($delivered of $sent)" test "$delivered" -eq "$sent"
check "no message is delivered twice ($duplicates duplicates)" test "$duplicates" -eq 0
check "zero false deaths over ${duration}s ($deaths death marks; $suspicions suspect marks summed over observers)" \
  test "$deaths" -eq 0
"${OBSERVE[@]}" --home "$home" table --nodes "$all" >"$WORK/table.out"
# Under loss a node may suspect a member at any moment (and the member refutes): only dead is wrong.
check "at the end no node sees a member dead or left" \
  test "$(grep -c "dead=0 left=0" "$WORK/table.out")" -eq "$count"
figure messages_sent "$sent"
figure messages_acknowledged "$acknowledged"
figure messages_delivered "$delivered"
figure ack_ms_median "$median" ms
figure ack_ms_max "${worst:--}" ms
figure false_deaths "$deaths"
figure suspect_marks "$suspicions"
figure duration_s "$duration" s
lab_report
measured=$(lab_report | sed -n 's/.*(\([0-9.]*\)%).*/\1/p')
figure loss_measured_pct "${measured:--}" %
finish
