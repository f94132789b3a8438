import RumorWire

/// Direct messages as a plain value: split into fragments, acknowledged by a bitmap, retransmitted with
/// exponential backoff until a deadline, reassembled, de-duplicated and delivered exactly once and in the
/// order one sender sent them to one receiver.
///
/// Like the membership core it never reads a clock or touches a socket: calls take `now` and append effects.
public struct DirectMessaging: Sendable {
    public let me: NodeID
    /// This run's epoch (the shell passes its start time in nanoseconds): a restarted sender numbers its
    /// messages afresh under a larger epoch, and receivers start a new stream for it.
    public let epoch: UInt64
    public let settings: MessagingSettings
    public private(set) var counters = MessagingCounters()

    var outbound: [NodeID: OutboundStream] = [:]
    var inbound: [NodeID: InboundStream] = [:]
    var reassemblyBytes = 0

    public init(me: NodeID, epoch: UInt64, settings: MessagingSettings = MessagingSettings()) {
        self.me = me
        self.epoch = epoch
        self.settings = settings
    }

    public enum SendError: Error, Equatable, Sendable {
        case tooLarge(Int)
        case queueFull
    }

    // MARK: - Sending

    /// Queues `payload` for `peer`; `.completed(token, …)` reports the outcome by `deadline` at the latest.
    public mutating func send(_ payload: [UInt8], to peer: NodeID, token: UInt64, deadline: Instant, now: Instant,
                              effects: inout [MessagingEffect]) -> Result<Void, SendError> {
        guard payload.count <= MessagingSettings.maxMessageSize else { return .failure(.tooLarge(payload.count)) }
        guard outbound[peer]?.messages.count ?? 0 < settings.maxInFlightPerPeer + settings.maxQueuedPerPeer else { return .failure(.queueFull) }
        // Changed in place, here and below (or taken out of the table while it changes): a copy left in the table
        // would make every change copy the stream's whole message list (copy-on-write), per fragment and per ack.
        outbound[peer, default: OutboundStream()].enqueue(token: token, payload: payload, deadline: deadline)
        pump(peer, now: now, effects: &effects)
        return .success(())
    }

    /// Starts as many queued messages as the in-flight limit allows.
    mutating func pump(_ peer: NodeID, now: Instant, effects: inout [MessagingEffect]) {
        guard var stream = outbound.removeValue(forKey: peer) else { return }
        let floor = stream.floor
        // Counted by index: a `prefix(while:)` slice would hold the array and make the changes below copy it whole.
        var inFlight = 0
        while inFlight < stream.messages.count, stream.messages[inFlight].started { inFlight += 1 }
        var index = inFlight
        while inFlight < settings.maxInFlightPerPeer, index < stream.messages.count {
            stream.messages[index].started = true
            stream.messages[index].retransmitAt = now + settings.initialRetransmitDelay
            stream.messages[index].delay = settings.initialRetransmitDelay
            emitFragments(of: stream.messages[index], floor: floor, to: peer, effects: &effects)
            if stream.messages[index].isUserMessage { counters.messagesSent += 1 }
            inFlight += 1
            index += 1
        }
        outbound[peer] = stream
    }

    func emitFragments(of message: Outgoing, floor: UInt64, to peer: NodeID, effects: inout [MessagingEffect]) {
        let total = message.payload.count
        let count = message.fragmentCount
        let chunk = Outgoing.chunkSize(total: total, count: count)
        for index in 0..<count where message.acked & (1 << UInt64(index)) == 0 {
            let start = index * chunk
            let end = min(total, start + chunk)
            let fragment = MessageFragment(epoch: epoch, messageID: message.id, floor: floor, totalLength: UInt32(total),
                                           index: UInt8(index), count: UInt8(count), chunk: message.payload[start..<end])
            effects.append(.send(to: peer, frame: .message(fragment)))
        }
    }

    /// Handles an acknowledgement from `peer`.
    public mutating func receive(_ ack: MessageAck, from peer: NodeID, now: Instant, effects: inout [MessagingEffect]) {
        if ack.messageID == FloorNotice.messageID {
            // The answer to a floor notice carries the receiver's next id to deliver, not a bitmap.
            if ack.epoch == epoch, var stream = outbound[peer], let notice = stream.floorNotice, ack.received >= notice.floor {
                stream.floorNotice = nil
                stream.announcedFloor = max(stream.announcedFloor, ack.received)
                outbound[peer] = stream
            }
            return
        }
        guard ack.epoch == epoch, outbound[peer]?.messages.contains(where: { $0.id == ack.messageID }) == true,
              var stream = outbound.removeValue(forKey: peer),
              let index = stream.messages.firstIndex(where: { $0.id == ack.messageID }) else { return }
        stream.messages[index].acked |= ack.received
        if stream.messages[index].acked & stream.messages[index].fullMask == stream.messages[index].fullMask {
            let done = stream.messages.remove(at: index)
            effects.append(.completed(token: done.token, outcome: .acknowledged))
            if done.isUserMessage { counters.messagesAcknowledged += 1 }
            // The floor may have passed a message given up while this one was still in flight.
            stream.announceFloorIfNeeded(now: now, settings: settings)
        }
        outbound[peer] = stream
        pump(peer, now: now, effects: &effects)
    }

