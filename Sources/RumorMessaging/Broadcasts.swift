import RumorWire

/// Limits and timings of broadcasts (Docs/PROTOCOL.md, "Broadcasts").
public struct BroadcastSettings: Sendable, Equatable {
    /// The largest broadcast: 8 KiB.
    public static let maxSize = 8192

    /// How long a broadcast is kept for members that missed it; a member unreachable for less than this catches
    /// up within a few `syncInterval`s after it is back.
    public var retention: Duration = .seconds(120)
    /// Extra allowance for clocks that disagree between hosts.
    public var clockSkewAllowance: Duration = .seconds(30)
    /// How often a digest of recent broadcasts goes to one random member (anti-entropy).
    public var syncInterval: Duration = .seconds(1)
    /// Forwarders push a new broadcast to max(fanout, ⌈log2(n + 1)⌉) random members; the origin pushes to every
    /// member while there are at most `originPushLimit` of them.
    public var fanout = 3
    public var originPushLimit = 16
    /// Bounds on memory: broadcast keys remembered, and bytes of broadcast bodies kept for catch-up.
    public var maxRemembered = 65_536
    public var maxStoredBytes = 32 << 20

    public init() {}
}

/// Broadcasts as a plain value: de-duplication by (origin, sequence), infection-style forwarding over reliable
/// direct messages, and digest-based anti-entropy. The shell passes the live member ids and wall clock it needs.
public struct Broadcasts: Sendable {
    public let me: NodeID
    public let settings: BroadcastSettings
    public private(set) var counters = BroadcastCounters()

    var nextSequence: UInt64
    var rng: SeededRandomSource
    /// Every broadcast remembered, with its body while it is within the retention window.
    var known: [BroadcastKey: Known] = [:]
    /// Keys in the order they were first seen, for expiry.
    var order: [BroadcastKey] = []
    var orderStart = 0
    var storedBytes = 0
    var nextSyncAt: Instant
    /// True from `join()` until the first digest from a member: until then this node does not know which
    /// broadcasts the mesh had before it joined.
    var awaitingBaseline = false

    struct Known: Sendable {
        var message: BroadcastMessage?
        var firstSeen: Instant
        /// Listed in the first digest this node received after it joined: sent before it was a member, so its
        /// body, when it comes, is kept and passed on but not delivered here.
        var predatesJoin = false
    }

    /// - Parameter firstSequence: the origin's first sequence number; the shell passes its start time in
    ///   microseconds so a restarted node never reuses a sequence.
    public init(me: NodeID, firstSequence: UInt64, seed: UInt64, settings: BroadcastSettings = BroadcastSettings(), now: Instant) {
        self.me = me
        self.settings = settings
        nextSequence = firstSequence
        rng = SeededRandomSource(seed: seed)
        nextSyncAt = now + settings.syncInterval
    }

    /// Marks this node as joining an existing mesh (the shell calls it when it starts with members to join):
    /// broadcasts sent before it joined are not delivered here, as `serf join` does not replay old user events.
    ///
    /// The line between "before" and "after" is drawn without comparing clocks across hosts: the first digest
    /// this node receives from a member lists what the mesh had. Until then its own digests carry the joining
    /// flag, which makes the member answer with its digest ahead of any broadcast it pushes, so that line comes
    /// before the old broadcasts themselves. A broadcast pushed to this node before that first digest is new and
    /// is delivered. A member that was already in the mesh and missed a push still gets it from anti-entropy.
    public mutating func join() {
        awaitingBaseline = true
    }

    public enum BroadcastError: Error, Equatable, Sendable {
        case tooLarge(Int)
    }

