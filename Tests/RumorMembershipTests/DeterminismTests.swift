import Testing
import RumorMembership
import RumorSimulator
import RumorWire

@Suite("Simulator: same seed, same run")
struct DeterminismTests {
    /// 30 nodes on lossy, jittery links, one crash: enough branching that any hidden nondeterminism (hash
    /// order, a real clock) would change the bytes on the wire.
    private func run(seed: UInt64) -> Simulation {
        let simulation = Simulation(nodeCount: 30, settings: .profile(.lan), seed: seed,
                                    link: LinkConditions(loss: 0.05, delay: .milliseconds(2), jitter: .milliseconds(3)))
        simulation.joinAll(through: 0)
        simulation.run(for: .seconds(20))
        simulation.crash(9)
        simulation.run(for: .seconds(40))
        return simulation
    }

    @Test("two runs with the same seed deliver the same bytes at the same times")
    func sameSeed() {
        let first = run(seed: 42), second = run(seed: 42)
        // Printed so that runs in separate processes (each with its own hash seed) can be compared too.
        print("[sim] seed 42: digest \(first.digest), \(first.eventsProcessed) events")
        #expect(first.digest == second.digest)
        #expect(first.eventsProcessed == second.eventsProcessed)
        #expect(first.nodes.map(\.counters) == second.nodes.map(\.counters))
    }

    @Test("runs with different seeds differ")
    func differentSeeds() {
        let digests = Set([1, 2, 3].map { run(seed: $0).digest })
        #expect(digests.count == 3)
    }
}