    // MARK: - Receiving

    /// Handles one fragment from `peer`: acknowledges what is held, delivers what is complete and in order.
    public mutating func receive(_ fragment: MessageFragment, from peer: NodeID, now: Instant, effects: inout [MessagingEffect]) {
        let total = Int(fragment.totalLength)
        let count = Int(fragment.count)
        // Ids and floors stop below 2^64-1, so that the next id to deliver never has to step past it (a sender
        // numbers its messages from 1 and cannot get there). A floor notice carries no bytes.
        guard total <= MessagingSettings.maxMessageSize, count == Outgoing.fragmentCount(total: total),
              fragment.chunk.count == Outgoing.chunkLength(total: total, count: count, index: Int(fragment.index)),
              fragment.messageID < .max, fragment.floor < .max, fragment.messageID != FloorNotice.messageID || total == 0 else {
            counters.malformedFragments += 1
            return
        }
        var stream = inbound.removeValue(forKey: peer) ?? InboundStream(epoch: fragment.epoch)
        // Put back on every way out (out of the table while it changes: see `send`).
        defer { inbound[peer] = stream }
        if fragment.epoch < stream.epoch {
            counters.staleFragments += 1
            return
        }
        if fragment.epoch > stream.epoch {
            releaseAll(&stream)
            stream = InboundStream(epoch: fragment.epoch)
        }
        let ackFrame: (UInt64) -> Frame = { received in
            .messageAck(MessageAck(epoch: fragment.epoch, messageID: fragment.messageID, received: received))
        }
        if fragment.floor > stream.nextDeliver {
            // The sender finished everything below its floor: complete messages there were acknowledged and are
            // delivered now, in order; incomplete ones were given up by the sender and are dropped.
            for id in stream.partial.keys.filter({ $0 < fragment.floor }).sorted() {
                guard let assembly = stream.partial[id] else { continue }
                release(id, from: &stream)
                if assembly.isComplete { deliver(assembly.buffer, from: peer, effects: &effects) }
            }
            stream.nextDeliver = fragment.floor
        }
        if fragment.messageID == FloorNotice.messageID {
            deliverReady(&stream, from: peer, effects: &effects)
            effects.append(.send(to: peer, frame: .messageAck(MessageAck(epoch: fragment.epoch, messageID: FloorNotice.messageID,
                                                                          received: stream.nextDeliver))))
            return
        }
        if fragment.messageID < stream.nextDeliver {
            counters.duplicateFragments += 1
            effects.append(.send(to: peer, frame: ackFrame(Outgoing.fullMask(count: count))))
            deliverReady(&stream, from: peer, effects: &effects)
            return
        }
        guard fragment.messageID - stream.nextDeliver < settings.maxAheadPerPeer else {
            counters.reassemblyRefused += 1
            return
        }
        var assembly: Reassembly
        if let existing = stream.partial[fragment.messageID] {
            guard existing.total == total, existing.count == count else {
                counters.malformedFragments += 1
                return
            }
            // Out of the table while its buffer changes, or the buffer (up to 64 KiB) is copied per fragment.
            stream.partial[fragment.messageID] = nil
            assembly = existing
        } else {
            // The next message to deliver is never refused for the sender's own budget: later messages held whole
            // or in part would otherwise wait for it while it waited for their room, until its deadline (a sender
            // with 32 large messages in flight wedged so). It adds at most one message to the sender's bound.
            let isNext = fragment.messageID == stream.nextDeliver
            guard isNext || stream.bytes + total <= settings.maxReassemblyBytesPerPeer,
                  reassemblyBytes + total <= settings.maxReassemblyBytesTotal else {
                counters.reassemblyRefused += 1
                return
            }
            assembly = Reassembly(total: total, count: count)
            stream.bytes += total
            reassemblyBytes += total
        }
        let bit: UInt64 = 1 << UInt64(fragment.index)
        if assembly.received & bit == 0 {
            let offset = Int(fragment.index) * Outgoing.chunkSize(total: total, count: count)
            assembly.buffer.replaceSubrange(offset..<(offset + fragment.chunk.count), with: fragment.chunk)
            assembly.received |= bit
        } else {
            counters.duplicateFragments += 1
        }
        stream.partial[fragment.messageID] = assembly
        effects.append(.send(to: peer, frame: ackFrame(assembly.received)))
        deliverReady(&stream, from: peer, effects: &effects)
    }