    /// Starts a broadcast: delivers it here and pushes it to members.
    /// - Parameter sign: signs the message's `signedBytes` with this node's identity key.
    public mutating func broadcast(_ data: [UInt8], members: [NodeID], wallClockMilliseconds: Int64, now: Instant,
                                   sign: ([UInt8]) -> [UInt8] = { _ in [] },
                                   effects: inout [BroadcastEffect]) -> Result<BroadcastKey, BroadcastError> {
        guard data.count <= BroadcastSettings.maxSize else { return .failure(.tooLarge(data.count)) }
        var message = BroadcastMessage(origin: me, sequence: nextSequence, sentAtMilliseconds: wallClockMilliseconds, data: data)
        message.signature = sign(message.signedBytes)
        nextSequence += 1
        remember(message, now: now)
        effects.append(.deliver(message))
        counters.originated += 1
        let targets = members.count <= settings.originPushLimit ? members.filter { $0 != me } : pick(fanout(members.count), from: members, excluding: [me])
        for target in targets { push(message, to: target, effects: &effects) }
        return .success(message.key)
    }

    /// Handles a broadcast envelope that arrived from `sender`.
    public mutating func receive(_ message: BroadcastMessage, from sender: NodeID, members: [NodeID], wallClockMilliseconds: Int64,
                                 now: Instant, effects: inout [BroadcastEffect]) {
        guard message.data.count <= BroadcastSettings.maxSize else {
            counters.refused += 1
            return
        }
        if let entry = known[message.key] {
            if entry.predatesJoin, entry.message == nil {
                // Sent before this node joined: kept for members that may lack it, neither delivered nor forwarded.
                known[message.key]?.message = message
                known[message.key]?.predatesJoin = false
                storedBytes += message.data.count
                counters.beforeJoin += 1
                evictWhileOverBounds()
            } else {
                counters.duplicates += 1
            }
            return
        }
        let oldest = wallClockMilliseconds - (settings.retention + settings.clockSkewAllowance).nanoseconds / 1_000_000
        guard message.sentAtMilliseconds >= oldest else {
            counters.expired += 1
            return
        }
        remember(message, now: now)
        effects.append(.deliver(message))
        counters.delivered += 1
        for target in pick(fanout(members.count), from: members, excluding: [me, sender, message.origin]) {
            push(message, to: target, effects: &effects)
        }
    }

    /// Handles a digest from `sender`: pushes what it lacks and, when asked and it knows something we lack, replies
    /// with our digest so it pushes that to us.
    ///
    /// A joining sender always gets the reply, and gets it before the pushes: messages from one member arrive in
    /// order, so it learns what predates it before the old broadcasts themselves arrive (see `join()`).
    public mutating func receive(_ digest: BroadcastDigest, from sender: NodeID, now: Instant, effects: inout [BroadcastEffect]) {
        if awaitingBaseline {
            awaitingBaseline = false
            for key in digest.keys where known[key] == nil {
                known[key] = Known(message: nil, firstSeen: now, predatesJoin: true)
                order.append(key)
            }
            evictWhileOverBounds()
        }
        if digest.wantsReply, digest.joining || digest.keys.contains(where: { known[$0] == nil }) {
            sendDigest(to: sender, wantsReply: false, effects: &effects)
        }
        let theirs = Set(digest.keys)
        for key in recentKeys() where !theirs.contains(key) {
            if let message = known[key]?.message { push(message, to: sender, effects: &effects) }
        }
    }

    public var nextWake: Instant { nextSyncAt }

    /// True when this broadcast was seen already (so a copy needs no signature check). A key learned from the
    /// join digest alone is not: its body, when it comes, is still checked.
    public func knows(_ key: BroadcastKey) -> Bool {
        guard let entry = known[key] else { return false }
        return !(entry.predatesJoin && entry.message == nil)
    }

    /// Expires old broadcasts and sends a digest to one random member.
    public mutating func tick(members: [NodeID], now: Instant, effects: inout [BroadcastEffect]) {
        expire(now: now)
        guard now >= nextSyncAt else { return }
        nextSyncAt = now + settings.syncInterval
        if let target = pick(1, from: members, excluding: [me]).first { sendDigest(to: target, wantsReply: true, effects: &effects) }
    }

    // MARK: - Sending

    /// Sends a copy of a broadcast to one member (counted apart from users' direct messages: it is this layer's).
    mutating func push(_ message: BroadcastMessage, to member: NodeID, effects: inout [BroadcastEffect]) {
        effects.append(.send(to: member, envelope: .broadcast(message)))
        counters.pushed += 1
    }

