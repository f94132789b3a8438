import RumorWire

/// Frames bound for each peer during one turn of effects, in first-seen order, to be sent as few packets as
/// possible. The node keeps one between turns, so grouping frames allocates nothing once warm.
struct PacketPacking {
    var slots: [(peer: NodeID, frames: [Frame], size: Int)] = []
    var used = 0
    var index: [NodeID: Int] = [:]

    mutating func slot(for peer: NodeID) -> Int {
        if let slot = index[peer] { return slot }
        if used == slots.count { slots.append((peer, [], 0)) } else { slots[used].peer = peer }
        index[peer] = used
        used += 1
        return used - 1
    }

    mutating func reset() {
        for slot in 0..<used {
            slots[slot].frames.removeAll(keepingCapacity: true)
            slots[slot].size = 0
        }
        used = 0
        index.removeAll(keepingCapacity: true)
    }
}