    mutating func deliverReady(_ stream: inout InboundStream, from peer: NodeID, effects: inout [MessagingEffect]) {
        while let next = stream.partial[stream.nextDeliver], next.isComplete {
            release(stream.nextDeliver, from: &stream)
            deliver(next.buffer, from: peer, effects: &effects)
            stream.nextDeliver += 1
        }
    }

    mutating func deliver(_ payload: [UInt8], from peer: NodeID, effects: inout [MessagingEffect]) {
        effects.append(.deliver(from: peer, payload: payload))
        if Envelope.isUserMessage(payload) { counters.messagesDelivered += 1 }
    }

    mutating func release(_ id: UInt64, from stream: inout InboundStream) {
        guard let assembly = stream.partial.removeValue(forKey: id) else { return }
        stream.bytes -= assembly.total
        reassemblyBytes -= assembly.total
    }

    mutating func releaseAll(_ stream: inout InboundStream) {
        for id in stream.partial.keys { release(id, from: &stream) }
    }

    /// Forgets a peer's inbound state (the peer left or was reaped), freeing its reassembly memory.
    public mutating func forget(_ peer: NodeID) {
        if var stream = inbound.removeValue(forKey: peer) { releaseAll(&stream) }
    }

    // MARK: - Timers

    public var nextWake: Instant {
        var wake = Instant.distantFuture
        for stream in outbound.values {
            if let notice = stream.floorNotice { wake = min(wake, notice.retransmitAt) }
            for message in stream.messages {
                wake = min(wake, message.deadline)
                if message.started { wake = min(wake, message.retransmitAt) }
            }
        }
        return wake
    }

    /// Retransmits what is due and fails what is past its deadline.
    public mutating func tick(now: Instant, effects: inout [MessagingEffect]) {
        for peer in Array(outbound.keys) {
            guard var stream = outbound.removeValue(forKey: peer) else { continue }
            var changed = false
            stream.messages.removeAll { message in
                guard message.deadline <= now else { return false }
                effects.append(.completed(token: message.token, outcome: .timedOut))
                if message.isUserMessage { counters.messagesTimedOut += 1 }
                stream.highestGivenUp = max(stream.highestGivenUp, message.id)
                changed = true
                return true
            }
            let floor = stream.floor
            stream.announceFloorIfNeeded(now: now, settings: settings)
            if let notice = stream.floorNotice, notice.retransmitAt <= now {
                if notice.expiresAt <= now {
                    // Unconfirmed for the whole lifetime: the next message's fragments carry the floor anyway.
                    stream.floorNotice = nil
                    stream.announcedFloor = notice.floor
                } else {
                    effects.append(.send(to: peer, frame: .message(notice.fragment(epoch: epoch))))
                    stream.floorNotice?.retransmitAt = now + notice.delay
                    stream.floorNotice?.delay = min(notice.delay * 2, settings.maxRetransmitDelay)
                }
            }
            for index in stream.messages.indices where stream.messages[index].started && stream.messages[index].retransmitAt <= now {
                emitFragments(of: stream.messages[index], floor: floor, to: peer, effects: &effects)
                counters.retransmissions += 1
                let delay = min(stream.messages[index].delay * 2, settings.maxRetransmitDelay)
                stream.messages[index].delay = delay
                stream.messages[index].retransmitAt = now + delay
            }
            outbound[peer] = stream
            if changed { pump(peer, now: now, effects: &effects) }
        }
    }
}

/// What the messaging core asks its shell to do.
public enum MessagingEffect: Sendable, Equatable {
    case send(to: NodeID, frame: Frame)
    case deliver(from: NodeID, payload: [UInt8])
    case completed(token: UInt64, outcome: SendOutcome)
}

public enum SendOutcome: Sendable, Equatable {
    case acknowledged
    case timedOut
}

/// What the messaging core did, for `rumor status`.
///
/// The four `messages…` counters count users' direct messages only (payloads whose envelope is `.direct`): the
/// broadcast pushes, digests and key requests that also travel as direct messages are the node's own traffic,
/// and counting them made an idle mesh look busy. The fragment counters cover every message.
public struct MessagingCounters: Sendable, Equatable {
    public var messagesSent = 0
    public var messagesAcknowledged = 0
    public var messagesTimedOut = 0
    public var messagesDelivered = 0
    public var retransmissions = 0
    public var duplicateFragments = 0
    public var staleFragments = 0
    public var malformedFragments = 0
    public var reassemblyRefused = 0
}

