#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import CRumorSys
import Rumor
import Synchronization

/// SIGINT and SIGTERM for `rumor start`: whenever one arrives, the node leaves gracefully and the process exits 0.
///
/// `listen()` MUST run before `start` creates any file, socket or thread. It blocks both signals in the calling
/// thread, so every thread created afterwards has them blocked too, and from then on a signal stays pending
/// instead of acting; one thread of its own takes it with sigwait(2). Nothing is lost between start-up steps,
/// unlike a handler or Dispatch source installed after the node is up (a signal that came first was discarded by
/// the `SIG_IGN` such a source needs, or killed the process after it had created its control socket). A signal
/// that comes while the node is still starting is remembered: `nodeStarted` then makes the node leave at once.
/// A signal that arrives before `listen()` (while the binary loads or parses its arguments) gets its default
/// action, unless the parent had blocked it.
///
/// `rumor start` runs no child processes; any it ran would inherit the blocked mask.
final class StopSignals: Sendable {
    private enum Phase {
        case starting(stopRequested: Bool)
        case running(RumorNode)
    }

    private let phase = Mutex<Phase>(.starting(stopRequested: false))

    private init() {}

    /// Blocks SIGINT and SIGTERM and starts the thread that waits for them.
    /// - Throws: `CLIFailure` (exit 1) when the mask cannot be set or the thread cannot be started.
    static func listen() throws -> StopSignals {
        guard rumor_block_stop_signals() == 0 else {
            throw CLIFailure(message: "cannot block SIGINT and SIGTERM: \(String(cString: strerror(errno)))", code: ExitStatus.failure)
        }
        let signals = StopSignals()
        do {
            // One signal is enough: the node leaves, and the process exits once it has. Later ones stay pending,
            // as the old SIG_IGN disposition dropped them.
            try Threads.spawn {
                guard rumor_wait_stop_signal() > 0 else { return }
                signals.stopRequested()
            }
        } catch {
            throw CLIFailure(message: "cannot start the signal thread: \(error)", code: ExitStatus.failure)
        }
        return signals
    }

    /// Hands over the node that has just started.
    /// - Returns: false when a signal came while it was starting; the node is then already leaving.
    func nodeStarted(_ node: RumorNode) -> Bool {
        let stopRequested = phase.withLock { phase -> Bool in
            defer { phase = .running(node) }
            if case .starting(stopRequested: true) = phase { return true }
            return false
        }
        if stopRequested { node.leave {} }
        return !stopRequested
    }

    private func stopRequested() {
        let node = phase.withLock { phase -> RumorNode? in
            switch phase {
            case .starting:
                phase = .starting(stopRequested: true)
                return nil
            case .running(let node):
                return node
            }
        }
        node?.leave {}
    }
}
