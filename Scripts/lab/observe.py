#!/usr/bin/env python3
"""Measures when a set of Rumor nodes reaches a state, through their control sockets (Docs/CLI.md).

One process watches every node at once, so a measurement costs no process per node and per poll, and its
times are those of the events, not of a polling loop. Each result line gives `t=` (seconds since --since,
epoch seconds as bash's $EPOCHREALTIME prints them, else since this program started) and `at=` (epoch
seconds). The line `all t=… at=…` is the moment the last node got there.

  observe.py alive  --home H --nodes a,b,c --count K [--timeout S] [--since T]
      Waits until every node sees at least K members alive (itself included): the control `wait` request.
  observe.py until  --home H --observers a,b --members x,y --state dead[,left] [--timeout S] [--since T]
                    [--ready FILE]
      Waits until every observer holds every member in one of the states. Watches the observers; writes
      FILE once subscribed, so the caller can act (kill, partition) only after that.
  observe.py record --home H --nodes a,b,c --out FILE [--ready FILE] [--duration S]
      Writes every member event of every node as a line `T OBSERVER MEMBER PREVIOUS STATE`, and every
      message it receives as `T RECEIVER SENDER message TEXT`, until SIGTERM, SIGINT or --duration; then
      prints the number of member events per new state (`dead=N` counts death marks) and of messages.
  observe.py table  --home H --nodes a,b,c
      Prints what each node sees: alive, suspect, dead and left members.

Exit codes, as the rumor CLI's: 0 done, 64 usage error, 69 a node could not be reached, 75 timed out.
"""

import argparse
import json
import os
import selectors
import signal
import socket
import sys
import time

EXIT_OK, EXIT_USAGE, EXIT_UNAVAILABLE, EXIT_TIMEOUT = 0, 64, 69, 75
CONNECT_RETRY = 0.05
STATES = ("alive", "suspect", "dead", "left")


class NodeConnection:
    """One connection to a node's control socket, reading JSON lines without blocking."""

    def __init__(self, home, name):
        self.name = name
        self.path = os.path.join(home, name, "control.sock")
        self.sock = None
        self.buffer = b""

    def try_connect(self):
        """Connects once; returns False while the node is not listening yet."""
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.connect(self.path)
        except OSError:
            sock.close()
            return False
        self.sock = sock
        return True

    def connect(self, deadline):
        while not self.try_connect():
            if time.time() >= deadline:
                return False
            time.sleep(CONNECT_RETRY)
        return True

    def send(self, request):
        self.sock.sendall((json.dumps(request) + "\n").encode())

    def read_lines(self):
        """Reads what is available; returns the complete lines as objects, or None once the node closed."""
        try:
            data = self.sock.recv(65536)
        except BlockingIOError:
            return []
        except OSError:
            data = b""
        if not data:
            return None
        self.buffer += data
        *lines, self.buffer = self.buffer.split(b"\n")
        return [json.loads(line) for line in lines if line.strip()]

    def request(self, request, timeout=10):
        """Sends one request and returns its response (blocking)."""
        self.sock.settimeout(timeout)
        self.send(request)
        while b"\n" not in self.buffer:
            data = self.sock.recv(65536)
            if not data:
                raise ConnectionError(f"{self.name} closed the connection")
            self.buffer += data
        line, self.buffer = self.buffer.split(b"\n", 1)
        return json.loads(line)

    def close(self):
        if self.sock is not None:
            self.sock.close()
            self.sock = None


def peers_of(home, name, timeout=5):
    """The node's peer table as {member name: state}, or None when the node cannot be reached."""
    connection = NodeConnection(home, name)
    if not connection.try_connect():
        return None
    try:
        response = connection.request({"op": "peers"}, timeout)
    except (OSError, ValueError):
        return None
    finally:
        connection.close()
    if not response.get("ok"):
        return None
    return {peer["name"]: peer["state"] for peer in response["peers"]}


def counts(table):
    return " ".join(f"{state}={sum(1 for s in table.values() if s == state)}" for state in STATES)


