import Testing
@testable import RumorMembership
import RumorWire

/// After a burst of news — a thousand members joining at once — the gossip queue drains, and the memory it
/// needed for the burst must go with it: a node that once saw a big join must not hold room for it forever.
@Suite("Membership: the gossip queue gives back memory after a burst")
struct GossipQueueMemoryTests {
    static func update(_ index: Int) -> MemberUpdate {
        .alive(PeerTableBoundTests.claim(index))
    }

    @Test("1,000 updates sent to their limit leave the queue holding room for a handful, not a thousand")
    func drainedQueueShrinks() {
        var queue = BroadcastQueue()
        for index in 0..<1_000 { queue.enqueue(Self.update(index)) }
        let burst = queue.capacity
        #expect(burst.entries >= 1_000)
        #expect(burst.bucketSlots >= 1_000)
        let limit = 12
        var sent = 0
        for _ in 0..<10_000 where !queue.isEmpty { sent += queue.take(budget: PacketBody.maxFramesSize, limit: limit).count }
        #expect(queue.isEmpty)
        #expect(sent == 1_000 * limit)
        let after = queue.capacity
        #expect(after.entries <= 64, "the entries table kept room for \(after.entries)")
        // Each of the `limit` buckets may keep a small array; none keeps room for the burst.
        #expect(after.bucketSlots <= 64 * (limit + 1), "the buckets kept room for \(after.bucketSlots)")
    }

    @Test("a queue shrunk while it drains still sends every update to its limit, news before repeats")
    func shrinkingKeepsOrderAndContent() {
        var queue = BroadcastQueue()
        let limit = 3
        for index in 0..<400 { queue.enqueue(Self.update(index)) }
        var transmissions = 0
        // Until every update went out once (all in bucket 1 or beyond), shrinking the buckets on the way.
        var seen = Set<NodeID>()
        for _ in 0..<1_000 where seen.count < 400 {
            let taken = queue.take(budget: PacketBody.maxFramesSize, limit: limit)
            transmissions += taken.count
            seen.formUnion(taken.map(\.subject))
        }
        #expect(seen.count == 400)
        // News enqueued now goes out before anything already sent.
        let late = Set((400..<410).map { PeerTableBoundTests.claim($0).id })
        for index in 400..<410 { queue.enqueue(Self.update(index)) }
        let next = queue.take(budget: PacketBody.maxFramesSize, limit: limit).map(\.subject)
        transmissions += next.count
        #expect(next.count >= 5)
        #expect(next.prefix(10).allSatisfy { late.contains($0) })
        for _ in 0..<1_000 where !queue.isEmpty { transmissions += queue.take(budget: PacketBody.maxFramesSize, limit: limit).count }
        #expect(transmissions == 410 * limit)
    }
}
