import Rumor
import Testing

/// `RumorNode.ping` between two real nodes on 127.0.0.1.
@Suite(.serialized) struct PingTests {
    @Test func aPingReturnsTheRoundTripAndAnUnknownOrSilentPeerThrows() async throws {
        let home = try TemporaryHome()
        let a = try startNode("a", home: home)
        let b = try startNode("b", home: home, join: [a.listenAddress])
        for node in [a, b] { try await node.waitForAlive(2, timeout: .seconds(10)) }

        let byName = try await a.ping("b", timeout: .seconds(5))
        #expect(byName > .zero)
        #expect(byName < .seconds(5))
        let byPrefix = try await b.ping(String(a.id.hex.prefix(10)), timeout: .seconds(5))
        #expect(byPrefix > .zero)
        #expect(try await a.ping("a") == .zero, "a ping to itself needs no round trip")
        await #expect(throws: RumorError.unknownPeer("nobody")) { try await a.ping("nobody") }
        await #expect(throws: RumorError.emptyPeer) { try await a.ping("") }

        // b stops without a goodbye: a still lists it, and its ping times out.
        await b.stop()
        do {
            let roundTrip = try await a.ping("b", timeout: .milliseconds(300))
            Issue.record("a stopped node answered a ping in \(roundTrip)")
        } catch {
            guard case .timedOut = error else {
                Issue.record("expected a timeout, got \(error)")
                return
            }
        }
        await a.stop()
    }
}