struct OutboundStream: Sendable {
    var nextID: UInt64 = 1
    /// Unfinished messages in id order; the first `started` ones are in flight.
    var messages: [Outgoing] = []

    mutating func enqueue(token: UInt64, payload: [UInt8], deadline: Instant) {
        messages.append(Outgoing(id: nextID, token: token, payload: payload, deadline: deadline))
        nextID += 1
    }

    /// Every id below this is finished (acknowledged or given up).
    var floor: UInt64 { messages.first?.id ?? nextID }
    /// The highest id given up (0 for none), and the floor the receiver confirmed or was last told for good.
    var highestGivenUp: UInt64 = 0
    var announcedFloor: UInt64 = 1

    /// Starts a floor notice when the floor has passed a given-up message the receiver has not been told about —
    /// at the give-up itself, or later, when the earlier messages it was waiting behind finish. The receiver may
    /// hold messages above the given-up one, acknowledged and waiting for it: it learns the new floor now, not
    /// with the next message, which may never come.
    mutating func announceFloorIfNeeded(now: Instant, settings: MessagingSettings) {
        let target = floor
        guard highestGivenUp >= announcedFloor, target > (floorNotice?.floor ?? announcedFloor) else { return }
        floorNotice = FloorNotice(floor: target, retransmitAt: now, delay: settings.initialRetransmitDelay,
                                  expiresAt: now + settings.floorNoticeLifetime)
    }
    /// Set when messages were given up, until the receiver confirms it settled everything below the floor.
    var floorNotice: FloorNotice?
}

/// Tells a receiver the sender's floor after it gave messages up: a fragment of the reserved id 0, with no bytes,
/// retransmitted like a message until the receiver answers that its next id to deliver reached the floor. Without
/// it, a message acknowledged after an earlier one that was then given up waits at the receiver until the sender's
/// next message — forever if there is none. Docs/PROTOCOL.md, "Floor notices".
struct FloorNotice: Sendable {
    /// Senders number messages from 1; id 0 is never a message.
    static let messageID: UInt64 = 0

    var floor: UInt64
    var retransmitAt: Instant
    var delay: Duration
    var expiresAt: Instant

    func fragment(epoch: UInt64) -> MessageFragment {
        MessageFragment(epoch: epoch, messageID: FloorNotice.messageID, floor: floor, totalLength: 0, index: 0, count: 1, chunk: [])
    }
}

struct Outgoing: Sendable {
    var id: UInt64
    var token: UInt64
    var payload: [UInt8]
    var deadline: Instant
    var started = false
    var acked: UInt64 = 0
    var retransmitAt = Instant.distantFuture
    var delay: Duration = .zero

    init(id: UInt64, token: UInt64, payload: [UInt8], deadline: Instant) {
        self.id = id
        self.token = token
        self.payload = payload
        self.deadline = deadline
    }

    /// A user's direct message, as opposed to the node's own traffic (see `MessagingCounters`).
    var isUserMessage: Bool { Envelope.isUserMessage(payload) }
    var fragmentCount: Int { Outgoing.fragmentCount(total: payload.count) }
    var fullMask: UInt64 { Outgoing.fullMask(count: fragmentCount) }

    static func fragmentCount(total: Int) -> Int {
        max(1, (total + MessagingSettings.maxChunkSize - 1) / MessagingSettings.maxChunkSize)
    }

    /// Fragments are of equal size but the last: ⌈total / count⌉ bytes each.
    static func chunkSize(total: Int, count: Int) -> Int { count == 0 ? 0 : (total + count - 1) / count }

    static func chunkLength(total: Int, count: Int, index: Int) -> Int {
        let chunk = chunkSize(total: total, count: count)
        return max(0, min(chunk, total - index * chunk))
    }

    static func fullMask(count: Int) -> UInt64 { count >= 64 ? UInt64.max : (1 << UInt64(count)) - 1 }
}

struct InboundStream: Sendable {
    var epoch: UInt64
    var nextDeliver: UInt64 = 1
    var partial: [UInt64: Reassembly] = [:]
    var bytes = 0
}

struct Reassembly: Sendable {
    var total: Int
    var count: Int
    var received: UInt64 = 0
    var buffer: [UInt8]

    init(total: Int, count: Int) {
        self.total = total
        self.count = count
        buffer = [UInt8](repeating: 0, count: total)
    }

    var isComplete: Bool { received == Outgoing.fullMask(count: count) }
}
