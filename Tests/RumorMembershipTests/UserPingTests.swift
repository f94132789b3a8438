import Testing
import RumorMembership
import RumorWire

/// `Membership.ping`, memberlist's `Ping(node)`: its ack comes back as a result, and neither the ack nor its
/// absence may reach the failure detector.
@Suite("Membership: pings the shell asks for")
struct UserPingTests {
    static let me = IncarnationLimitTests.me
    static let peer = IncarnationLimitTests.peer
    static let now = IncarnationLimitTests.now

    /// `me` with `peer` in its table, and `peer` with `me` in its, both from the same seed each time.
    static func pair() -> (me: Membership, peer: Membership) {
        var effects: [MembershipEffect] = []
        var peerCore = Membership(me: peer, settings: .profile(.lan), seed: 2, now: now)
        peerCore.receive(PacketBody(sender: me.id, frames: [.member(.alive(me))]), from: me.address, now: now, effects: &effects)
        return (IncarnationLimitTests.node(), peerCore)
    }

    static func sentPings(_ effects: [MembershipEffect]) -> [UInt32] {
        effects.flatMap { effect -> [UInt32] in
            guard case .send(_, let frames) = effect else { return [] }
            return frames.compactMap { if case .ping(let sequence, _) = $0 { return sequence } else { return nil } }
        }
    }

    /// Ticks `core` every 50 ms from `start` for `span`, collecting the effects; nothing is delivered anywhere.
    static func run(_ core: inout Membership, from start: Instant, for span: Duration) -> [MembershipEffect] {
        var effects: [MembershipEffect] = []
        var time = start
        while time < start + span {
            time = time + .milliseconds(50)
            core.tick(now: time, effects: &effects)
        }
        return effects
    }

    @Test("the ack of a ping is reported once, with its sequence number, and leaves health and the table alone")
    func ackReported() throws {
        var (node, peerCore) = Self.pair()
        let before = node.members
        var effects: [MembershipEffect] = []
        let sequence = try node.ping(Self.peer.id, deadline: Self.now + .seconds(1), effects: &effects).get()
        #expect(effects == [.send(to: Self.peer.address, frames: [.ping(sequence: sequence, target: Self.peer.id)])],
                "one plain ping to the member's address, no gossip")
        #expect(node.nextWake <= Self.now + .seconds(1), "the deadline is a wake-up")

        var answer: [MembershipEffect] = []
        peerCore.receive(PacketBody(sender: Self.me.id, frames: [.ping(sequence: sequence, target: Self.peer.id)]),
                         from: Self.me.address, now: Self.now, effects: &answer)
        let acks = answer.flatMap { effect -> [Frame] in
            guard case .send(let address, let frames) = effect, address == Self.me.address else { return [] }
            return frames.filter { if case .ack = $0 { return true } else { return false } }
        }
        #expect(acks == [.ack(sequence: sequence)])

        // An ack with that number from some other member answers nothing.
        let stranger = IncarnationLimitTests.id(0x40)
        effects = []
        node.receive(PacketBody(sender: stranger, frames: [.ack(sequence: sequence)]), from: Self.peer.address, now: Self.now, effects: &effects)
        #expect(!node.hasPingResults)

