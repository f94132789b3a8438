import Rumor
import RumorMessaging
import RumorWire
import Testing

/// `rumor status` reports `messages.*` as users' direct messages: an idle mesh, busy only with its own digests,
/// must not look like one exchanging messages.
@Suite(.serialized) struct StatusCounterTests {
    /// Polls `status` until `condition` holds, for at most `timeout`; the last status seen either way.
    func status(of node: RumorNode, within timeout: Duration, until condition: (NodeStatus) -> Bool) async throws -> NodeStatus {
        let deadline = ContinuousClock.now + timeout
        while true {
            let status = try #require(await node.status())
            if condition(status) || ContinuousClock.now >= deadline { return status }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    @Test func anIdleMeshsDigestsMoveNoMessageCounterAndOneSendMovesThemByOne() async throws {
        let home = try TemporaryHome()
        func start(_ name: String, join: [PeerAddress]) throws -> RumorNode {
            var configuration = NodeConfiguration(name: name, home: home.path)
            configuration.profile = .local
            // Digests every 50 ms: twenty anti-entropy rounds a second, each a reliable message each way.
            configuration.broadcastSettings.syncInterval = .milliseconds(50)
            configuration.join = join.map { Endpoint(host: $0.host, port: $0.port) }
            return try RumorNode.start(configuration)
        }
        let a = try start("a", join: [])
        let b = try start("b", join: [a.listenAddress])
        for node in [a, b] { try await node.waitForAlive(2, timeout: .seconds(10)) }

        let beforeA = try #require(await a.status())
        let beforeB = try #require(await b.status())
        // Wait for the event that matters — many digests sent and acknowledged — not for a fixed time.
        let idleA = try await status(of: a, within: .seconds(10)) { $0.broadcasts.digests >= beforeA.broadcasts.digests + 10 }
        let idleB = try await status(of: b, within: .seconds(10)) { $0.broadcasts.digests >= beforeB.broadcasts.digests + 10 }
        #expect(idleA.broadcasts.digests >= beforeA.broadcasts.digests + 10, "a sent too few digests to prove anything")
        #expect(idleB.broadcasts.digests >= beforeB.broadcasts.digests + 10, "b sent too few digests to prove anything")
        for (before, idle) in [(beforeA, idleA), (beforeB, idleB)] {
            #expect(idle.messaging.messagesSent == before.messaging.messagesSent)
            #expect(idle.messaging.messagesAcknowledged == before.messaging.messagesAcknowledged)
            #expect(idle.messaging.messagesDelivered == before.messaging.messagesDelivered)
            #expect(idle.messaging.messagesTimedOut == before.messaging.messagesTimedOut)
        }

        try await a.send(Array("one".utf8), to: "b", timeout: .seconds(5))
        let afterB = try await status(of: b, within: .seconds(5)) { $0.messaging.messagesDelivered > idleB.messaging.messagesDelivered }
        let afterA = try #require(await a.status())
        #expect(afterA.messaging.messagesSent == idleA.messaging.messagesSent + 1)
        #expect(afterA.messaging.messagesAcknowledged == idleA.messaging.messagesAcknowledged + 1)
        #expect(afterB.messaging.messagesDelivered == idleB.messaging.messagesDelivered + 1)
        #expect(afterA.messaging.messagesDelivered == idleA.messaging.messagesDelivered)
        #expect(afterB.messaging.messagesSent == idleB.messaging.messagesSent)
        await a.stop()
        await b.stop()
    }
}
