import Testing
import RumorMembership
import RumorSimulator
import RumorWire

@Suite("Simulated mesh: joining and convergence")
struct ConvergenceTests {
    @Test("5 nodes joining through node 0 all see each other alive")
    func smallMesh() throws {
        let stopwatch = Stopwatch()
        let simulation = Simulation(nodeCount: 5, settings: .profile(.lan), seed: 5)
        simulation.joinAll(through: 0)
        // Each joiner gets the seed's table in the push-pull reply and the rest from the seed's gossip, which
        // reaches every member within a few gossip intervals (200 ms): 5 s is 25 of them.
        let converged = try #require(simulation.run(until: { $0.isConverged }, deadline: .zero + .seconds(5)))
        Mesh.report("5 nodes converged", converged.sinceStart, wall: stopwatch)
        for node in simulation.nodes.indices {
            #expect(simulation.core(of: node)?.activeCount == 5)
            #expect(simulation.core(of: node)?.members.values.allSatisfy { $0.state == .alive } == true)
        }
        #expect(simulation.falseDeaths.isEmpty)
        #expect(simulation.conflicts.isEmpty)
        Mesh.expectCleanWire(simulation)
    }

    /// 300 nodes always; 1,000 too with `RUMOR_SIM_LONG=1`. The 1,000-node run takes about 4 minutes in a
    /// debug build (25 s with `-c release`), more than the whole suite should.
    static let largeMeshes = Mesh.long ? [300, 1000] : [300]

    /// Profile `.lan`, every node joining through node 0 at the same instant: the seed answers every join at
    /// once, and each of the n² claims is gossiped 4 × ⌈log10(n + 1)⌉ times by each node that learns it.
    @Test("300 (and 1,000) nodes joining through one seed converge to full membership (.lan)",
          .timeLimit(.minutes(10)), arguments: largeMeshes)
    func largeMesh(nodes count: Int) throws {
        let stopwatch = Stopwatch()
        let settings = MembershipSettings.profile(.lan)
        let simulation = Simulation(nodeCount: count, settings: settings, seed: UInt64(count))
        simulation.joinAll(through: 0)
        // Bound: each node starts its first full-state exchange within pushPullInterval (30 s); by then gossip
        // has spread nearly every claim, and what a node still lacks arrives in that exchange. Twice that.
        let deadline = Instant.zero + settings.pushPullInterval * 2
        let converged = try #require(simulation.run(until: { $0.isConverged }, deadline: deadline, checkEvery: .milliseconds(500)))
        Mesh.report("\(count) nodes converged (\(simulation.totalCounters.packetsSent) datagrams)", converged.sinceStart, wall: stopwatch)
        #expect(simulation.falseDeaths.isEmpty)
        Mesh.expectCleanWire(simulation)
    }
}