        let later = Self.now + .microseconds(80)
        node.receive(PacketBody(sender: Self.peer.id, frames: acks), from: Self.peer.address, now: later, effects: &effects)
        #expect(node.takePingResults() == [.answered(id: Self.peer.id, sequence: sequence)])
        #expect(node.takePingResults().isEmpty, "taken once")
        node.receive(PacketBody(sender: Self.peer.id, frames: acks), from: Self.peer.address, now: later, effects: &effects)
        #expect(!node.hasPingResults, "a duplicate ack answers nothing")
        #expect(node.localHealth == 0)
        var after = node.members
        after[Self.peer.id]?.lastHeard = before[Self.peer.id]?.lastHeard
        #expect(after == before, "only the peer's last-heard time moved")
    }

    @Test("an answered ping does not stand in for a probe: a silent peer is suspected all the same")
    func answeredPingIsNoProbeAnswer() throws {
        var (pinged, _) = Self.pair()
        var (untouched, _) = Self.pair()
        var effects: [MembershipEffect] = []
        // Probe the peer (the only member), then ping it and answer only the ping.
        let probeEffects = Self.run(&pinged, from: Self.now, for: .seconds(1))
        _ = Self.run(&untouched, from: Self.now, for: .seconds(1))
        let probe = try #require(Self.sentPings(probeEffects).first, "the peer was probed within a period")
        let sequence = try pinged.ping(Self.peer.id, deadline: Self.now + .seconds(3), effects: &effects).get()
        #expect(sequence != probe)
        pinged.receive(PacketBody(sender: Self.peer.id, frames: [.ack(sequence: sequence)]), from: Self.peer.address,
                       now: Self.now + .seconds(1), effects: &effects)
        untouched.receive(PacketBody(sender: Self.peer.id, frames: []), from: Self.peer.address,
                          now: Self.now + .seconds(1), effects: &effects)
        #expect(pinged.takePingResults() == [.answered(id: Self.peer.id, sequence: sequence)])

        // Both cores now see the same probe fail; the answered ping changes nothing of what follows.
        let start = Self.now + .seconds(1)
        _ = Self.run(&pinged, from: start, for: .seconds(3))
        _ = Self.run(&untouched, from: start, for: .seconds(3))
        #expect(pinged.localHealth > 0, "the unanswered probe raised local health")
        #expect(pinged.localHealth == untouched.localHealth)
        #expect(pinged.members[Self.peer.id]?.state == .suspect)
        #expect(pinged.members[Self.peer.id]?.state == untouched.members[Self.peer.id]?.state)
    }

    @Test("an unanswered ping expires at its deadline, accusing nobody and leaving local health alone")
    func expiry() throws {
        var (node, _) = Self.pair()
        var effects: [MembershipEffect] = []
        let deadline = Self.now + .milliseconds(40)
        let sequence = try node.ping(Self.peer.id, deadline: deadline, effects: &effects).get()
        #expect(node.nextWake <= deadline, "the core wakes by the ping's deadline")
        effects = []
        node.tick(now: Self.now + .milliseconds(39), effects: &effects)
        #expect(!node.hasPingResults)
        #expect(node.nextWake <= deadline, "still due at the ping's deadline (gossip may come first)")
        node.tick(now: deadline, effects: &effects)
        #expect(node.takePingResults() == [.expired(id: Self.peer.id, sequence: sequence)])
        #expect(node.localHealth == 0)
        #expect(node.members[Self.peer.id]?.state == .alive)
        #expect(!effects.contains { if case .changed = $0 { return true } else { return false } })
        // A late ack answers nothing.
        node.receive(PacketBody(sender: Self.peer.id, frames: [.ack(sequence: sequence)]), from: Self.peer.address,
                     now: deadline, effects: &effects)
        #expect(!node.hasPingResults)
    }

    @Test("pings are bounded: the 65th waiting one is refused until one expires; strangers and itself are refused")
    func bounded() {
        var (node, _) = Self.pair()
        var effects: [MembershipEffect] = []
        for index in 0..<Membership.maxOutstandingPings {
            let deadline = Self.now + .milliseconds(index == 0 ? 10 : 1000)
            #expect((try? node.ping(Self.peer.id, deadline: deadline, effects: &effects).get()) != nil)
        }
        #expect(node.ping(Self.peer.id, deadline: Self.now + .seconds(1), effects: &effects) == .failure(.tooMany))
        node.tick(now: Self.now + .milliseconds(10), effects: &effects)
        #expect(node.ping(Self.peer.id, deadline: Self.now + .seconds(1), effects: &effects) == .failure(.tooMany),
                "a result not yet taken still holds its place")
        #expect(node.takePingResults().count == 1)
        #expect((try? node.ping(Self.peer.id, deadline: Self.now + .seconds(1), effects: &effects).get()) != nil)
        #expect(node.ping(IncarnationLimitTests.id(0x40), deadline: Self.now + .seconds(1), effects: &effects) == .failure(.notAMember))
        #expect(node.ping(Self.me.id, deadline: Self.now + .seconds(1), effects: &effects) == .failure(.notAMember))
    }
}
