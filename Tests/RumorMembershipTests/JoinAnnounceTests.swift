import Testing
import RumorMembership
import RumorSimulator
import RumorWire

/// The seed of a join sends the joiner's claim straight to `joinAnnounceFanout` random members, so a mass join
/// converges one round trip after the last join instead of at the end of an infection's tail (Docs/MEMBERSHIP.md,
/// "Join announce").
@Suite("Membership: join announce")
struct JoinAnnounceTests {
    static let start = IncarnationLimitTests.now
    static let settings = MembershipSettings.profile(.lan)
    /// Member 9999 of `PeerTableBoundTests.claim`, the node that joins.
    static let joiner = PeerTableBoundTests.claim(9_999)

    /// A seed (`PeerTableBoundTests.me`) that knows members 1…`members`, told by member 1's gossip.
    static func seed(members: Int) -> Membership {
        var node = Membership(me: PeerTableBoundTests.me, settings: settings, seed: 3, now: start)
        var effects: [MembershipEffect] = []
        let claims = (1...members).map { Frame.member(.alive(PeerTableBoundTests.claim($0))) }
        let sender = PeerTableBoundTests.claim(1)
        for chunk in stride(from: 0, to: claims.count, by: 8) {
            node.receive(PacketBody(sender: sender.id, frames: Array(claims[chunk..<min(claims.count, chunk + 8)])),
                         from: sender.address, now: start, effects: &effects)
        }
        return node
    }

    /// `claim`'s node pushes its state with a sync request, as a join (or a push-pull) does: its own claim first.
    static func push(from claim: AliveClaim, to node: inout Membership, now: Instant = start) -> [MembershipEffect] {
        var effects: [MembershipEffect] = []
        node.receive(PacketBody(sender: claim.id, frames: [.syncRequest, .member(.alive(claim))]), from: claim.address,
                     now: now, effects: &effects)
        return effects
    }

    /// The announces among `effects`: datagrams made of `subject`'s claim alone, by destination.
    static func announces(of subject: NodeID, in effects: [MembershipEffect]) -> [PeerAddress] {
        effects.compactMap { effect in
            guard case .send(let address, let frames) = effect, frames.count == 1,
                  case .member(.alive(let claim)) = frames[0], claim.id == subject else { return nil }
            return address
        }
    }

    @Test("a seed announces a joiner to every other member, as the joiner signed it; not to the joiner")
    func announcesToEveryMember() {
        var seed = Self.seed(members: 20)
        let effects = Self.push(from: Self.joiner, to: &seed)
        let sent = Self.announces(of: Self.joiner.id, in: effects)
        #expect(Set(sent) == Set((1...20).map { PeerTableBoundTests.claim($0).address }))
        #expect(sent.count == 20, "one announce per member")
        let relayed = effects.compactMap { effect -> AliveClaim? in
            guard case .send(_, let frames) = effect, frames.count == 1, case .member(.alive(let claim)) = frames[0] else { return nil }
            return claim
        }
        #expect(relayed.allSatisfy { $0.signature == Self.joiner.signature && $0.incarnation == Self.joiner.incarnation })
    }

    @Test("the announce goes to joinAnnounceFanout random members, however large the mesh")
    func announceIsBounded() {
        var seed = Self.seed(members: 1_000)
        let sent = Self.announces(of: Self.joiner.id, in: Self.push(from: Self.joiner, to: &seed))
        #expect(sent.count == Self.settings.joinAnnounceFanout)
        #expect(Set(sent).count == sent.count)
        let second = PeerTableBoundTests.claim(9_998)
        let again = Self.announces(of: second.id, in: Self.push(from: second, to: &seed))
        #expect(again.count == Self.settings.joinAnnounceFanout)
        #expect(Set(again) != Set(sent), "each join draws its own members")
    }

    @Test("a push-pull from a known member, and gossip about a new one, announce nothing")
    func onlyJoinsAreAnnounced() {
        var seed = Self.seed(members: 20)
        let known = PeerTableBoundTests.claim(5)
        #expect(Self.announces(of: known.id, in: Self.push(from: known, to: &seed)).isEmpty)

        var effects: [MembershipEffect] = []
        let sender = PeerTableBoundTests.claim(1)
        seed.receive(PacketBody(sender: sender.id, frames: [.member(.alive(Self.joiner))]), from: sender.address,
                     now: Self.start, effects: &effects)
        #expect(seed.members[Self.joiner.id] != nil)
        #expect(Self.announces(of: Self.joiner.id, in: effects).isEmpty)
    }

    @Test("a negative joinAnnounceFanout is refused by name; 0 is allowed and turns the announce off")
    func fanoutIsValidated() {
        var settings = Self.settings
        settings.joinAnnounceFanout = -1
        #expect(settings.validationError()?.contains("joinAnnounceFanout") == true)
        settings.joinAnnounceFanout = 0
        #expect(settings.validationError() == nil)
    }

    /// 64 nodes join through node 0 one after another, 15 ms apart, as the 63 processes of the bench's mesh start
    /// (`Scripts/bench.sh --only processes`). The seed's answer to each joiner lists every earlier joiner, and
    /// the seed's announce tells them of it, so every pair has met a round trip (about 2 ms here) after the last
    /// join. Gossip alone took 0.48–0.84 s for the last (member, newcomer) pairs.
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
