import Testing
import RumorMembership
import RumorSimulator
import RumorWire

/// Catch-up exchanges (Docs/MEMBERSHIP.md): while a node's gossip queue is long, news arrives faster than gossip
/// spreads it, and the node fetches a whole table from a random member every `catchUpInterval`, backing off once
/// that brings nothing new.
@Suite("Membership: catch-up exchanges during a join storm")
struct CatchUpTests {
    struct Run {
        var converged: Duration?
        var datagrams: Int
        var catchUps: Int
        var simulation: Simulation
    }

    static func storm(nodes: Int, catchUp: Bool, seed: UInt64) -> Run {
        var settings = MembershipSettings.profile(.lan)
        if !catchUp { settings.catchUpBacklog = 0 }
        let simulation = Simulation(nodeCount: nodes, settings: settings, seed: seed)
        simulation.joinAll(through: 0)
        let converged = simulation.run(until: { $0.isConverged }, deadline: .zero + .seconds(60), checkEvery: .milliseconds(100))
        return Run(converged: converged.map { $0 - .zero }, datagrams: simulation.totalCounters.packetsSent,
                   catchUps: catchUps(simulation), simulation: simulation)
    }

    static func catchUps(_ simulation: Simulation) -> Int {
        simulation.nodes.indices.reduce(0) { $0 + (simulation.core(of: $1)?.counters.catchUps ?? 0) }
    }

    /// Gossip alone leaves the last pairs of a 300-node storm to the first periodic push-pull, 15–30 s in.
    @Test("300 nodes joining at once converge within 5 catch-up intervals, at least 3 times sooner than without them")
    func stormConvergesSooner() throws {
        let stopwatch = Stopwatch()
        let with = Self.storm(nodes: 300, catchUp: true, seed: 7)
        let converged = try #require(with.converged, "300 nodes did not converge within 60 s")
        Mesh.report("300 nodes at once, catch-up on (\(with.catchUps) exchanges, \(with.datagrams) datagrams)", converged, wall: stopwatch)
        #expect(converged <= MembershipSettings.profile(.lan).catchUpInterval * 5)
        #expect(with.catchUps > 0)
        #expect(with.simulation.falseDeaths.isEmpty)
        Mesh.expectCleanWire(with.simulation)

        let without = Self.storm(nodes: 300, catchUp: false, seed: 7)
        let slower = try #require(without.converged, "without catch-up: not converged within 60 s")
        Mesh.report("…the same with catchUpBacklog 0 (\(without.datagrams) datagrams)", slower, wall: stopwatch)
        #expect(slower >= converged * 3)
        #expect(without.catchUps == 0)
    }

    /// A converged mesh's queues still hold most claims for tens of seconds while they drain; the exchanges must
    /// not go on for all that time. Each node may make one that brings nothing, then stops.
    @Test("once a storm has converged, each node makes at most one more catch-up exchange")
    func exchangesStopAfterConvergence() throws {
        let run = Self.storm(nodes: 300, catchUp: true, seed: 11)
        let converged = try #require(run.converged, "300 nodes did not converge within 60 s")
        let simulation = run.simulation
        let longQueues = simulation.nodes.indices.filter {
            (simulation.core(of: $0)?.gossipBacklog ?? 0) >= MembershipSettings.profile(.lan).catchUpBacklog
        }
        #expect(longQueues.count > 150, "most queues must still be long, or this test says nothing about stopping while they are")
        simulation.run(until: .zero + converged + .seconds(60))
        let later = Self.catchUps(simulation) - run.catchUps
        Mesh.report("300 nodes: \(later) catch-up exchanges in the minute after convergence", .seconds(60), wall: Stopwatch())
        #expect(later <= 300)
        #expect(simulation.isConverged)
    }

    /// A queue holds at most one update per member, so a mesh of fewer than `catchUpBacklog` (128) members never
    /// starts an exchange: the join announce already makes such a mesh meet in a round trip.
    @Test("64 nodes joining 15 ms apart make no catch-up exchange")
    func smallMeshMakesNone() throws {
        let simulation = Simulation(nodeCount: 64, settings: .profile(.lan), seed: 3)
        for index in 1..<64 {
            simulation.join(index, through: [0])
            simulation.run(for: .milliseconds(15))
        }
        let converged = simulation.run(until: { $0.isConverged }, deadline: simulation.now + .seconds(5), checkEvery: .milliseconds(10))
        #expect(converged != nil)
        simulation.run(for: .seconds(30))
        #expect(Self.catchUps(simulation) == 0)
    }
}
