import Testing
import RumorMembership
import RumorWire

/// A node listening on 0.0.0.0 or :: signs a claim of the unspecified address. Its claim MUST travel exactly as it
/// signed it, and nobody may send to 0.0.0.0 — which the kernel routes to the sender's own host.
@Suite("Membership: members that claim the unspecified address")
struct UnspecifiedAddressTests {
    static let me = AliveClaim(id: IncarnationLimitTests.id(0x10), incarnation: 1, name: "me",
                               address: PeerAddress(ipv4: [10, 0, 0, 1], port: 7946), tags: Tags())
    static let relay = AliveClaim(id: IncarnationLimitTests.id(0x20), incarnation: 1, name: "relay",
                                  address: PeerAddress(ipv4: [10, 0, 0, 2], port: 7946), tags: Tags(), signature: [2])
    /// Listens on every interface; really at 10.0.0.3.
    static let wildcard = AliveClaim(id: IncarnationLimitTests.id(0x30), incarnation: 4, name: "wildcard",
                                     address: PeerAddress(ipv4: [0, 0, 0, 0], port: 7947), tags: Tags(), signature: [3, 3, 3])
    static let wildcardSource = PeerAddress(ipv4: [10, 0, 0, 3], port: 7947)

    static func receive(_ frames: [Frame], from sender: AliveClaim, at source: PeerAddress, node: inout Membership,
                        now: Instant = IncarnationLimitTests.now) -> [MembershipEffect] {
        var effects: [MembershipEffect] = []
        node.receive(PacketBody(sender: sender.id, frames: frames), from: source, now: now, effects: &effects)
        return effects
    }

    static func sentClaims(_ effects: [MembershipEffect]) -> [AliveClaim] {
        effects.flatMap { effect -> [AliveClaim] in
            guard case .send(_, let frames) = effect else { return [] }
            return frames.compactMap { if case .member(.alive(let claim)) = $0 { return claim } else { return nil } }
        }
    }

    @Test("its own claim is kept as signed and reached at the source address; relayed, it is the same bytes")
    func directClaim() {
        var node = Membership(me: Self.me, settings: .profile(.lan), seed: 1, now: IncarnationLimitTests.now)
        _ = Self.receive([.member(.alive(Self.wildcard))], from: Self.wildcard, at: Self.wildcardSource, node: &node)
        let member = node.members[Self.wildcard.id]
        #expect(member?.address == Self.wildcardSource)
        #expect(member?.signedClaim == Self.wildcard)
        let effects = Self.receive([.syncRequest], from: Self.relay, at: Self.relay.address, node: &node)
        #expect(Self.sentClaims(effects).contains(Self.wildcard), "the state exchange relays the claim as signed")
    }

    @Test("relayed, it enters the table with no address; nothing goes to 0.0.0.0; its own packet gives the address")
    func relayedClaim() {
        var node = Membership(me: Self.me, settings: .profile(.lan), seed: 1, now: IncarnationLimitTests.now)
        _ = Self.receive([.member(.alive(Self.relay)), .member(.alive(Self.wildcard))], from: Self.relay, at: Self.relay.address, node: &node)
        #expect(node.members[Self.wildcard.id]?.state == .alive)
        #expect(node.members[Self.wildcard.id]?.isReachable == false)
        var now = IncarnationLimitTests.now
        var effects: [MembershipEffect] = []
        for _ in 0..<200 {
            now = node.nextWake
            node.tick(now: now, effects: &effects)
        }
        for case .send(let address, _) in effects { #expect(!address.isUnspecified, "sent to \(address)") }
        _ = Self.receive([.ping(sequence: 1, target: Self.me.id)], from: Self.wildcard, at: Self.wildcardSource, node: &node, now: now)
        #expect(node.members[Self.wildcard.id]?.address == Self.wildcardSource)
        #expect(node.members[Self.wildcard.id]?.signedClaim == Self.wildcard)
    }

    @Test("a suspect goes out in the state exchange as its own signed claim, not at the suspicion's incarnation")
    func suspectInStateExchange() {
        var node = Membership(me: Self.me, settings: .profile(.lan), seed: 1, now: IncarnationLimitTests.now)
        _ = Self.receive([.member(.alive(Self.relay)), .member(.alive(Self.wildcard))], from: Self.wildcard, at: Self.wildcardSource, node: &node)
        _ = Self.receive([.member(.suspect(subject: Self.wildcard.id, incarnation: 1 << 60, accuser: Self.relay.id))],
                         from: Self.relay, at: Self.relay.address, node: &node)
        #expect(node.members[Self.wildcard.id]?.state == .suspect)
        let effects = Self.receive([.syncRequest], from: Self.relay, at: Self.relay.address, node: &node)
        let relayed = Self.sentClaims(effects).filter { $0.id == Self.wildcard.id }
        #expect(relayed == [Self.wildcard])
    }
}
