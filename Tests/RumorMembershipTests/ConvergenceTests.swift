#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
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

    /// Bound for a mesh that all joins at once, without catch-up exchanges: every node learns n claims and
    /// sends each `retransmitLimit` times (4 × ⌈log10(n + 1)⌉), `gossipFanout` packets of
    /// `maxFramesSize / claim size` claims every gossipInterval, so its backlog drains in
    ///
    ///     n × retransmitLimit / (gossipFanout × claimsPerPacket) × gossipInterval
    ///
    /// and no claim is still unsent anywhere after that. For 1,000 nodes with 126-byte signed claims:
    /// 1000 × 16 / (3 × 8) × 0.2 s ≈ 133 s.
    static func gossipDrainBound(nodes n: Int, _ settings: MembershipSettings, claim: AliveClaim) -> Duration {
        let limit = settings.retransmitMultiplier * max(1, Int(log10(Double(n + 1)).rounded(.up)))
        let perPacket = PacketBody.maxFramesSize / Frame.member(.alive(claim)).encodedSize
        return settings.gossipInterval * (Double(n * limit) / Double(settings.gossipFanout * perPacket))
    }

    /// Profile `.lan`, every node joining through node 0 at the same instant: the seed answers every join at
    /// once, and the n² claims then spread by gossip and the periodic full-state exchanges.
    /// With catch-up exchanges each node fetches whole tables while gossip is behind, so the storm converges in a
    /// few catch-up intervals (measured: 2.3 s for 300, 3.3 s for 1,000), where gossip and the periodic push-pull
    /// took 16 and 30 s.
    @Test("300 and 1,000 nodes joining through one seed converge to full membership within 10 catch-up intervals (.lan)",
          .timeLimit(.minutes(20)), arguments: [300, 1000])
    func largeMesh(nodes count: Int) throws {
        let stopwatch = Stopwatch()
        let settings = MembershipSettings.profile(.lan)
        let simulation = Simulation(nodeCount: count, settings: settings, seed: UInt64(count))
        let bound = settings.catchUpInterval * 10
        simulation.joinAll(through: 0)
        let converged = try #require(simulation.run(until: { $0.isConverged }, deadline: .zero + bound, checkEvery: .milliseconds(500)))
        Mesh.report("\(count) nodes converged (bound \(Mesh.rounded(bound)) s, \(simulation.totalCounters.packetsSent) datagrams)",
                    converged.sinceStart, wall: stopwatch)
        #expect(simulation.falseDeaths.isEmpty)
        Mesh.expectCleanWire(simulation)
    }
}
