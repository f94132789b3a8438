import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// One look at a condition: met (with a value), or not yet (with what was seen, for the failure message).
enum Probe<Value> {
    case met(Value)
    case pending(String)
}

/// Looks at `probe` every `interval` until it is met.
///
/// Bounded twice: by `timeout` and by `timeout / interval + 1` looks.
/// - Throws: `HarnessError` naming `what` and the last observation when the condition was never met.
func eventually<Value>(_ what: String, within timeout: Duration, every interval: Duration = .milliseconds(50),
                       _ probe: () throws -> Probe<Value>) throws -> Value {
    let deadline = ContinuousClock.now + timeout
    let maxLooks = Int(timeout.milliseconds / max(1, interval.milliseconds)) + 1
    var lastSeen = "nothing yet"
    for _ in 0..<maxLooks {
        switch try probe() {
        case .met(let value): return value
        case .pending(let seen): lastSeen = seen
        }
        let remaining = deadline - .now
        guard remaining > .zero else { break }
        usleep(useconds_t(min(interval, remaining).milliseconds * 1000))
    }
    throw HarnessError("\(what) did not happen within \(timeout); last seen: \(lastSeen)")
}

/// Runs `check` every `interval` for `duration` (at most `duration / interval + 1` times), for invariants that
/// must hold the whole time rather than become true once.
func throughout(_ duration: Duration, every interval: Duration = .milliseconds(200), _ check: () throws -> Void) rethrows {
    let deadline = ContinuousClock.now + duration
    let maxChecks = Int(duration.milliseconds / max(1, interval.milliseconds)) + 1
    for _ in 0..<maxChecks {
        try check()
        let remaining = deadline - .now
        guard remaining > .zero else { return }
        usleep(useconds_t(min(interval, remaining).milliseconds * 1000))
    }
}

/// Seconds with two decimals, for the figures the tests print.
func format(_ duration: Duration) -> String {
    String(format: "%.2f s", duration.seconds)
}
