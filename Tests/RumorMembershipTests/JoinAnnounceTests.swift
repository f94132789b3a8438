import Testing
import RumorMembership
import RumorSimulator
import RumorWire

/// Right after its join exchange a node sends its own claim straight to the members it learns, at most
/// `joinAnnounceFanout` of them, so a mass join converges one round trip after the last join instead of at the end
/// of an infection's tail (Docs/MEMBERSHIP.md, "Joining").
@Suite("Membership: join announce")
struct JoinAnnounceTests {
    static let start = IncarnationLimitTests.now
    static let settings = MembershipSettings.profile(.lan)
    /// Member 1 of `PeerTableBoundTests.claim`, the seed every joiner here goes through.
    static let seed = PeerTableBoundTests.claim(1)

    /// A node that has sent its join to the seed; the effects of the join itself are dropped.
    static func joiner() -> Membership {
        var node = Membership(me: PeerTableBoundTests.me, settings: settings, seed: 3, now: start)
        var effects: [MembershipEffect] = []
        node.join(seeds: [seed.address], now: start, effects: &effects)
        return node
    }

    /// The seed's answer to a join: its own claim, then `claims`, eight to a datagram as the real answer packs them.
    static func stateReply(_ claims: [AliveClaim], to node: inout Membership, now: Instant) -> [MembershipEffect] {
        var effects: [MembershipEffect] = []
        let frames = ([seed] + claims).map { Frame.member(.alive($0)) }
        for chunk in stride(from: 0, to: frames.count, by: 8) {
            let packet = PacketBody(sender: seed.id, frames: Array(frames[chunk..<min(frames.count, chunk + 8)]))
            node.receive(packet, from: seed.address, now: now, effects: &effects)
        }
        return effects
    }

    /// The announces among `effects`: datagrams made of this node's own claim alone, by destination.
    static func announces(in effects: [MembershipEffect], of me: NodeID = PeerTableBoundTests.me.id) -> [PeerAddress] {
        effects.compactMap { effect in
            guard case .send(let address, let frames) = effect, frames.count == 1,
                  case .member(.alive(let claim)) = frames[0], claim.id == me else { return nil }
            return address
        }
    }

    @Test("a joiner announces itself to every member the seed's answer lists, not to the seed")
    func announcesToEveryLearnedMember() {
        var node = Self.joiner()
        let members = (2...20).map(PeerTableBoundTests.claim)
        let sent = Self.announces(in: Self.stateReply(members, to: &node, now: Self.start + .milliseconds(1)))
        #expect(Set(sent) == Set(members.map(\.address)))
        #expect(sent.count == members.count, "one announce per member")
        #expect(!sent.contains(Self.seed.address))
    }

    @Test("the announce goes to at most joinAnnounceFanout members, however large the seed's table")
    func announceIsBounded() {
        var node = Self.joiner()
        let members = (2...1_000).map(PeerTableBoundTests.claim)
        let sent = Self.announces(in: Self.stateReply(members, to: &node, now: Self.start + .milliseconds(1)))
        #expect(node.activeCount == 1_001, "every member is learned (1,000 and this node)")
        #expect(sent.count == Self.settings.joinAnnounceFanout)
        #expect(Set(sent).count == sent.count)
    }

    @Test("a negative joinAnnounceFanout is refused by name; 0 is allowed and turns the announce off")
    func fanoutIsValidated() {
        var settings = Self.settings
        settings.joinAnnounceFanout = -1
        #expect(settings.validationError()?.contains("joinAnnounceFanout") == true)
        settings.joinAnnounceFanout = 0
        #expect(settings.validationError() == nil)
    }

    @Test("after the join exchange, members learned later get no announce; nor does a member that sent its own claim")
    func announceEndsWithTheJoin() {
        var node = Self.joiner()
        _ = Self.stateReply((2...5).map(PeerTableBoundTests.claim), to: &node, now: Self.start + .milliseconds(1))

        var effects: [MembershipEffect] = []
        let direct = PeerTableBoundTests.claim(6)
        node.receive(PacketBody(sender: direct.id, frames: [.member(.alive(direct))]), from: direct.address,
                     now: Self.start + .milliseconds(2), effects: &effects)
        #expect(node.members[direct.id] != nil)
        #expect(Self.announces(in: effects).isEmpty, "it reached this node itself, so it knows where this node is")

        let late = Self.start + .milliseconds(1) + Self.settings.gossipInterval
        effects = Self.stateReply([PeerTableBoundTests.claim(7)], to: &node, now: late)
        #expect(node.members[PeerTableBoundTests.claim(7).id] != nil)
        #expect(Self.announces(in: effects).isEmpty)
    }

