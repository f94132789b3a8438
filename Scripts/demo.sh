#!/usr/bin/env bash
# A local Rumor mesh in one command: installs libsodium-dev if missing, builds, starts three nodes on
# 127.0.0.1, sends a message from node2 to node3 (they never joined each other: they met through gossip),
# broadcasts from node1, prints the peer table, and stops every node it started.
# Usage: Scripts/demo.sh
set -euo pipefail
cd "$(dirname "$0")/.."
. Scripts/lib/deps.sh
rumor_ensure_deps

echo "== building"
swift build
rumor=$(swift build --show-bin-path)/rumor
home=$(mktemp -d "${TMPDIR:-/tmp}/rumor-demo.XXXXXX")
pids=()

cleanup() {
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  done
  rm -rf "$home"
}
trap cleanup EXIT INT TERM

# Starts a node in the background (in this shell, so its PID is recorded for cleanup) and waits at most 10 s
# for its ready line.
start_node() {
  local name=$1; shift
  "$rumor" start --home "$home" --name "$name" --listen 127.0.0.1:0 "$@" >"$home/$name.out" 2>"$home/$name.log" &
  pids+=($!)
  for _ in $(seq 100); do
    grep -q '^ready ' "$home/$name.out" 2>/dev/null && return 0
    sleep 0.1
  done
  echo "node $name did not start; its log:" >&2
  cat "$home/$name.log" >&2
  return 1
}

listen_of() { sed -n 's/^ready .* listen=\(.*\)$/\1/p' "$home/$1.out"; }

echo "== starting three nodes in $home"
start_node node1
seed=$(listen_of node1)
echo "node1 listens on $seed"
start_node node2 --join "$seed"
start_node node3 --join "$seed"
for name in node1 node2 node3; do "$rumor" wait --home "$home" --node "$name" --alive 3 --timeout 10 >/dev/null; done
echo "all three nodes see each other alive"

echo "== node2 sends node3 a message (they met only through gossip); node3's inbox shows it"
"$rumor" send --home "$home" --node node2 node3 "hello from node2"
"$rumor" inbox --home "$home" --node node3

echo "== node1 broadcasts; every node receives it once"
"$rumor" broadcast --home "$home" --node node1 "hello, everyone"
for name in node2 node3; do
  for _ in $(seq 50); do "$rumor" inbox --home "$home" --node "$name" | grep -q "hello, everyone" && break; sleep 0.1; done
  echo "$name: $("$rumor" inbox --home "$home" --node "$name" | grep "hello, everyone")"
done

echo "== node1's peer table"
"$rumor" peers --home "$home" --node node1

echo "== stopping"
"$rumor" leave --home "$home" --node node3
echo "demo finished"
