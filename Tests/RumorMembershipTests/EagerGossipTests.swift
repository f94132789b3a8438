import Testing
import RumorMembership
import RumorWire

/// News goes out as soon as it is learned, not at the next regular gossip round, and no faster than one round per
/// `gossipInterval / 4` however much news arrives (Docs/MEMBERSHIP.md, "Dissemination").
@Suite("Membership: eager gossip")
struct EagerGossipTests {
    static let start = IncarnationLimitTests.now
    /// Catch-up exchanges off: 1,000 updates queue up here, which would start them, and this suite counts gossip
    /// datagrams alone (CatchUpTests covers the exchanges).
    static let settings: MembershipSettings = {
        var settings = MembershipSettings.profile(.lan)
        settings.catchUpBacklog = 0
        return settings
    }()

    static func node() -> Membership {
        Membership(me: PeerTableBoundTests.me, settings: settings, seed: 7, now: start)
    }

    /// One packet from member 1 holding `updates`.
    static func receive(_ updates: [MemberUpdate], at node: inout Membership, now: Instant) {
        var effects: [MembershipEffect] = []
        let sender = PeerTableBoundTests.claim(1)
        node.receive(PacketBody(sender: sender.id, frames: updates.map { .member($0) }), from: sender.address, now: now, effects: &effects)
    }

    /// The gossip datagrams among `effects`: those made of member updates only (probes carry a ping).
    static func gossip(in effects: [MembershipEffect]) -> [[MemberUpdate]] {
        effects.compactMap { effect in
            guard case .send(_, let frames) = effect else { return nil }
            let updates = frames.compactMap { frame -> MemberUpdate? in
                if case .member(let update) = frame { return update }
                return nil
            }
            return updates.count == frames.count ? updates : nil
        }
    }

    @Test("a member learned between rounds is gossiped at once, and the next news a quarter interval later")
    func newsGoesOutAtOnce() {
        var node = Self.node()
        Self.receive((1...4).map { .alive(PeerTableBoundTests.claim($0)) }, at: &node, now: Self.start)
        #expect(node.nextWake == Self.start, "the regular round is a whole gossipInterval away")
        var effects: [MembershipEffect] = []
        node.tick(now: Self.start, effects: &effects)
        #expect(Self.gossip(in: effects).count == Self.settings.gossipFanout)

        let later = Self.start + .milliseconds(10)
        let newcomer = PeerTableBoundTests.claim(5)
        Self.receive([.alive(newcomer)], at: &node, now: later)
        let spacing = Self.settings.gossipInterval * 0.25
        #expect(node.nextWake == Self.start + spacing)
        effects = []
        node.tick(now: Self.start + spacing, effects: &effects)
        let sent = Self.gossip(in: effects)
        #expect(sent.count == Self.settings.gossipFanout)
        #expect(sent.allSatisfy { $0.first?.subject == newcomer.id }, "the newest news goes first")
    }

    @Test("news arriving every millisecond for a second gives at most one round per quarter interval")
    func roundsAreRateLimited() {
        var node = Self.node()
        var rounds = 0
        var datagrams = 0
        var now = Self.start
        for index in 1...1000 {
            Self.receive([.alive(PeerTableBoundTests.claim(index))], at: &node, now: now)
            if node.nextWake <= now {
                var effects: [MembershipEffect] = []
                node.tick(now: now, effects: &effects)
                let sent = Self.gossip(in: effects)
                if !sent.isEmpty { rounds += 1 }
                datagrams += sent.count
            }
            now = now + .milliseconds(1)
        }
        let spacing = Self.settings.gossipInterval * 0.25
        let allowed = Int((Duration.seconds(1) / spacing).rounded(.up))
        #expect(rounds <= allowed)
        #expect(rounds >= allowed - 1, "news kept coming: every spacing should have had its round")
        #expect(datagrams <= allowed * Self.settings.gossipFanout)
    }
}
