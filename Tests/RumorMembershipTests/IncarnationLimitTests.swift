import Testing
import RumorMembership
import RumorWire

/// Incarnations are 64-bit numbers any member may name in an unsigned accusation: none of them may trap a node,
/// and none may end a member for good (Docs/PROTOCOL.md, "Incarnations").
@Suite("Membership: the incarnation limit")
struct IncarnationLimitTests {
    static func id(_ byte: UInt8) -> NodeID {
        guard let id = NodeID(bytes: [UInt8](repeating: byte, count: NodeID.byteCount)) else { preconditionFailure("32 bytes") }
        return id
    }

    static let me = AliveClaim(id: id(0x10), incarnation: 1, name: "me", address: PeerAddress(ipv4: [10, 0, 0, 1], port: 7946), tags: Tags())
    static let peer = AliveClaim(id: id(0x20), incarnation: 1, name: "peer", address: PeerAddress(ipv4: [10, 0, 0, 2], port: 7946), tags: Tags())
    static let now = Instant(nanoseconds: 1_000_000_000)

    static func node() -> Membership {
        var node = Membership(me: me, settings: .profile(.lan), seed: 1, now: now)
        var effects: [MembershipEffect] = []
        node.receive(PacketBody(sender: peer.id, frames: [.member(.alive(peer))]), from: peer.address, now: now, effects: &effects)
        return node
    }

    static func receive(_ update: MemberUpdate, at node: inout Membership) {
        var effects: [MembershipEffect] = []
        node.receive(PacketBody(sender: peer.id, frames: [.member(update)]), from: peer.address, now: now, effects: &effects)
    }

    @Test("an accusation at 2^64-1 is refused, about this node or any other", arguments: [true, false])
    func unrefutableAccusations(dead: Bool) {
        var node = Self.node()
        for subject in [Self.me.id, Self.peer.id] {
            Self.receive(dead ? .dead(subject: subject, incarnation: .max, accuser: Self.peer.id)
                              : .suspect(subject: subject, incarnation: .max, accuser: Self.peer.id), at: &node)
        }
        #expect(node.myself.incarnation == 1)
        #expect(node.myself.state == .alive)
        #expect(node.members[Self.peer.id]?.state == .alive)
        #expect(node.members[Self.peer.id]?.incarnation == 1)
    }

    @Test("refuting an accusation at 2^64-2 saturates, and the node can still change tags and leave")
    func saturatingRefutation() {
        var node = Self.node()
        Self.receive(.suspect(subject: Self.me.id, incarnation: .max - 1, accuser: Self.peer.id), at: &node)
        #expect(node.myself.incarnation == .max)
        #expect(node.myself.state == .alive)
        Self.receive(.dead(subject: Self.me.id, incarnation: .max - 1, accuser: Self.peer.id), at: &node)
        #expect(node.myself.incarnation == .max)
        node.setTags(Tags(["role": "db"]) ?? Tags(), now: Self.now)
        #expect(node.myself.incarnation == .max)
        var effects: [MembershipEffect] = []
        node.leave(now: Self.now, effects: &effects)
        #expect(node.myself.state == .left)
        #expect(node.myself.incarnation == .max)
    }
}
