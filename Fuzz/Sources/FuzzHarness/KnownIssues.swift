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
public enum KnownIssue: String, CaseIterable, Sendable {
    /// `Membership` stores an alive claim with the unspecified address (0.0.0.0) when someone else relays it,
    /// and then probes that address — which the kernel routes to the local host.
    case relayedUnspecifiedAddress = "relayed-unspecified-address"
    /// `Membership.apply` rewrites the unspecified address of a member's own claim to the source address with
    /// `AliveClaim.withAddress`, which drops the signature: relayed, the claim is `forged` at every other node, so
    /// a node listening on 0.0.0.0 or :: (Docs/CLI.md says this works) is learned only by direct contact.
    case rewrittenClaimUnsigned = "rewritten-claim-unsigned"

    /// The product traps on this issue (rather than breaking an invariant the harness checks).
    public var traps: Bool { false }
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
