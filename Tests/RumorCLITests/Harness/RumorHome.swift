import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A temporary RUMOR home and every process a test starts in it.
///
/// Tests MUST `defer { home.shutdown() }` right after creating one: shutdown sends SIGTERM to each process it
/// started (by PID), SIGKILL to any still running after a grace period, and removes the folder. `deinit` does
/// the same as a backstop.
final class RumorHome {
    let path: String
    private var processes: [Process] = []
    private var pipes: [Pipe] = []
    private var isShutDown = false

    init() throws {
        var template = Array((NSTemporaryDirectory() as NSString).appendingPathComponent("rumor-cli-XXXXXX").utf8CString)
        let created = template.withUnsafeMutableBufferPointer { buffer in buffer.baseAddress.flatMap { mkdtemp($0) } != nil }
        guard created else { throw HarnessError("cannot create a temporary home: \(String(cString: strerror(errno)))") }
        path = String(decoding: template.dropLast().map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    deinit { shutdown() }

    func shutdown() {
        guard !isShutDown else { return }
        isShutDown = true
        ProcessControl.terminateAll(processes)
        for pipe in pipes { try? pipe.fileHandleForReading.close() }
        try? FileManager.default.removeItem(atPath: path)
    }

    // MARK: - Nodes

    /// Runs `rumor start` and waits for its ready line.
    /// - Parameters:
    ///   - profile: the `--profile` value; nil leaves the flag out, so the default profile applies.
    ///   - passHome: false leaves `--home` out (for tests of `RUMOR_HOME`).
    func start(_ name: String, listen: String = "127.0.0.1:0", join: [String] = [], profile: String? = "local",
               options: [String] = [], passHome: Bool = true, environment: [String: String?] = [:],
               readyWithin timeout: Duration = .seconds(10)) throws -> NodeProcess {
        var arguments = ["start"] + (passHome ? ["--home", path] : []) + ["--name", name, "--listen", listen]
        arguments += join.flatMap { ["--join", $0] }
        arguments += profile.map { ["--profile", $0] } ?? []
        arguments += options

        let logPath = path + "/" + name + ".stderr"
        guard FileManager.default.createFile(atPath: logPath, contents: nil), let logFile = FileHandle(forWritingAtPath: logPath) else {
            throw HarnessError("cannot create \(logPath)")
        }
        defer { try? logFile.close() }
        let process = Process()
        let stdout = Pipe()
        process.executableURL = URL(fileURLWithPath: try RumorBinary.path())
        process.arguments = arguments
        process.environment = LaunchedCommand.environment(with: environment)
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = stdout
        // Logs go to a file: a pipe nobody drains would fill up and stall the node.
        process.standardError = logFile
        try process.run()
        processes.append(process)
        pipes.append(stdout)

        var reader = PipeReader(stdout.fileHandleForReading)
        let line = reader.nextLine(before: .now + timeout)
        guard case .line(let text) = line else {
            let exited = ProcessControl.waitForExit(process, before: .now + .milliseconds(200))
            throw HarnessError("`rumor \(arguments.joined(separator: " "))` printed no ready line "
                + "(\(line == .end ? "stdout closed" : "timed out after \(timeout)")\(exited ? ", exit \(process.terminationStatus)" : ""))"
                + "; stderr: \(log(of: name).debugDescription)")
        }
        return try NodeProcess(readyLine: text, process: process)
    }

    /// Starts `a` (with `options`) and `b` joining it, and waits until both see both alive: the two-node mesh
    /// most messaging tests start from.
    @discardableResult
    func startPair(options: [String] = []) throws -> (a: NodeProcess, b: NodeProcess) {
        let a = try start("a", options: options)
        let b = try start("b", join: [a.listen])
        try waitUntil(["a", "b"], see: ["a", "b"], within: .seconds(10))
        return (a, b)
    }

    /// The node's log (its stderr) so far.
    func log(of name: String) -> String {
        (try? String(contentsOfFile: path + "/" + name + ".stderr", encoding: .utf8)) ?? ""
    }

    /// Starts `rumor watch --json` on `node` and returns once it demonstrably receives events: `sender` sends
    /// `node` sync messages (text `watch-sync-N`) until one shows up in the stream.
    func watch(_ node: String, syncingWith sender: String) throws -> Watcher {
        let command = try launch(["watch", "--home", path, "--node", node, "--json"])
        let watcher = Watcher(command)
        for attempt in 0..<20 {
            let sync = try client("send", node: sender, [node, "watch-sync-\(attempt)"])
            guard sync.exitCode == 0 else { throw HarnessError("sync message failed: \(sync)") }
            let seen = try watcher.next(within: .milliseconds(500)) { event in
                event["from"] as? String == sender && (event["text"] as? String)?.hasPrefix("watch-sync-") == true
            }
            if seen != nil { return watcher }
        }
        throw HarnessError("`rumor watch --node \(node)` showed none of 20 sync messages from \(sender)")
    }

    // MARK: - Commands

    /// Launches `rumor ARGUMENTS` without waiting; shutdown kills it if the test has not finished it.
    func launch(_ arguments: [String]) throws -> LaunchedCommand {
        let command = try LaunchedCommand(arguments)
        processes.append(command.process)
        return command
    }

    /// Launches `/bin/sh -c SCRIPT` with `$0` the rumor binary and `$1` this home, its stdin fed from `input`;
    /// shutdown kills it (or the rumor it became) if the test has not finished it.
    func launchShell(_ script: String, input: Pipe) throws -> LaunchedCommand {
        let command = try LaunchedCommand(["-c", script, try RumorBinary.path(), path], executable: "/bin/sh", standardInputPipe: input)
        processes.append(command.process)
        return command
    }

    /// Runs `rumor ARGUMENTS` exactly as given and waits for it to finish.
    func rumor(_ arguments: [String], environment: [String: String?] = [:], timeout: Duration = .seconds(20)) throws -> CommandResult {
        try LaunchedCommand(arguments, environment: environment).finish(timeout: timeout)
    }

    /// Runs `rumor ARGUMENTS` with `input` on its standard input.
    func rumor(_ arguments: [String], input: [UInt8], timeout: Duration = .seconds(60)) throws -> CommandResult {
        let inputPath = path + "/stdin-\(UUID().uuidString)"
        guard FileManager.default.createFile(atPath: inputPath, contents: Data(input)) else { throw HarnessError("cannot write \(inputPath)") }
        defer { try? FileManager.default.removeItem(atPath: inputPath) }
        return try LaunchedCommand(arguments, standardInputPath: inputPath).finish(timeout: timeout)
    }

    /// Runs `rumor SUBCOMMAND --home HOME --node NODE REST…`.
    func client(_ subcommand: String, node: String, _ rest: [String] = [], timeout: Duration = .seconds(20)) throws -> CommandResult {
        try rumor([subcommand, "--home", path, "--node", node] + rest, timeout: timeout)
    }

    /// `rumor peers --json` of `node`, each row read strictly.
    func peers(of node: String) throws -> [PeerRow] {
        let result = try client("peers", node: node, ["--json"])
        guard result.exitCode == 0 else { throw HarnessError("peers failed: \(result)") }
        guard let rows = try result.json() as? [Any] else { throw HarnessError("peers --json is not an array: \(result.stdout)") }
        return try rows.map(PeerRow.init)
    }

    /// `rumor status --json` of `node`.
    func status(of node: String) throws -> [String: Any] {
        let result = try client("status", node: node, ["--json"])
        guard result.exitCode == 0 else { throw HarnessError("status failed: \(result)") }
        guard let status = try result.json() as? [String: Any] else { throw HarnessError("status --json is not an object: \(result.stdout)") }
        return status
    }

    /// Waits until every node in `observers` lists exactly `members` (by name), all in `state`.
    @discardableResult
    func waitUntil(_ observers: [String], see members: [String], as state: String = "alive", within timeout: Duration) throws -> Duration {
        let started = ContinuousClock.now
        try eventually("\(observers) seeing \(members) \(state)", within: timeout) { () throws -> Probe<Void> in
            for observer in observers {
                let rows = try peers(of: observer)
                let names = Set(rows.map(\.name))
                if names != Set(members) || rows.contains(where: { $0.state != state }) {
                    return .pending("\(observer) sees \(rows.summary)")
                }
            }
            return .met(())
        }
        return .now - started
    }
}
