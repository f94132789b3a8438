import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// What one finished `rumor` invocation left behind, as a shell script would see it.
struct CommandResult: CustomStringConvertible {
    let arguments: [String]
    let exitCode: Int32
    let stdoutBytes: [UInt8]
    let stderr: String
    let elapsed: Duration

    var stdout: String { String(decoding: stdoutBytes, as: UTF8.self) }

    /// The lines of stderr; a trailing newline does not make an extra empty line.
    var stderrLines: [Substring] { stderr.split(separator: "\n", omittingEmptySubsequences: false).dropLast(stderr.hasSuffix("\n") ? 1 : 0) }

    /// True when stderr is exactly one non-empty, newline-terminated line.
    var hasOneStderrLine: Bool {
        stderr.hasSuffix("\n") && stderrLines.count == 1 && !stderrLines[0].trimmingCharacters(in: .whitespaces).isEmpty
    }

    /// Parses stdout as one JSON document.
    func json() throws -> Any {
        do {
            return try JSONSerialization.jsonObject(with: Data(stdoutBytes), options: [.fragmentsAllowed])
        } catch {
            throw HarnessError("`rumor \(arguments.joined(separator: " "))` printed no valid JSON: \(stdout.debugDescription)")
        }
    }

    var description: String {
        "`rumor \(arguments.joined(separator: " "))` exited \(exitCode) after \(String(format: "%.2f", elapsed.seconds)) s; "
            + "stdout: \(stdout.debugDescription); stderr: \(stderr.debugDescription)"
    }
}

/// A `rumor` process with both output pipes read by the harness.
final class LaunchedCommand {
    let arguments: [String]
    let process = Process()
    private let stdoutPipe = Pipe()
    private let stderrPipe = Pipe()
    private let started = ContinuousClock.now

    /// Launches `rumor ARGUMENTS` (or `executable ARGUMENTS`) with the test's environment minus `RUMOR_HOME`,
    /// plus `environment` (a nil value removes a variable). Standard input is /dev/null unless a path or pipe
    /// is given.
    init(_ arguments: [String], executable: String? = nil, environment: [String: String?] = [:],
         standardInputPath: String? = nil, standardInputPipe: Pipe? = nil) throws {
        self.arguments = arguments
        process.executableURL = URL(fileURLWithPath: try executable ?? RumorBinary.path())
        process.arguments = arguments
        process.environment = Self.environment(with: environment)
        if let standardInputPipe {
            process.standardInput = standardInputPipe
        } else if let standardInputPath {
            guard let input = FileHandle(forReadingAtPath: standardInputPath) else { throw HarnessError("cannot read \(standardInputPath)") }
            process.standardInput = input
        } else {
            process.standardInput = FileHandle.nullDevice
        }
        process.standardOutput = stdoutPipe
        process.standardError = stderrPipe
        try process.run()
    }

    /// The read end of the process's stdout, for callers that stream it instead of calling `finish`.
    var stdout: FileHandle { stdoutPipe.fileHandleForReading }

    static func environment(with overrides: [String: String?]) -> [String: String] {
        var environment = ProcessInfo.processInfo.environment
        environment["RUMOR_HOME"] = nil
        for (key, value) in overrides { environment[key] = value }
        return environment
    }

    /// Reads both pipes until the process has exited and its output is drained.
    /// - Throws: `HarnessError` (after killing the process) when that takes longer than `timeout`.
    func finish(timeout: Duration = .seconds(20)) throws -> CommandResult {
        let deadline = ContinuousClock.now + timeout
        var stdout = PipeReader(stdoutPipe.fileHandleForReading)
        var stderr = PipeReader(stderrPipe.fileHandleForReading)
        defer {
            try? stdoutPipe.fileHandleForReading.close()
            try? stderrPipe.fileHandleForReading.close()
        }
        // Each round waits at most 5 ms per pipe, so the count bounds the time as well.
        let maxRounds = Int(timeout.milliseconds / 5) + 2
        var finished = false
        for _ in 0..<maxRounds {
            let exited = !process.isRunning
            // Once exited, everything it wrote is already in the pipes: a round with no progress ends it, even if
            // another process still holds a copy of a write end.
            let readStdout = stdout.pull(waitingAtMost: exited ? 0 : 5)
            let readStderr = stderr.pull(waitingAtMost: exited ? 0 : 5)
            let progressed = readStdout || readStderr
            if (stdout.isAtEnd && stderr.isAtEnd) || (exited && !progressed) {
                finished = ProcessControl.waitForExit(process, before: deadline)
                break
            }
            if ContinuousClock.now >= deadline { break }
        }
        guard finished else {
            ProcessControl.stop(process, signal: SIGKILL)
            throw HarnessError("`rumor \(arguments.joined(separator: " "))` did not finish within \(timeout); stdout so far: "
                + "\(String(decoding: stdout.buffer, as: UTF8.self).debugDescription), stderr: \(String(decoding: stderr.buffer, as: UTF8.self).debugDescription)")
        }
        return CommandResult(arguments: arguments, exitCode: process.terminationStatus, stdoutBytes: stdout.takeAll(),
                             stderr: String(decoding: stderr.takeAll(), as: UTF8.self), elapsed: .now - started)
    }
}

/// Signals and waits for child processes, always by PID.
enum ProcessControl {
    /// Waits until `process` has exited, polling every 2 ms; false if it is still running at `deadline`.
    static func waitForExit(_ process: Process, before deadline: ContinuousClock.Instant) -> Bool {
        let maxPolls = Int((deadline - .now).milliseconds / 2) + 1
        for _ in 0..<max(1, maxPolls) {
            if !process.isRunning { return true }
            if ContinuousClock.now >= deadline { break }
            usleep(2_000)
        }
        return !process.isRunning
    }

    /// Sends `signal` to the process if it still runs.
    static func stop(_ process: Process, signal: Int32) {
        guard process.isRunning else { return }
        kill(process.processIdentifier, signal)
    }

    /// SIGTERM to every running process, then SIGKILL to those still running after `grace`, then waits for them.
    static func terminateAll(_ processes: [Process], grace: Duration = .seconds(3)) {
        for process in processes { stop(process, signal: SIGTERM) }
        let deadline = ContinuousClock.now + grace
        for process in processes { _ = waitForExit(process, before: deadline) }
        for process in processes { stop(process, signal: SIGKILL) }
        let killDeadline = ContinuousClock.now + .seconds(3)
        for process in processes { _ = waitForExit(process, before: killDeadline) }
    }
}