    @Test("a node that did not join (the seed) announces nothing when it learns members")
    func seedDoesNotAnnounce() {
        var node = Membership(me: PeerTableBoundTests.me, settings: Self.settings, seed: 3, now: Self.start)
        let effects = Self.stateReply((2...20).map(PeerTableBoundTests.claim), to: &node, now: Self.start)
        #expect(node.activeCount == 21)
        #expect(Self.announces(in: effects).isEmpty)
    }

    /// 64 nodes join through node 0 one after another, 15 ms apart, as the 63 processes of the bench's mesh start
    /// (`Scripts/bench.sh --only processes`). Each joiner's exchange with the seed lists every earlier joiner, and
    /// its announce tells them of it, so every pair has met a round trip (about 2 ms here) after the last join.
    /// Gossip alone took 0.5–0.85 s for the last (member, newcomer) pairs.
    @Test("64 nodes joining 15 ms apart converge within 50 ms of the last join; without the announce they do not",
          arguments: [1, 2, 3] as [UInt64])
    func staggeredJoinConverges(seed: UInt64) throws {
        let bound = Duration.milliseconds(50)
        let stopwatch = Stopwatch()
        let withAnnounce = Self.staggeredJoin(seed: seed, announce: true)
        let converged = try #require(withAnnounce.after, "64 nodes did not converge within 5 s of the last join")
        Self.report("64 nodes joining 15 ms apart (seed \(seed)): full membership after the last join", converged,
                    datagrams: withAnnounce.datagrams, wall: stopwatch)
        #expect(converged <= bound)

        let gossipOnly = Self.staggeredJoin(seed: seed, announce: false)
        let before = try #require(gossipOnly.after, "without the announce: not converged within 5 s of the last join")
        Self.report("…the same with joinAnnounceFanout 0", before, datagrams: gossipOnly.datagrams, wall: stopwatch)
        #expect(before > bound, "the bound must be one that gossip alone does not meet")
    }

    /// `[sim] what: 1.2 ms virtual, N datagrams (wall 0.05 s)`, in milliseconds: the figures are far below `Mesh.report`'s
    /// hundredths of a second.
    static func report(_ what: String, _ virtual: Duration, datagrams: Int, wall stopwatch: Stopwatch) {
        let milliseconds = (virtual.seconds * 10_000).rounded() / 10
        print("[sim] \(what): \(milliseconds) ms virtual, \(datagrams) datagrams in the 10 s from the first join (wall \(Mesh.rounded(stopwatch.elapsed)) s)")
    }

    /// Starts node 0, then joins the others through it one every 15 ms, and runs 10 s from the first join (long
    /// enough for every gossip queue to drain, so the datagram counts of two runs compare).
    /// - Returns: the virtual time from the last join to full membership (nil if not within 5 s), and the datagrams sent.
    static func staggeredJoin(seed: UInt64, announce: Bool) -> (after: Duration?, datagrams: Int) {
        var settings = MembershipSettings.profile(.lan)
        if !announce { settings.joinAnnounceFanout = 0 }
        let simulation = Simulation(nodeCount: 64, settings: settings, seed: seed)
        for index in 1..<64 {
            simulation.join(index, through: [0])
            if index < 63 { simulation.run(for: .milliseconds(15)) }
        }
        let lastJoin = simulation.now
        let converged = simulation.run(until: { $0.isConverged }, deadline: lastJoin + .seconds(5), checkEvery: .milliseconds(1))
        simulation.run(until: .zero + .seconds(10))
        #expect(simulation.falseDeaths.isEmpty)
        Mesh.expectCleanWire(simulation)
        return (converged.map { $0 - lastJoin }, simulation.totalCounters.packetsSent)
    }

    @Test("64 nodes joining through one seed at the same instant converge within 50 ms")
    func simultaneousJoinConverges() throws {
        let stopwatch = Stopwatch()
        let simulation = Simulation(nodeCount: 64, settings: .profile(.lan), seed: 64)
        simulation.joinAll(through: 0)
        let converged = try #require(simulation.run(until: { $0.isConverged }, deadline: .zero + .seconds(5), checkEvery: .milliseconds(1)))
        simulation.run(until: .zero + .seconds(10))
        Self.report("64 nodes joining at once: full membership", converged.sinceStart,
                    datagrams: simulation.totalCounters.packetsSent, wall: stopwatch)
        #expect(converged.sinceStart <= .milliseconds(50))
        #expect(simulation.falseDeaths.isEmpty)
    }
}