def stamp(moment, since):
    """`t=` seconds since --since, and `at=` the epoch time, which a caller can subtract its own start from."""
    return f"t={moment - since:.3f} at={moment:.3f}"


def write_ready(path):
    if path:
        with open(path, "w") as f:
            f.write(f"{time.time():.6f}\n")


def command_alive(args):
    """Every node answers the control `wait` request once it sees K alive; the last answer is the time."""
    deadline = args.since + args.timeout
    pending = {}
    for name in args.nodes:
        connection = NodeConnection(args.home, name)
        if not connection.connect(deadline):
            print(f"{name}: not reachable at {connection.path}", file=sys.stderr)
            return EXIT_UNAVAILABLE
        remaining = max(0.0, deadline - time.time())
        connection.send({"op": "wait", "alive": args.count, "timeout": round(remaining, 3)})
        connection.sock.setblocking(False)
        pending[name] = connection
    selector = selectors.DefaultSelector()
    for connection in pending.values():
        selector.register(connection.sock, selectors.EVENT_READ, connection)
    done, failed = {}, {}
    while pending and time.time() < deadline + 1:
        for key, _ in selector.select(timeout=0.5):
            connection = key.data
            lines = connection.read_lines()
            if lines == []:
                continue
            now = time.time()
            selector.unregister(connection.sock)
            del pending[connection.name]
            connection.close()
            response = lines[0] if lines else {"ok": False, "error": "connection closed"}
            if response.get("ok"):
                done[connection.name] = now
            else:
                failed[connection.name] = response.get("error", "failed")
    for name in args.nodes:
        if name in done:
            print(f"{name} {stamp(done[name], args.since)}")
    if failed or pending:
        for name in list(failed) + list(pending):
            table = peers_of(args.home, name)
            seen = counts(table) if table is not None else "unreachable"
            print(f"{name} NOT {args.count} alive: {failed.get(name, 'no answer')} ({seen})")
        return EXIT_TIMEOUT
    print(f"all {stamp(max(done.values()), args.since)}")
    return EXIT_OK


def command_until(args):
    """Watches the observers; each one's state table starts from a `peers` snapshot taken after subscribing."""
    wanted = set(args.state.split(","))
    deadline = args.since + args.timeout if args.since_given else time.time() + args.timeout
    selector = selectors.DefaultSelector()
    tables, reached = {}, {}
    for name in args.observers:
        connection = NodeConnection(args.home, name)
        if not connection.connect(time.time() + 10):
            print(f"{name}: not reachable at {connection.path}", file=sys.stderr)
            return EXIT_UNAVAILABLE
        response = connection.request({"op": "watch"})
        if not response.get("ok"):
            print(f"{name}: watch refused: {response}", file=sys.stderr)
            return EXIT_UNAVAILABLE
        connection.sock.setblocking(False)
        selector.register(connection.sock, selectors.EVENT_READ, connection)
        table = peers_of(args.home, name)
        if table is None:
            print(f"{name}: peers request failed", file=sys.stderr)
            return EXIT_UNAVAILABLE
        tables[name] = table
    write_ready(args.ready)

    def check(name, now):
        if name not in reached and all(tables[name].get(m) in wanted for m in args.members):
            reached[name] = now

    now = time.time()
    for name in args.observers:
        check(name, now)
    lost = []
    while len(reached) + len(lost) < len(args.observers) and time.time() < deadline:
        for key, _ in selector.select(timeout=min(0.5, max(0.01, deadline - time.time()))):
            connection = key.data
            lines = connection.read_lines()
            now = time.time()
            if lines is None:
                selector.unregister(connection.sock)
                lost.append(connection.name)
                continue
            for event in lines:
                if event.get("event") == "member":
                    tables[connection.name][event["name"]] = event["state"]
            check(connection.name, now)
    for name in args.observers:
        if name in reached:
            print(f"{name} {stamp(reached[name], args.since)}")
        else:
            why = "stopped answering" if name in lost else "timed out"
            states = ", ".join(f"{m}={tables[name].get(m, 'unknown')}" for m in args.members
                               if tables[name].get(m) not in wanted)
            print(f"{name} NOT {args.state}: {why}; {states}")
    if len(reached) < len(args.observers):
        return EXIT_UNAVAILABLE if lost and len(reached) + len(lost) == len(args.observers) else EXIT_TIMEOUT
    print(f"all {stamp(max(reached.values()), args.since)}")
    return EXIT_OK


