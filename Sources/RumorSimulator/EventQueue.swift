import RumorWire

/// What the simulation does at one instant: hand a datagram to a node, or wake a node's timers.
struct ScheduledEvent {
    enum Kind {
        case delivery(from: Int, to: Int, bytes: [UInt8])
        /// Stale unless `generation` still matches the node's: a wake re-planned earlier supersedes it.
        case wake(node: Int, generation: UInt64)
    }

    var time: Instant
    /// Ties at one instant run in the order they were scheduled, which makes the run a function of the seed.
    var order: UInt64
    var kind: Kind

    func precedes(_ other: ScheduledEvent) -> Bool {
        time != other.time ? time < other.time : order < other.order
    }
}

/// A binary min-heap of events by (time, order).
struct EventQueue {
    private var heap: [ScheduledEvent] = []
    private var nextOrder: UInt64 = 0

    var count: Int { heap.count }
    var nextTime: Instant? { heap.first?.time }

    mutating func schedule(_ kind: ScheduledEvent.Kind, at time: Instant) {
        nextOrder += 1
        heap.append(ScheduledEvent(time: time, order: nextOrder, kind: kind))
        var child = heap.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard heap[child].precedes(heap[parent]) else { break }
            heap.swapAt(child, parent)
            child = parent
        }
    }

    mutating func popFirst() -> ScheduledEvent? {
        guard !heap.isEmpty else { return nil }
        heap.swapAt(0, heap.count - 1)
        let first = heap.removeLast()
        var parent = 0
        let count = heap.count
        while true {
            let left = 2 * parent + 1
            guard left < count else { break }
            let right = left + 1
            let child = right < count && heap[right].precedes(heap[left]) ? right : left
            guard heap[child].precedes(heap[parent]) else { break }
            heap.swapAt(child, parent)
            parent = child
        }
        return first
    }
}
