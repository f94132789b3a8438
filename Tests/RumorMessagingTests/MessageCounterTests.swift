import RumorMessaging
import RumorWire
import Testing

/// `rumor status` shows `messages.sent`, `acknowledged`, `timed_out` and `delivered`: users' direct messages.
/// Broadcast pushes, digests and key requests ride the same reliable messages, and must not move them.
@Suite struct MessageCounterTests {
    static let digest = Envelope.digest(BroadcastDigest(wantsReply: true, keys: [BroadcastKey(origin: testID(9), sequence: 4)]))
    static let push = Envelope.broadcast(BroadcastMessage(origin: testID(9), sequence: 4, sentAtMilliseconds: 1, data: Array("news".utf8)))
    static let keyRequest = Envelope.keyRequest(KeyRequest(id: 3, action: .list))

    @Test func theNodesOwnTrafficMovesNoMessageCounter() throws {
        var pair = MessagingPair(loss: 0, seed: 1)
        for (token, envelope) in [Self.digest, Self.push, Self.keyRequest].enumerated() {
            try pair.send(envelope.encode(), token: UInt64(token)).get()
        }
        pair.run(until: .seconds(10))
        #expect(pair.deliveredToB.count == 3, "the envelopes themselves are delivered")
        #expect(pair.outcomes.values.allSatisfy { $0 == .acknowledged })
        #expect(pair.a.counters.messagesSent == 0)
        #expect(pair.a.counters.messagesAcknowledged == 0)
        #expect(pair.b.counters.messagesDelivered == 0)
    }

    @Test func oneUsersMessageMovesEachCounterByOne() throws {
        var pair = MessagingPair(loss: 0, seed: 2)
        try pair.send(Self.digest.encode(), token: 1).get()
        try pair.send(Envelope.direct(Array("hello".utf8)).encode(), token: 2).get()
        try pair.send(Self.push.encode(), token: 3).get()
        pair.run(until: .seconds(10))
        #expect(pair.a.counters.messagesSent == 1)
        #expect(pair.a.counters.messagesAcknowledged == 1)
        #expect(pair.a.counters.messagesTimedOut == 0)
        #expect(pair.b.counters.messagesDelivered == 1)
    }

    @Test func onlyAUsersMessageThatTimesOutCountsAsTimedOut() throws {
        // Everything is lost: both messages time out.
        var pair = MessagingPair(loss: 1, seed: 3)
        try pair.send(Self.digest.encode(), token: 1, timeout: .seconds(2)).get()
        try pair.send(Envelope.direct(Array("hello".utf8)).encode(), token: 2, timeout: .seconds(2)).get()
        pair.run(until: .seconds(10))
        #expect(pair.outcomes == [1: .timedOut, 2: .timedOut])
        #expect(pair.a.counters.messagesSent == 1)
        #expect(pair.a.counters.messagesTimedOut == 1)
        #expect(pair.a.counters.retransmissions > 0, "retransmission rounds count every message")
    }
}
