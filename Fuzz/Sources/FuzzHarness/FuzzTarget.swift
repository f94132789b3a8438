/// An invariant that one input broke: the fuzz driver crashes on it (so libFuzzer saves the input), and the
/// regression test (Tests/RumorNodeTests/FuzzRegressionTests.swift) records it as a failure.
public struct Violation: Error, CustomStringConvertible {
    public let message: String
    public let location: String
    /// Set when the violation is a product bug already reported and not fixed yet (see `KnownIssue`).
    public let knownIssue: KnownIssue?

    public init(message: String, location: String, knownIssue: KnownIssue? = nil) {
        self.message = message
        self.location = location
        self.knownIssue = knownIssue
    }

    public var description: String { "\(location): \(message)\(knownIssue.map { " (known issue \($0.rawValue))" } ?? "")" }
}

/// Throws a `Violation` unless `condition` holds.
@inline(__always)
public func require(_ condition: Bool, _ message: @autoclosure () -> String, file: StaticString = #fileID, line: UInt = #line) throws(Violation) {
    guard condition else { throw Violation(message: message(), location: "\(file):\(line)") }
}

/// One fuzz target: the executable `fuzz-NAME` runs it under libFuzzer; its seeds live in Fuzz/Corpus/NAME/
/// and the inputs that once broke it in Fuzz/Regressions/NAME/.
public protocol FuzzTarget {
    static var name: String { get }
    /// Runs one input. Every input MUST be accepted (decoders are total); a broken invariant throws.
    static func run(_ input: [UInt8]) throws(Violation)
    /// Small meaningful inputs — real encodings, handshakes, requests — that `Scripts/fuzz.sh --seeds` writes.
    static func seeds() -> [(name: String, bytes: [UInt8])]
}

public enum FuzzTargets {
    public static var all: [any FuzzTarget.Type] {
        [
            PacketTarget.self, HandshakeTarget.self, TransportTarget.self, ReplayTarget.self, ReassemblyTarget.self,
            MembershipTarget.self, EnvelopeTarget.self, JSONTarget.self, KeyFilesTarget.self, SnapshotTarget.self,
        ]
    }
}
