#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Product bugs the fuzzers found that are not fixed yet. A known issue does not stop a fuzz run, so the targets
/// keep exploring past it: a broken invariant is marked with the issue, and an input that would make the product
/// trap is refused before it reaches the product (`KnownIssues.avoid`). Each has a regression input in
/// Fuzz/Regressions/TARGET/ named after it; the regression test expects the issue there and fails once the
/// product is fixed — then delete the case, its check in the target, and rename the input.
public struct KnownIssue: Hashable, Sendable {
    /// The issue's name: its regression input's name starts with it.
    public let rawValue: String
    /// The product traps on this issue (rather than breaking an invariant the harness checks).
    public let traps: Bool

    /// Every open issue, each a `static let` here. None is open now; the seven found so far are fixed and their
    /// inputs kept as `fixed-…`.
    public static let allCases: [KnownIssue] = []
}

public enum KnownIssues {
    /// Whether inputs that would hit a trapping known issue are refused before they reach the product. The
    /// regression test turns this off (`RUMOR_FUZZ_HIT_KNOWN_TRAPS`) in a child process, to see the trap.
    public static var avoidTraps: Bool { getenv("RUMOR_FUZZ_HIT_KNOWN_TRAPS") == nil }

    /// Refuses, as the known `issue`, an input for which `wouldTrap` holds, unless traps are wanted.
    public static func avoid(_ issue: KnownIssue, if wouldTrap: Bool, _ message: @autoclosure () -> String,
                             file: StaticString = #fileID, line: UInt = #line) throws(Violation) {
        guard wouldTrap, avoidTraps else { return }
        throw Violation(message: message(), location: "\(file):\(line)", knownIssue: issue)
    }

    /// Like `require`, but a failure for which `applies` holds is marked as the known `issue`.
    public static func check(_ condition: Bool, _ issue: KnownIssue, if applies: Bool, _ message: @autoclosure () -> String,
                             file: StaticString = #fileID, line: UInt = #line) throws(Violation) {
        guard !condition else { return }
        throw Violation(message: message(), location: "\(file):\(line)", knownIssue: applies ? issue : nil)
    }
}
