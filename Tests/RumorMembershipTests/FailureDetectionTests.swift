#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Testing
import RumorMembership
import RumorSimulator
import RumorWire

@Suite("Simulated mesh: failure detection and refutation")
struct FailureDetectionTests {
    /// Upper bound on the time from a crash until every member has marked the node dead:
    ///
    ///     (n − 1) × probeInterval                        until some member probes it (each probes every
    ///                                                    member once per round of n − 1 probes)
    ///   + probeInterval                                  that probe's period: direct, indirect, failed
    ///   + suspicionMaxMultiplier × suspicionMultiplier   the longest suspicion, with no confirmation
    ///       × max(1, log10 n) × probeInterval            (Lifeguard §IV.B)
    ///   + 3 × (maxLocalHealth + 1) × probeInterval       an unconfirmed suspicion's last probe of the suspect
    ///   + 25 × gossipInterval                            the `dead` news reaching everyone by gossip
    ///
    /// For 20 nodes in `.lan`: 19 + 1 + 6 × 4 × 1.30 + 27 + 5 ≈ 83 s. Other probers' confirmations usually
    /// shrink the suspicion to its minimum (4 × 1.30 s) and skip the last probe, so the measure is far lower.
    static func detectionBound(nodes n: Int, _ settings: MembershipSettings) -> Duration {
        let suspicion = settings.suspicionMaxMultiplier * settings.suspicionMultiplier * max(1, log10(Double(n)))
        let lastProbe = 3 * Double(settings.maxLocalHealth + 1)
        return settings.probeInterval * (Double(n - 1) + 1 + suspicion + lastProbe) + settings.gossipInterval * 25
    }

    @Test("a crashed node is marked dead by every member within the derived bound")
    func crashDetected() throws {
        let stopwatch = Stopwatch()
        let simulation = try Mesh.converged(20, seed: 7)
        let crashed = 7
        simulation.run(for: .seconds(10))
        let crashedAt = simulation.now
        simulation.crash(crashed)
        let bound = Self.detectionBound(nodes: 20, simulation.settings)
        let others = simulation.liveNodes
        let detected = try #require(simulation.run(
            until: { $0.count(seeing: crashed, as: .dead, among: others) == others.count },
            deadline: crashedAt + bound))
        Mesh.report("crash of 1 in 20 detected by all (bound \(Mesh.rounded(bound)) s)", detected - crashedAt, wall: stopwatch)
        #expect(simulation.falseDeaths.isEmpty)
        #expect(simulation.isConverged, "the survivors still see each other alive")
        Mesh.expectCleanWire(simulation)
    }

    @Test("a node accused by gossip refutes at a higher incarnation and is never marked dead")
    func injectedSuspicionRefuted() throws {
        let stopwatch = Stopwatch()
        let simulation = try Mesh.converged(10, seed: 11)
        let accused = 3
        let accusedID = simulation.nodes[accused].id
        let before = try #require(simulation.view(of: 1, about: accused)?.incarnation)
        var suspectedBy = Set<Int>()
        var refutedAt: Instant?
        simulation.onChange = { observer, change, now in
            guard change.member.id == accusedID else { return }
            if change.member.state == .suspect { suspectedBy.insert(observer) }
            if change.member.state == .alive, change.member.incarnation > before { refutedAt = now }
        }
        // Node 5 tells node 1 that node 3 is suspect, as a failed probe of node 5's would.
        let injectedAt = simulation.now
        simulation.inject([.member(.suspect(subject: accusedID, incarnation: before, accuser: simulation.nodes[5].id))],
                          from: 5, to: 1)
        simulation.run(for: .seconds(30))
        Mesh.report("injected suspicion refuted everywhere after", (refutedAt ?? simulation.now) - injectedAt, wall: stopwatch)
        #expect(suspectedBy.contains(1), "the injected accusation took effect")
        #expect(simulation.deathMarks(of: accused) == 0)
        let after = try #require(simulation.core(of: accused)?.myself.incarnation)
        #expect(after > before, "the accused refuted with a higher incarnation")
        #expect(simulation.isConverged)
        for observer in simulation.liveNodes where observer != accused {
            #expect(simulation.view(of: observer, about: accused)?.incarnation == after)
        }
        Mesh.expectCleanWire(simulation)
    }

    /// Node 4 hears everything but what it sends is lost for 2 s after the first suspicion: its refutation's
    /// every gossip transmission is spent into the void. Before the fix it never refuted again (the probes'
    /// buddy accusations were older than its new incarnation and were ignored) and all 9 peers declared it
    /// dead; now a stale accusation makes it announce itself again. Suspicion lasts at least
    /// suspicionMultiplier × probeInterval (4 s for 10 nodes), longer than the cut.
    @Test("a node whose datagrams are lost for 2 s is suspected, refutes, and is never marked dead")
    func lostDatagramsRefuted() throws {
        let stopwatch = Stopwatch()
        let simulation = try Mesh.converged(10, seed: 13)
        let muted = 4
        let mutedID = simulation.nodes[muted].id
        var suspicions = 0
        simulation.onChange = { _, change, _ in
            if change.member.id == mutedID, change.member.state == .suspect { suspicions += 1 }
        }
        let before = try #require(simulation.core(of: muted)?.myself.incarnation)
        for other in simulation.nodes.indices where other != muted {
            simulation.network.setConditions(.cut, from: muted, to: other)
        }
        let suspected = simulation.run(until: { _ in suspicions > 0 }, deadline: simulation.now + .seconds(30))
        #expect(suspected != nil, "someone noticed the silence")
        simulation.run(for: .seconds(2))
        for other in simulation.nodes.indices where other != muted {
            simulation.network.setConditions(nil, from: muted, to: other)
        }
        let restoredAt = simulation.now
        let whole = simulation.run(until: { $0.isConverged }, deadline: restoredAt + .seconds(60))
        Mesh.report("muted node alive everywhere again after", (whole ?? simulation.now) - restoredAt, wall: stopwatch)
        simulation.run(for: .seconds(60))
        #expect(simulation.deathMarks(of: muted) == 0)
        #expect(simulation.core(of: muted)?.myself.incarnation ?? 0 > before)
        #expect(simulation.isConverged)
        Mesh.expectCleanWire(simulation)
    }
}
