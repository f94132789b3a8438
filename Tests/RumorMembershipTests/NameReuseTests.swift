import Testing
import RumorMembership
import RumorWire

/// A name is held by one live identity at a time (Docs/MEMBERSHIP.md, "Names"), also across deaths and renames.
@Suite("Membership: a name freed by a death stays with whoever took it")
struct NameReuseTests {
    static func claim(_ index: Int, name: String, incarnation: UInt64) -> AliveClaim {
        var claim = PeerTableBoundTests.claim(index)
        claim = AliveClaim(id: claim.id, incarnation: incarnation, name: name, address: claim.address, tags: Tags(), signature: [1])
        return claim
    }

    static func activeIDs(named name: String, in node: Membership) -> [NodeID] {
        node.members.values.filter { $0.name == name && $0.state.isActive }.map(\.id)
    }

    @Test("a dead member that comes back under its old name, now another's, is refused as a conflict")
    func revivalIntoATakenName() {
        var node = PeerTableBoundTests.node()
        let old = Self.claim(2, name: "n1", incarnation: 1), other = Self.claim(3, name: "shared", incarnation: 1)
        PeerTableBoundTests.gossip([.alive(old), .alive(other)], to: &node)
        PeerTableBoundTests.gossip([.dead(subject: old.id, incarnation: 1, accuser: PeerTableBoundTests.claim(1).id)], to: &node)
        // The other identity renames itself to the freed name: accepted, and the dead holder is forgotten.
        PeerTableBoundTests.gossip([.alive(Self.claim(3, name: "n1", incarnation: 2))], to: &node)
        #expect(Self.activeIDs(named: "n1", in: node) == [other.id])
        #expect(node.members[old.id] == nil, "the dead holder of the name is forgotten once another takes it")

        // The old holder refutes its death under the old name: the name is taken, so it is refused.
        var effects: [MembershipEffect] = []
        node.receive(PacketBody(sender: old.id, frames: [.member(.alive(Self.claim(2, name: "n1", incarnation: 5)))]),
                     from: old.address, now: IncarnationLimitTests.now, effects: &effects)
        #expect(Self.activeIDs(named: "n1", in: node) == [other.id])
        #expect(effects.contains { if case .conflict(let c) = $0 { return c.claimant == old.id && c.holder == other.id } else { return false } })
    }

    @Test("a dead member that comes back under its own, still free name is alive again")
    func revivalIntoAFreeName() {
        var node = PeerTableBoundTests.node()
        let old = Self.claim(2, name: "n1", incarnation: 1)
        PeerTableBoundTests.gossip([.alive(old)], to: &node)
        PeerTableBoundTests.gossip([.dead(subject: old.id, incarnation: 1, accuser: PeerTableBoundTests.claim(1).id)], to: &node)
        PeerTableBoundTests.gossip([.alive(Self.claim(2, name: "n1", incarnation: 2))], to: &node)
        #expect(node.members[old.id]?.state == .alive)
    }
}
