import RumorWire

/// Gossip waiting to be piggybacked: at most one update per member (newer news replaces older), sent fewest
/// transmissions first and newest first among equals, each dropped after `limit` transmissions.
///
/// Buckets indexed by transmission count hold stacks of member ids; an id popped whose entry has moved on
/// (replaced or retransmitted) is stale and skipped, which keeps every operation O(1) amortised.
/// SeeAlso: SWIM §4.1 (infection-style dissemination), memberlist's TransmitLimitedQueue.
struct BroadcastQueue: Sendable {
    private struct Entry: Sendable {
        var update: MemberUpdate
        var transmits: Int
        var generation: UInt64
    }

    /// Updates passed over for being too big for the space left in one packet before `take` gives up.
    static let maxSkips = 8

    private var entries: [NodeID: Entry] = [:]
    private var buckets: [[(id: NodeID, generation: UInt64)]] = [[]]
    private var nextGeneration: UInt64 = 0

    var isEmpty: Bool { entries.isEmpty }
    var count: Int { entries.count }

    mutating func enqueue(_ update: MemberUpdate) {
        nextGeneration += 1
        entries[update.subject] = Entry(update: update, transmits: 0, generation: nextGeneration)
        buckets[0].append((update.subject, nextGeneration))
    }

    /// Takes updates that fit in `budget` bytes, counting one transmission for each.
    mutating func take(budget: Int, limit: Int) -> [MemberUpdate] {
        var taken: [MemberUpdate] = []
        var remaining = budget
        var promoted: [(id: NodeID, generation: UInt64, bucket: Int)] = []
        var skipped: [(id: NodeID, generation: UInt64, bucket: Int)] = []
        bucketLoop: for bucket in buckets.indices {
            while let candidate = buckets[bucket].popLast() {
                guard let entry = entries[candidate.id], entry.generation == candidate.generation,
                      entry.transmits == bucket else { continue }
                if entry.transmits >= limit {
                    entries[candidate.id] = nil
                    continue
                }
                let size = Frame.member(entry.update).encodedSize
                guard size <= remaining else {
                    skipped.append((candidate.id, candidate.generation, bucket))
                    // Hunting through the whole queue for an update small enough for the space left would cost
                    // a scan of every queued update per packet; a few tries are enough.
                    if remaining < 48 || skipped.count >= BroadcastQueue.maxSkips { break bucketLoop }
                    continue
                }
                remaining -= size
                taken.append(entry.update)
                let transmits = entry.transmits + 1
                if transmits >= limit {
                    entries[candidate.id] = nil
                } else {
                    entries[candidate.id]?.transmits = transmits
                    promoted.append((candidate.id, candidate.generation, transmits))
                }
            }
        }
        for item in skipped.reversed() { push(item.id, item.generation, into: item.bucket) }
        for item in promoted { push(item.id, item.generation, into: item.bucket) }
        releaseSpareCapacity()
        return taken
    }

    /// Neither an array nor a dictionary gives memory back when it empties: after a burst of news (a thousand
    /// members joining) each bucket kept room for the whole burst, and the entries table too — about 600 bytes
    /// per member, for good. A container down to a quarter of its capacity is copied into one twice its count,
    /// which keeps each copy paid for by the removals before it.
    private mutating func releaseSpareCapacity() {
        for bucket in buckets.indices where Self.isMostlyEmpty(count: buckets[bucket].count, capacity: buckets[bucket].capacity) {
            var smaller: [(id: NodeID, generation: UInt64)] = []
            smaller.reserveCapacity(buckets[bucket].count * 2)
            smaller.append(contentsOf: buckets[bucket])
            buckets[bucket] = smaller
        }
        if Self.isMostlyEmpty(count: entries.count, capacity: entries.capacity) {
            var smaller: [NodeID: Entry] = Dictionary(minimumCapacity: entries.count * 2)
            for (id, entry) in entries { smaller[id] = entry }
            entries = smaller
        }
    }

    private static func isMostlyEmpty(count: Int, capacity: Int) -> Bool { capacity > 64 && count * 4 < capacity }

    /// Room held, in entries and bucket slots: what `releaseSpareCapacity` keeps in proportion (for tests).
    var capacity: (entries: Int, bucketSlots: Int) { (entries.capacity, buckets.reduce(0) { $0 + $1.capacity }) }

    private mutating func push(_ id: NodeID, _ generation: UInt64, into bucket: Int) {
        while buckets.count <= bucket { buckets.append([]) }
        buckets[bucket].append((id, generation))
    }
}