def command_record(args):
    """Writes every member event until told to stop; a death mark of a running node is a false death."""
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(True))
    signal.signal(signal.SIGINT, lambda *_: stop.append(True))
    selector = selectors.DefaultSelector()
    for name in args.nodes:
        connection = NodeConnection(args.home, name)
        if not connection.connect(time.time() + 10) or not connection.request({"op": "watch"}).get("ok"):
            print(f"{name}: cannot watch", file=sys.stderr)
            return EXIT_UNAVAILABLE
        connection.sock.setblocking(False)
        selector.register(connection.sock, selectors.EVENT_READ, connection)
    write_ready(args.ready)
    end = time.time() + args.duration if args.duration else None
    totals = {state: 0 for state in STATES}
    messages = 0
    lost = []
    with open(args.out, "w") as out:
        while not stop and (end is None or time.time() < end) and len(lost) < len(args.nodes):
            try:
                ready = selector.select(timeout=0.5)
            except InterruptedError:
                continue
            for key, _ in ready:
                connection = key.data
                lines = connection.read_lines()
                if lines is None:
                    selector.unregister(connection.sock)
                    lost.append(connection.name)
                    out.write(f"{time.time():.3f} {connection.name} - - disconnected\n")
                    continue
                for event in lines:
                    if event.get("event") == "message":
                        messages += 1
                        text = (event.get("text") or "-").replace("\n", " ")
                        out.write(f"{time.time():.3f} {connection.name} {event['from']} message {text}\n")
                    if event.get("event") != "member":
                        continue
                    totals[event["state"]] = totals.get(event["state"], 0) + 1
                    out.write(f"{time.time():.3f} {connection.name} {event['name']} "
                              f"{event.get('previous') or 'new'} {event['state']}\n")
            out.flush()
    print(" ".join(f"{state}={count}" for state, count in totals.items())
          + f" messages={messages} disconnected={len(lost)}")
    return EXIT_OK


def command_table(args):
    width = max(len(n) for n in args.nodes)
    for name in args.nodes:
        table = peers_of(args.home, name)
        print(f"{name:<{width}}  {counts(table) if table is not None else 'unreachable'}")
    return EXIT_OK


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--home", default=os.environ.get("RUMOR_HOME", os.path.expanduser("~/.rumor")))
    commands = parser.add_subparsers(dest="command", required=True)

    def names(text):
        return [n for n in text.split(",") if n]

    alive = commands.add_parser("alive")
    alive.add_argument("--nodes", type=names, required=True)
    alive.add_argument("--count", type=int, required=True)
    alive.add_argument("--timeout", type=float, default=30)
    alive.add_argument("--since", type=float)
    until = commands.add_parser("until")
    until.add_argument("--observers", type=names, required=True)
    until.add_argument("--members", type=names, required=True)
    until.add_argument("--state", required=True)
    until.add_argument("--timeout", type=float, default=30)
    until.add_argument("--since", type=float)
    until.add_argument("--ready")
    record = commands.add_parser("record")
    record.add_argument("--nodes", type=names, required=True)
    record.add_argument("--out", required=True)
    record.add_argument("--ready")
    record.add_argument("--duration", type=float)
    table = commands.add_parser("table")
    table.add_argument("--nodes", type=names, required=True)
    try:
        args = parser.parse_args()
    except SystemExit as exit:
        return EXIT_USAGE if exit.code else EXIT_OK
    if hasattr(args, "since"):
        args.since_given = args.since is not None
        if args.since is None:
            args.since = time.time()
    if args.command == "until" and not set(args.state.split(",")) <= set(STATES):
        print(f"--state must be among {', '.join(STATES)}", file=sys.stderr)
        return EXIT_USAGE
    handler = {"alive": command_alive, "until": command_until, "record": command_record, "table": command_table}
    return handler[args.command](args)


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(130)
