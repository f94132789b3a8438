import Testing
@testable import RumorMembership
import RumorWire

/// The peer table answers "who goes by this name" without a scan; a name can be held by more than one row for a
/// while (a conflict, or a member back under a new identity while its old row is dead).
@Suite("Membership: the peer table's name index")
struct PeerTableNameIndexTests {
    static func member(_ index: Int, name: String, state: MemberState = .alive) -> Member {
        let claim = PeerTableBoundTests.claim(index)
        return Member(id: claim.id, name: name, address: claim.address, state: state, incarnation: 1, tags: Tags(),
                      stateChangedAt: .zero, lastHeard: nil)
    }

    @Test("rows sharing a name are all found, and each removal or rename leaves exactly the others")
    func sharedNames() {
        var table = PeerTable()
        let a = Self.member(1, name: "web"), b = Self.member(2, name: "web", state: .dead), c = Self.member(3, name: "web")
        for row in [a, b, c] { table[row.id] = row }
        table[Self.member(4, name: "db").id] = Self.member(4, name: "db")
        #expect(table.ids(named: "web") == [a.id, b.id, c.id].sorted())
        #expect(table.ids(named: "db") == [PeerTableBoundTests.claim(4).id])
        #expect(table.ids(named: "nobody").isEmpty)

        table[a.id] = nil // the first holder goes: the others stay findable
        #expect(table.ids(named: "web") == [b.id, c.id].sorted())
        var renamed = c
        renamed.name = "api"
        table[c.id] = renamed
        #expect(table.ids(named: "web") == [b.id])
        #expect(table.ids(named: "api") == [c.id])
        table[b.id] = nil
        #expect(table.ids(named: "web").isEmpty)
        #expect(table.count == 2)
        #expect(table.activeCount == 2)
    }
}
