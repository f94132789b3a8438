import Testing
import RumorMembership
import RumorSimulator
import RumorWire

/// The failure detector MUST NOT call a live, reachable member dead because links lose datagrams or because
/// one member is too slow to read its acks. SeeAlso: Lifeguard §I, §IV.
@Suite("Simulated mesh: no false deaths")
struct FalsePositiveTests {
    /// At 10% loss 0.8% of probes fail (the direct ping or ack is lost, 19%, and so are all three indirect
    /// paths, 4%), about 5,000 suspicions an hour among 200 nodes, each refuted. Before the fix, a node that
    /// missed every copy of a refutation (≈ e^−11 for each of 200 × 5,000 pairs) declared a live member dead:
    /// 2 to 8 an hour across seeds. The virtual hour costs about 2.5 CPU-minutes here (the codec, the core and
    /// the simulator are optimised even in debug builds).
    @Test("200 nodes at 10% loss on every link for a virtual hour: no false dead", .timeLimit(.minutes(20)))
    func lossyLinks() throws {
        let stopwatch = Stopwatch()
        let duration: Duration = .seconds(3600)
        let simulation = try Mesh.converged(200, seed: 200, link: LinkConditions(loss: 0.1), deadline: .seconds(120))
        var suspicions = 0
        simulation.onChange = { _, change, _ in if change.member.state == .suspect { suspicions += 1 } }
        simulation.run(for: duration)
        Mesh.report("200 nodes at 10% loss: \(suspicions) suspicions seen, \(simulation.falseDeaths.count) false dead, over",
                    duration, wall: stopwatch)
        #expect(suspicions > 0, "loss this heavy makes probes fail; the test must exercise refutation")
        #expect(simulation.falseDeaths.isEmpty, "first: \(String(describing: simulation.falseDeaths.first))")
        // At this loss some member is suspect somewhere at any instant; none may be dead.
        let live = simulation.liveNodes
        #expect(simulation.everyone(in: live, sees: live, as: .alive, .suspect))
        Mesh.expectCleanWire(simulation)
    }

    /// Node 5 reads every datagram 8 s late but its timers run on time, so its probes time out before it reads
    /// the acks and it accuses healthy members. An accusation nobody confirms lasts the longest suspicion
    /// (6 × 4 × log10 20 ≈ 31 s), long enough for the refutation to reach the slow node through its backlog,
    /// and Lifeguard's local health slows its probing. With `suspicionMaxMultiplier = 1` and
    /// `maxLocalHealth = 0` the same run declares healthy members dead 145 times.
    @Test("a slow node does not get healthy members declared dead")
    func slowNode() throws {
        let stopwatch = Stopwatch()
        let simulation = try Mesh.converged(20, seed: 21)
        let slow = 5
        var accusationsBySlow = 0
        var worstHealth = 0
        simulation.onChange = { observer, change, _ in
            if observer == slow, change.member.state == .suspect { accusationsBySlow += 1 }
        }
        simulation.setReceiveLag(.seconds(8), for: slow)
        let end = simulation.now + .seconds(300)
        while simulation.now < end {
            simulation.run(for: .seconds(1))
            worstHealth = max(worstHealth, simulation.core(of: slow)?.localHealth ?? 0)
        }
        Mesh.report("slow node: \(accusationsBySlow) accusations by it, its local health up to \(worstHealth), over",
                    .seconds(300), wall: stopwatch)
        #expect(accusationsBySlow > 0, "the slow node did blame others")
        #expect(worstHealth > 0, "Lifeguard's local health noticed the slow node's own trouble")
        let healthyDeaths = simulation.falseDeaths.filter { $0.subject != slow }
        #expect(healthyDeaths.isEmpty, "first: \(String(describing: healthyDeaths.first))")
        simulation.setReceiveLag(.zero, for: slow)
        simulation.run(for: .seconds(60))
        #expect(simulation.isConverged)
        Mesh.expectCleanWire(simulation)
    }
}