    mutating func sendDigest(to member: NodeID, wantsReply: Bool, effects: inout [BroadcastEffect]) {
        let digest = BroadcastDigest(wantsReply: wantsReply, keys: recentKeys(), joining: awaitingBaseline)
        effects.append(.send(to: member, envelope: .digest(digest)))
        counters.digests += 1
    }

    // MARK: - Memory

    mutating func remember(_ message: BroadcastMessage, now: Instant) {
        known[message.key] = Known(message: message, firstSeen: now)
        order.append(message.key)
        storedBytes += message.data.count
        evictWhileOverBounds()
    }

    mutating func evictWhileOverBounds() {
        while known.count > settings.maxRemembered || storedBytes > settings.maxStoredBytes, orderStart < order.count {
            forgetOldest()
        }
    }

    mutating func forgetOldest() {
        let key = order[orderStart]
        orderStart += 1
        if let entry = known.removeValue(forKey: key), let message = entry.message { storedBytes -= message.data.count }
        counters.evicted += 1
        compactOrder()
    }

    /// Bodies leave after `retention`; keys stay twice as long (plus the clock allowance) so a late copy is
    /// still recognised as a duplicate.
    mutating func expire(now: Instant) {
        let keyLifetime = settings.retention * 2 + settings.clockSkewAllowance
        while orderStart < order.count, let entry = known[order[orderStart]], now - entry.firstSeen > keyLifetime {
            known[order[orderStart]] = nil
            if let message = entry.message { storedBytes -= message.data.count }
            orderStart += 1
        }
        // Drop bodies past retention (keys stay).
        for index in orderStart..<order.count {
            let key = order[index]
            guard let entry = known[key] else { continue }
            guard now - entry.firstSeen > settings.retention else { break }
            if let message = entry.message {
                storedBytes -= message.data.count
                known[key]?.message = nil
            }
        }
        compactOrder()
    }

    mutating func compactOrder() {
        if orderStart > 4096, orderStart * 2 > order.count {
            order.removeFirst(orderStart)
            orderStart = 0
        }
    }

    /// Keys of the newest broadcasts whose bodies are still kept, at most `BroadcastDigest.maxKeys`.
    func recentKeys() -> [BroadcastKey] {
        var keys: [BroadcastKey] = []
        var index = order.count - 1
        while index >= orderStart, keys.count < BroadcastDigest.maxKeys {
            let key = order[index]
            if known[key]?.message != nil { keys.append(key) }
            index -= 1
        }
        return keys
    }

    func fanout(_ memberCount: Int) -> Int {
        var log2 = 0
        while (1 << log2) < memberCount + 1 { log2 += 1 }
        return max(settings.fanout, log2)
    }

    mutating func pick(_ count: Int, from members: [NodeID], excluding: Set<NodeID>) -> [NodeID] {
        var candidates = members.filter { !excluding.contains($0) }
        guard candidates.count > count else { return candidates }
        var chosen: [NodeID] = []
        for _ in 0..<count {
            let index = Int(rng.next() % UInt64(candidates.count))
            chosen.append(candidates.remove(at: index))
        }
        return chosen
    }
}

public enum BroadcastEffect: Sendable, Equatable {
    /// Send this envelope reliably (as a direct message) to a member.
    case send(to: NodeID, envelope: Envelope)
    /// Deliver this broadcast to this node's consumers (exactly once).
    case deliver(BroadcastMessage)
}

public struct BroadcastCounters: Sendable, Equatable {
    public var originated = 0
    public var delivered = 0
    public var duplicates = 0
    public var expired = 0
    public var refused = 0
    public var evicted = 0
    /// Copies of broadcasts sent to members (the origin's, forwarders' and anti-entropy's pushes).
    public var pushed = 0
    /// Digests sent (anti-entropy), periodic and in reply.
    public var digests = 0
    /// Broadcasts sent before this node joined the mesh: received and kept for anti-entropy, not delivered.
    public var beforeJoin = 0
}

/// SplitMix64: small and deterministic, enough to pick forwarding targets.
struct SeededRandomSource: Sendable {
    var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
