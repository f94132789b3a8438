#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Rumor

/// N real `rumor start --profile lan` processes on 127.0.0.1 in one home, all joining the first:
///
///     spawn node1, read its ready line → spawn node2…nodeN at once, each `--join` node1
///       → as each ready line arrives, connect to that node's control socket and ask `wait alive=N`
///       → full membership: the last of those answers; measured from the last ready line
///     settle → status (datagram counters), /proc (CPU ticks, RSS) → idle window → /proc, status
///     SIGTERM every PID, SIGKILL after a grace period; always, also on failure
///
/// The `wait` answers come from the nodes themselves the moment their tables hold N alive members, so the
/// figure does not depend on a polling period.
struct ProcessMesh {
    let binary: String
    let directory: String
    let count: Int
    let settle: Double
    let window: Double

    struct Result {
        var nodes: Int
        /// From spawning node2…nodeN to the last ready line: process start-up on this machine.
        var startup: Double
        /// From the last ready line to the moment every node saw N alive.
        var convergence: Double
        var idleWindow: Double
        var cpuSecondsPerMinute: Samples
        var rssMiB: Samples
        var rssAnonMiB: Samples
        var pssMiB: Samples
        var datagramsInPerSecond: Samples
        var datagramsOutPerSecond: Samples
        /// The fewest alive members any node saw at the end of the idle window (N when nothing flapped).
        var aliveAtEnd: Int
        var killed: Int
        var failedExits: Int
        /// node1's resident memory by mapping at the end of the idle window, KiB, largest first.
        var residentByMapping: [(String, Int)]
    }

    private struct NodeState {
        var readyAt: UInt64?
        var listen: String?
        var control: ControlConnection?
        var convergedAt: UInt64?
    }

    func run() throws -> Result {
        let home = directory + "/mesh\(count)"
        let logs = directory + "/logs\(count)"
        for path in [home, logs] where mkdir(path, 0o700) != 0 && errno != EEXIST {
            throw BenchError("mkdir \(path): \(String(cString: strerror(errno)))")
        }
        var children: [ChildProcess] = []
        // Whatever happens below, every process started here is stopped by PID before this returns.
        defer { ChildProcess.stopAll(children, grace: 10) }
        func spawn(_ index: Int, join: String?) throws {
            let name = "node\(index)"
            var arguments = ["start", "--home", home, "--name", name, "--profile", "lan"]
            if let join { arguments += ["--join", join] }
            children.append(try ChildProcess(binary: binary, arguments: arguments, name: name, logPath: "\(logs)/\(name).log",
                                             pidFile: directory + "/pids"))
        }
        var states = [NodeState](repeating: NodeState(), count: count)

        try spawn(1, join: nil)
        try pump(children, &states, deadline: monotonicNanoseconds() + 20_000_000_000, askWait: false) { $0[0].readyAt != nil }
        guard let seed = states[0].listen else { throw BenchError("node1 printed no listen address") }
        let joinStart = monotonicNanoseconds()
        for index in 2...count { try spawn(index, join: seed) }
        try ask(wait: &states[0], name: "node1", home: home)
        try pump(children, &states, deadline: joinStart + 90_000_000_000, askWait: true, home: home) { states in
            states.allSatisfy { $0.convergedAt != nil }
        }
        let lastReady = states.compactMap(\.readyAt).max() ?? joinStart
        let converged = states.compactMap(\.convergedAt).max() ?? lastReady
        for index in states.indices { states[index].control?.close() }

        progress("  \(count) nodes: started in \(format(Double(lastReady - joinStart) / 1e9)) s, full membership \(format(Double(converged - lastReady) / 1e9)) s after the last ready line; idle for \(format(settle + window)) s")
        pause(seconds: settle)
        let before = try children.map { try status(of: $0, home: home) }
        let cpuBefore = try children.map { try sample($0) }
        let windowStart = monotonicNanoseconds()
        pause(seconds: window)
        let cpuAfter = try children.map { try sample($0) }
        let elapsed = secondsSince(windowStart)
        let mappings = ProcessSample.residentByMapping(pid: children[0].pid)
        let after = try children.map { try status(of: $0, home: home) }

        let stoppedAt = monotonicNanoseconds()
        let killed = ChildProcess.stopAll(children, grace: 10)
        progress("  \(count) nodes stopped in \(format(secondsSince(stoppedAt))) s (\(killed) needed SIGKILL)")
        let failedExits = children.filter { child in child.exitStatus.map { $0 != 0 } ?? true }.count

        func perSecond(_ pick: (NodeStatusSample) -> Int) -> Samples {
            Samples(zip(before, after).map { Double(pick($1) - pick($0)) / (Double($1.time - $0.time) / 1e9) })
        }
        return Result(
            nodes: count,
            startup: Double(lastReady - joinStart) / 1e9,
            convergence: Double(converged - lastReady) / 1e9,
            idleWindow: elapsed,
            cpuSecondsPerMinute: Samples(zip(cpuBefore, cpuAfter).map { Double($1.cpuNanoseconds > $0.cpuNanoseconds ? $1.cpuNanoseconds - $0.cpuNanoseconds : 0) / 1e9 / elapsed * 60 }),
            rssMiB: Samples(cpuAfter.map { Double($0.rssKiB) / 1024 }),
            rssAnonMiB: Samples(cpuAfter.map { Double($0.rssAnonKiB) / 1024 }),
            pssMiB: Samples(cpuAfter.map { Double($0.pssKiB) / 1024 }),
            datagramsInPerSecond: perSecond(\.datagramsIn),
            datagramsOutPerSecond: perSecond(\.datagramsOut),
            aliveAtEnd: after.map(\.alive).min() ?? 0,
            killed: killed,
            failedExits: failedExits,
            residentByMapping: mappings)
    }

