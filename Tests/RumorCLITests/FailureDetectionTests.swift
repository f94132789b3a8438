#if canImport(Glibc)
import Glibc
#endif
import Testing

/// On the default profile a crashed node is declared dead within 10 s, and a node that leaves is `left`, not dead.
@Suite("Failure detection and leaving on the default profile", .timeLimit(.minutes(1)))
struct FailureDetectionTests {
    @Test("a SIGKILLed node is dead everywhere within 10 s; `rumor leave` exits 0 and peers show the node left")
    func killThenLeave() throws {
        let home = try RumorHome()
        defer { home.shutdown() }
        let seed = try home.start("node1", profile: nil)
        var nodes = [seed]
        for index in 2...4 { nodes.append(try home.start("node\(index)", join: [seed.listen], profile: nil)) }
        let names = nodes.map(\.name)
        try home.waitUntil(names, see: names, within: .seconds(10))

        let victim = nodes[3]
        let survivors = ["node1", "node2", "node3"]
        #expect(kill(victim.pid, SIGKILL) == 0)
        let killed = ContinuousClock.now
        var detected: [String: Duration] = [:]
        var seenStates: Set<String> = []
        try eventually("every survivor seeing \(victim.name) dead", within: .seconds(10)) { () throws -> Probe<Void> in
            for survivor in survivors where detected[survivor] == nil {
                let state = try home.peers(of: survivor).named(victim.name)?.state ?? "absent"
                seenStates.insert(state)
                if state == "dead" { detected[survivor] = .now - killed }
            }
            return detected.count == survivors.count ? .met(()) : .pending("detected by \(detected.keys.sorted()), states seen \(seenStates.sorted())")
        }
        let slowest = detected.values.max() ?? .zero
        print("SIGKILL detection, default profile, 4 nodes: "
            + survivors.map { "\($0) \(format(detected[$0] ?? .zero))" }.joined(separator: ", ") + "; all within \(format(slowest))")
        #expect(slowest < .seconds(10))
        #expect(!seenStates.contains("left"), "a killed node cannot have said goodbye, yet was seen left")

        let leaving = nodes[2]
        let leave = try home.client("leave", node: leaving.name)
        #expect(leave.exitCode == 0, "\(leave)")
        #expect(leave.stdout == "left name=\(leaving.name)\n", "\(leave)")
        #expect(leaving.exitStatus(within: .seconds(5)) == 0, "`rumor start` of \(leaving.name) must exit 0 after leave")

        var leftStates: Set<String> = []
        try eventually("node1 and node2 seeing \(leaving.name) left", within: .seconds(5)) { () throws -> Probe<Void> in
            let states = try ["node1", "node2"].map { try home.peers(of: $0).named(leaving.name)?.state ?? "absent" }
            leftStates.formUnion(states)
            return states.allSatisfy { $0 == "left" } ? .met(()) : .pending("states \(states)")
        }
        #expect(!leftStates.contains("dead"), "a node that left was seen dead: \(leftStates.sorted())")
        #expect(try home.peers(of: "node1").named(victim.name)?.state == "dead")
    }
}
