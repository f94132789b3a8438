import Testing
import RumorMembership
import RumorSimulator
import RumorWire

@Suite("Simulated mesh: partitions")
struct PartitionTests {
    @Test("a 50/50 partition of 100 nodes: each side marks the other dead, and after the heal they merge")
    func splitAndHeal() throws {
        let stopwatch = Stopwatch()
        let simulation = try Mesh.converged(100, seed: 100)
        let settings = simulation.settings
        let left = Array(0..<50), right = Array(50..<100)
        simulation.partition(left, right)
        let splitAt = simulation.now
        let detectionBound = FailureDetectionTests.detectionBound(nodes: 100, settings)
        let split = try #require(simulation.run(until: { mesh in
            mesh.everyone(in: left, sees: right, as: .dead) && mesh.everyone(in: right, sees: left, as: .dead)
        }, deadline: splitAt + detectionBound))
        Mesh.report("100 nodes split 50/50: each side sees the other dead (bound \(Mesh.rounded(detectionBound)) s)",
                    split - splitAt, wall: stopwatch)
        #expect(simulation.everyone(in: left, sees: left, as: .alive) && simulation.everyone(in: right, sees: right, as: .alive),
                "each side stays whole")

        simulation.run(for: .seconds(60))
        simulation.network.heal()
        let healedAt = simulation.now
        // Bound: within one reconnectInterval every node contacts one of the members it holds dead, all of them
        // reachable again; the first exchange across makes both sides refute, and gossip and the full-state
        // exchanges spread the refutations. Three reconnect intervals leave room for that spreading.
        let bound = settings.reconnectInterval * 3
        let merged = try #require(simulation.run(until: { $0.isConverged }, deadline: healedAt + bound))
        Mesh.report("after the heal, one mesh again (bound \(Mesh.rounded(bound)) s)", merged - healedAt, wall: stopwatch)
        Mesh.expectCleanWire(simulation)
    }
}