    // MARK: - Inside

    /// Reads ready lines and `wait` answers until `done` holds or the deadline passes. A node that exits or
    /// closes its control socket early fails the run, with the end of its log.
    private func pump(_ children: [ChildProcess], _ states: inout [NodeState], deadline: UInt64, askWait: Bool, home: String = "",
                      done: ([NodeState]) -> Bool) throws {
        while !done(states) {
            guard monotonicNanoseconds() < deadline else {
                let ready = states.filter { $0.readyAt != nil }.count
                let converged = states.filter { $0.convergedAt != nil }.count
                throw BenchError("\(count) nodes: \(ready) ready and \(converged) seeing \(count) alive before the deadline")
            }
            var fds: [pollfd] = []
            for (index, child) in children.enumerated() {
                if states[index].readyAt == nil, child.output >= 0 { fds.append(pollfd(fd: child.output, events: Int16(POLLIN), revents: 0)) }
                if let control = states[index].control, states[index].convergedAt == nil {
                    fds.append(pollfd(fd: control.descriptor, events: Int16(POLLIN), revents: 0))
                }
            }
            _ = poll(&fds, nfds_t(fds.count), 20)
            for (index, child) in children.enumerated() {
                if states[index].readyAt == nil {
                    guard let lines = child.readLines() else {
                        throw BenchError("\(child.name) exited before its ready line: \(child.logTail())")
                    }
                    for line in lines where line.hasPrefix("ready ") {
                        states[index].readyAt = monotonicNanoseconds()
                        states[index].listen = line.split(separator: " ").first { $0.hasPrefix("listen=") }.map { String($0.dropFirst(7)) }
                        if askWait { try ask(wait: &states[index], name: child.name, home: home) }
                    }
                }
                if let control = states[index].control, states[index].convergedAt == nil {
                    guard let lines = control.readLines() else { throw BenchError("\(child.name) closed its control socket: \(child.logTail())") }
                    for line in lines {
                        guard case .success(let answer) = JSON.parse(line), answer["ok"]?.boolValue == true else {
                            throw BenchError("\(child.name) answered wait with \(line)")
                        }
                        states[index].convergedAt = monotonicNanoseconds()
                    }
                }
            }
        }
    }

    private func ask(wait state: inout NodeState, name: String, home: String) throws {
        let control = try ControlConnection(path: NodeFiles(home: home, name: name).controlSocketPath)
        try control.send(#"{"op":"wait","alive":\#(count),"timeout":60}"#)
        state.control = control
    }

    struct NodeStatusSample {
        var time: UInt64
        var datagramsIn: Int
        var datagramsOut: Int
        var alive: Int
    }

    private func status(of child: ChildProcess, home: String) throws -> NodeStatusSample {
        let control = try ControlConnection(path: NodeFiles(home: home, name: child.name).controlSocketPath)
        defer { control.close() }
        let line = try control.request(#"{"op":"status"}"#, timeout: 5)
        let time = monotonicNanoseconds()
        guard case .success(let answer) = JSON.parse(line), let status = answer["status"],
              let received = status["datagrams"]?["in"]?.intValue, let sent = status["datagrams"]?["out"]?.intValue,
              let alive = status["members"]?["alive"]?.intValue else { throw BenchError("\(child.name): unexpected status answer \(line.prefix(200))") }
        return NodeStatusSample(time: time, datagramsIn: received, datagramsOut: sent, alive: alive)
    }

    private func sample(_ child: ChildProcess) throws -> ProcessSample {
        guard let sample = ProcessSample(pid: child.pid) else { throw BenchError("\(child.name) (pid \(child.pid)) has no /proc entry: \(child.logTail())") }
        return sample
    }
}
