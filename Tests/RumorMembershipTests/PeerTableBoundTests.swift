import Testing
import RumorMembership
import RumorWire

/// The peer table holds at most `MembershipSettings.maxMembers` members: one member with the network key must not be
/// able to fill every node's memory with made-up identities (Docs/SECURITY.md, "Bounds").
@Suite("Membership: the peer table is bounded")
struct PeerTableBoundTests {
    static let limit = 16
    static let me = AliveClaim(id: IncarnationLimitTests.id(0x01), incarnation: 1, name: "me",
                               address: PeerAddress(ipv4: [10, 0, 0, 1], port: 7946), tags: Tags())

    static func claim(_ index: Int) -> AliveClaim {
        var bytes = [UInt8](repeating: 0xa0, count: NodeID.byteCount)
        bytes[0] = UInt8(index >> 8)
        bytes[1] = UInt8(truncatingIfNeeded: index)
        guard let id = NodeID(bytes: bytes) else { preconditionFailure("32 bytes") }
        return AliveClaim(id: id, incarnation: 1, name: "m\(index)",
                          address: PeerAddress(ipv4: [10, 1, UInt8(index >> 8), UInt8(truncatingIfNeeded: index)], port: 7946),
                          tags: Tags(), signature: [1])
    }

    static func node() -> Membership {
        var settings = MembershipSettings.profile(.lan)
        settings.maxMembers = limit
        return Membership(me: me, settings: settings, seed: 1, now: IncarnationLimitTests.now)
    }

    /// Gossip from member 1 about `claims`, a packet at a time.
    static func gossip(_ updates: [MemberUpdate], to node: inout Membership, now: Instant = IncarnationLimitTests.now) {
        var effects: [MembershipEffect] = []
        for chunk in stride(from: 0, to: updates.count, by: 4) {
            let frames = updates[chunk..<min(updates.count, chunk + 4)].map { Frame.member($0) }
            node.receive(PacketBody(sender: claim(1).id, frames: frames), from: claim(1).address, now: now, effects: &effects)
        }
    }

    @Test("gossip about more members than the limit fills the table to the limit and the rest is refused and counted")
    func refusesBeyondTheLimit() {
        var node = Self.node()
        Self.gossip((1...100).map { .alive(Self.claim($0)) }, to: &node)
        #expect(node.members.count == Self.limit)
        #expect(node.counters.membersRefused == 100 - (Self.limit - 1))
        #expect(node.counters.membersEvicted == 0)
        #expect(node.members[Self.me.id] != nil)
    }

    @Test("a full table forgets a departed member, then a dead one, to take a live one; never an active one")
    func evictsGoneMembersFirst() {
        var node = Self.node()
        Self.gossip((1..<Self.limit).map { .alive(Self.claim($0)) }, to: &node)
        #expect(node.members.count == Self.limit)
        let dead = Self.claim(3), departed = Self.claim(5)
        Self.gossip([.dead(subject: dead.id, incarnation: 1, accuser: Self.claim(1).id),
                     .left(subject: departed.id, incarnation: 2, signature: [1])], to: &node)
        Self.gossip([.alive(Self.claim(200))], to: &node)
        #expect(node.members[departed.id] == nil, "the departed member goes first")
        #expect(node.members[dead.id]?.state == .dead)
        Self.gossip([.alive(Self.claim(201))], to: &node)
        #expect(node.members[dead.id] == nil)
        Self.gossip([.alive(Self.claim(202))], to: &node)
        #expect(node.members[Self.claim(202).id] == nil, "every member left is active: no room")
        #expect(node.members.count == Self.limit)
        #expect(node.members.values.filter(\.state.isActive).count == Self.limit)
        #expect(node.counters.membersEvicted == 2)
        #expect(node.counters.membersRefused == 1)
    }

    @Test("news about members already held is still applied when the table is full")
    func knownMembersStillUpdate() {
        var node = Self.node()
        Self.gossip((1..<Self.limit).map { .alive(Self.claim($0)) }, to: &node)
        var newer = Self.claim(7)
        newer.incarnation = 2
        Self.gossip([.alive(newer)], to: &node)
        #expect(node.members[newer.id]?.incarnation == 2)
        #expect(node.counters.membersRefused == 0)
    }

    @Test("a limit below two is refused by name")
    func validation() {
        var settings = MembershipSettings.profile(.lan)
        settings.maxMembers = 1
        #expect(settings.validationError()?.contains("maxMembers") == true)
        #expect(MembershipSettings.profile(.lan).maxMembers == 8_192)
    }
}
