#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Testing

/// A supervisor may send SIGTERM at any moment, also while `rumor start` is still coming up. Whenever it lands,
/// the node must stop and exit 0 without leaving its control socket behind; only a signal that arrives before
/// the process has done anything may kill it outright (143).
@Suite("SIGTERM while rumor start is starting", .timeLimit(.minutes(3)))
struct StartSignalRaceTests {
    /// How the parent leaves SIGINT and SIGTERM for the child: a shell leaves them unblocked; a program that
    /// spawns from a Dispatch worker thread (this test runner, by default) passes them on blocked.
    enum ParentMask: String, CaseIterable, Sendable {
        case unblocked, blocked
    }

    /// Signals per sweep: the delays are spread evenly over one start-up and a little beyond.
    static let attempts = 40
    /// How long a signalled node may take to leave and exit.
    static let exitDeadline: Duration = .seconds(5)

    /// What one signalled `rumor start` did.
    struct Outcome: CustomStringConvertible {
        let delay: Duration
        let exitCode: Int32?
        let killedBySignal: Bool
        let printedReady: Bool
        let createdFolder: Bool
        let leftSocket: Bool
        let stderr: String

        /// Nil when the outcome keeps the contract, else what went wrong.
        var violation: String? {
            guard let exitCode else { return "still running \(StartSignalRaceTests.exitDeadline) after the signal" }
            if killedBySignal {
                guard exitCode == SIGTERM else { return "killed by signal \(exitCode)" }
                // Killed by the default action: allowed only before `start` did anything.
                return createdFolder ? "killed by SIGTERM (143) after it had created its node folder\(leftSocket ? " and control.sock" : "")" : nil
            }
            guard exitCode == 0 else { return "exited \(exitCode)" }
            return leftSocket ? "exited 0 but left control.sock behind" : nil
        }

        var description: String {
            let end = exitCode.map { killedBySignal ? "signal \($0)" : "exit \($0)" } ?? "running"
            return "\(String(format: "%.1f", delay.seconds * 1000)) ms: \(end)\(printedReady ? ", ready" : "")"
                + "\(violation.map { " — \($0); stderr: \(stderr.suffix(300).debugDescription)" } ?? "")"
        }
    }

    @Test("SIGTERM at any delay after launch: exit 0 and no control.sock, or 143 before anything was created", arguments: ParentMask.allCases)
    func sigtermDuringStartUp(_ parentMask: ParentMask) throws {
        let home = try RumorHome()
        defer { home.shutdown() }
        // One undisturbed start measures how long start-up takes on this machine and build, so the sweep covers it.
        let started = ContinuousClock.now
        let probe = try home.start("probe")
        let startUp = ContinuousClock.now - started
        #expect(kill(probe.pid, SIGTERM) == 0)
        #expect(probe.exitStatus(within: Self.exitDeadline) == 0, "the undisturbed node did not exit 0 on SIGTERM; log: \(home.log(of: "probe"))")
        let span = min(max(startUp * 1.25, .milliseconds(20)), .seconds(1))

        var outcomes: [Outcome] = []
        for attempt in 0..<Self.attempts {
            let delay = span * (Double(attempt) / Double(Self.attempts - 1))
            outcomes.append(try signalledStart(name: "n\(attempt)", in: home, after: delay, parentMask: parentMask))
        }

        let violations = outcomes.filter { $0.violation != nil }
        let kept = outcomes.filter { $0.violation == nil }
        let killed = kept.filter(\.killedBySignal).count
        let beforeReady = kept.filter { !$0.killedBySignal && !$0.printedReady }.count
        print("SIGTERM sweep (\(parentMask.rawValue) in the parent) over \(format(span)), start-up took \(format(startUp)): "
            + "\(outcomes.count) starts; \(killed) killed before start began (143), \(beforeReady) stopped before the ready line (0), "
            + "\(kept.count - killed - beforeReady) after it (0); \(violations.count) broke the contract")
        #expect(violations.isEmpty, "\(violations.count) of \(outcomes.count) signalled starts broke the contract:\n\(violations.map(\.description).joined(separator: "\n"))")
    }

    /// Launches `rumor start --name NAME`, sends it SIGTERM `delay` later, and waits for it to end.
    func signalledStart(name: String, in home: RumorHome, after delay: Duration, parentMask: ParentMask) throws -> Outcome {
        let command = try Self.withStopSignals(parentMask) {
            try home.launch(["start", "--home", home.path, "--name", name, "--listen", "127.0.0.1:0", "--profile", "local"])
        }
        let pid = command.process.processIdentifier
        usleep(useconds_t(delay.seconds * 1_000_000))
        #expect(kill(pid, SIGTERM) == 0)
        let folder = home.path + "/" + name
        let result: CommandResult?
        var stderr = ""
        do {
            result = try command.finish(timeout: Self.exitDeadline)
            stderr = result?.stderr ?? ""
        } catch {
            // finish killed it (SIGKILL) after the deadline.
            result = nil
            stderr = "\(error)"
        }
        return Outcome(
            delay: delay,
            exitCode: result?.exitCode,
            killedBySignal: result != nil && command.process.terminationReason == .uncaughtSignal,
            printedReady: result?.stdout.hasPrefix("ready ") ?? false,
            createdFolder: FileManager.default.fileExists(atPath: folder),
            leftSocket: FileManager.default.fileExists(atPath: folder + "/control.sock"),
            stderr: stderr
        )
    }

    /// Runs `body` with SIGINT and SIGTERM blocked or unblocked in the calling thread, which a child spawned from
    /// it inherits, then restores the thread's mask.
    static func withStopSignals<T>(_ mask: ParentMask, _ body: () throws -> T) throws -> T {
        var signals = sigset_t()
        sigemptyset(&signals)
        sigaddset(&signals, SIGINT)
        sigaddset(&signals, SIGTERM)
        var previous = sigset_t()
        let status = pthread_sigmask(mask == .blocked ? SIG_BLOCK : SIG_UNBLOCK, &signals, &previous)
        guard status == 0 else { throw HarnessError("pthread_sigmask failed: \(String(cString: strerror(status)))") }
        defer { pthread_sigmask(SIG_SETMASK, &previous, nil) }
        return try body()
    }
}
