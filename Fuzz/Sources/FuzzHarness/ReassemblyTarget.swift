@testable import RumorMessaging
import RumorWire

/// Fragment reassembly in `DirectMessaging`. The first byte picks one of two worlds:
///
/// - even: a real sender and a receiver on a network the input controls (loss, duplication, reordering, time,
///   sender restarts). Every frame crosses the wire codec. The receiver MUST deliver only what was sent, each
///   message at most once and in the order sent, skipping a message only once the sender gave it up; a message
///   the sender saw acknowledged MUST be held whole by the receiver; and once the network is reliable, every
///   message with time left before its deadline MUST be acknowledged.
/// - odd: a receiver fed fragments from three peers, decoded from the input or made from fuzz fields. Its
///   memory accounting MUST add up and stay within its bounds, no payload may exceed the largest message, a
///   stream's next id MUST NOT go back, and one fragment MUST NOT deliver more messages than ids it passed.
public enum ReassemblyTarget: FuzzTarget {
    public static let name = "reassembly"
    static let sender = Samples.id(0x51)
    static let receiver = Samples.id(0x52)
    static let maxOps = 96

    public static func run(_ input: [UInt8]) throws(Violation) {
        var input = FuzzInput(input)
        if input.bool() {
            try runAdversarial(&input)
        } else {
            var world = MessagingWorld()
            var ops = 0
            while !input.isAtEnd, ops < maxOps {
                ops += 1
                try world.step(&input)
            }
            try world.heal()
        }
    }

    /// A payload length: small, around a fragment boundary, anything up to the limit, or the limit.
    static func length(_ input: inout FuzzInput) -> Int {
        switch input.below(4) {
        case 0: return Int(input.byte())
        case 1: return max(0, MessagingSettings.maxChunkSize * (1 + input.below(4)) + Int(Int8(bitPattern: input.byte())))
        case 2: return Int(input.uint16()) % (MessagingSettings.maxUserMessageSize + 1)
        default: return MessagingSettings.maxUserMessageSize
        }
    }

    // MARK: - Adversarial fragments

    static func runAdversarial(_ input: inout FuzzInput) throws(Violation) {
        var core = DirectMessaging(me: receiver, epoch: 1)
        let peers = [Samples.id(0x61), Samples.id(0x62), Samples.id(0x63)]
        var ops = 0
        while !input.isAtEnd, ops < maxOps {
            ops += 1
            let op = input.below(4), peer = peers[input.below(3)]
            let fragment: MessageFragment?
            switch op {
            case 0:
                // Decoded from the input by the wire codec, as a packet's only frame.
                let body = input.blob(max: PacketBody.maxFramesSize)
                let packet = peer.bytes + [Frame.Kind.message.rawValue, UInt8(body.count >> 8), UInt8(truncatingIfNeeded: body.count)] + body
                if case .success(let decoded) = PacketBody.decode(packet[...]), case .message(let decodedFragment) = decoded.frames.first {
                    fragment = decodedFragment
                } else {
                    fragment = nil
                }
            case 1:
                fragment = madeFragment(&input)
            case 2:
                core.forget(peer)
                try require(core.inbound[peer] == nil, "forget left an inbound stream behind")
                fragment = nil
            default:
                var effects: [MessagingEffect] = []
                core.receive(MessageAck(epoch: input.uint64() % 3, messageID: UInt64(input.byte()), received: input.uint64()),
                             from: peer, now: .zero, effects: &effects)
                fragment = nil
            }
            guard let fragment else { try checkAccounting(core); continue }
            let before = core.inbound[peer]
            var effects: [MessagingEffect] = []
            core.receive(fragment, from: peer, now: .zero, effects: &effects)
            try checkAccounting(core)
            var deliveries = 0
            for effect in effects {
                switch effect {
                case .deliver(let from, let payload):
                    try require(from == peer, "delivered from \(from.short), the fragment came from \(peer.short)")
                    try require(payload.count <= MessagingSettings.maxMessageSize, "delivered \(payload.count) bytes")
                    deliveries += 1
                case .send(let to, let frame):
                    try require(to == peer, "answered someone else")
                    guard case .messageAck(let ack) = frame else { throw Violation(message: "answered a fragment with \(frame)", location: "\(#fileID):\(#line)") }
                    try require(ack.epoch == fragment.epoch && ack.messageID == fragment.messageID, "acknowledged another message")
                case .completed:
                    throw Violation(message: "a receiver completed a send", location: "\(#fileID):\(#line)")
                }
            }
            guard let after = core.inbound[peer] else { continue }
            let start = before.flatMap { $0.epoch == after.epoch ? $0.nextDeliver : nil } ?? 1
            try require(after.nextDeliver >= start, "the next id to deliver went back from \(start) to \(after.nextDeliver)")
            try require(UInt64(deliveries) <= after.nextDeliver - start, "\(deliveries) deliveries while the next id moved \(start) → \(after.nextDeliver)")
        }
    }

    /// A fragment from fuzz fields, consistent in its lengths unless the input says otherwise.
    static func madeFragment(_ input: inout FuzzInput) -> MessageFragment {
        let epoch = UInt64(input.below(3)), id = value(&input), floor = value(&input)
        let total = length(&input)
        let count = Outgoing.fragmentCount(total: total)
        let index = input.below(256) % max(1, count)
        var chunk = [UInt8](repeating: input.byte(), count: Outgoing.chunkLength(total: total, count: count, index: index))
        var fields = (total: UInt32(total), count: UInt8(count), index: UInt8(index))
        switch input.below(8) {
        case 0: chunk.append(0)
        case 1: fields.total &+= 1
        case 2: fields.count &+= 1
        default: break
        }
        return MessageFragment(epoch: epoch, messageID: id, floor: floor, totalLength: fields.total, index: fields.index,
                               count: max(1, fields.count), chunk: chunk[...])
    }

    /// A message id or floor: small, near the top of the range, or any.
    static func value(_ input: inout FuzzInput) -> UInt64 {
        switch input.below(4) {
        case 0, 1: return UInt64(input.byte())
        case 2: return UInt64.max - UInt64(input.byte())
        default: return input.uint64()
        }
    }

    /// The receiver's byte counts agree with what it holds and stay within its limits.
    static func checkAccounting(_ core: DirectMessaging) throws(Violation) {
        var total = 0
        for (peer, stream) in core.inbound {
            let held = stream.partial.values.reduce(0) { $0 + $1.total }
            try require(stream.bytes == held, "stream of \(peer.short) counts \(stream.bytes) bytes and holds \(held)")
            // The next message to deliver may come on top of the sender's budget (one message at most).
            try require(stream.bytes <= core.settings.maxReassemblyBytesPerPeer + MessagingSettings.maxMessageSize,
                        "stream of \(peer.short) holds \(stream.bytes) bytes")
            try require(stream.partial.keys.allSatisfy { $0 >= stream.nextDeliver }, "holds a message below the next id to deliver")
            for assembly in stream.partial.values {
                try require(assembly.buffer.count == assembly.total && assembly.received & ~Outgoing.fullMask(count: assembly.count) == 0,
                            "an assembly of \(assembly.total) bytes in \(assembly.count) fragments holds \(assembly.buffer.count) bytes, mask \(assembly.received)")
            }
            total += stream.bytes
        }
        try require(core.reassemblyBytes == total, "reassemblyBytes is \(core.reassemblyBytes), the streams hold \(total)")
        try require(total <= core.settings.maxReassemblyBytesTotal, "holds \(total) bytes in all")
    }

    public static func seeds() -> [(name: String, bytes: [UInt8])] {
        func honest(_ build: (inout MessagingSeed) -> Void) -> [UInt8] {
            var seed = MessagingSeed()
            seed.writer.bool(false)
            build(&seed)
            return seed.writer.bytes
        }
        var seeds: [(name: String, bytes: [UInt8])] = [
            ("one-message", honest { $0.send(length: 12); $0.deliverFragments(8); $0.deliverAcks(8) }),
            ("three-fragments", honest { $0.send(fragments: 3); $0.deliverFragments(8); $0.deliverAcks(8) }),
            ("lost-fragment", honest { $0.send(fragments: 3); $0.loseFragment(1); $0.deliverFragments(8); $0.advance(milliseconds: 300); $0.deliverFragments(8) }),
            ("out-of-order", honest { $0.send(length: 5); $0.send(length: 7); $0.reorderFragment(1); $0.deliverFragments(8); $0.deliverAcks(8) }),
            ("duplicates", honest { $0.send(fragments: 2); $0.duplicateFragment(0); $0.duplicateFragment(1); $0.deliverFragments(8) }),
            ("given-up", honest { $0.send(length: 3, deadline: 1); $0.send(length: 4); $0.loseFragment(0); $0.advance(milliseconds: 1500); $0.deliverFragments(8) }),
            ("restart", honest { $0.send(length: 3); $0.deliverFragments(1); $0.restart(); $0.send(length: 9); $0.deliverFragments(8) }),
            ("largest", honest { $0.send(largest: true); $0.deliverFragments(64) }),
        ]
        var decoded = ScriptWriter(), made = ScriptWriter()
        decoded.bool(true)
        for frame in Samples.frames where frame.frame.kind == .message {
            decoded.byte(0); decoded.byte(0); decoded.blob(Array(Samples.encode(frame.frame).dropFirst(Frame.headerSize)))
        }
        made.bool(true)
        for id in [1, 2, 1] as [UInt8] {
            made.byte(1); made.byte(1); made.byte(1); made.byte(0); made.byte(id); made.byte(0); made.byte(1); made.byte(1); made.byte(3); made.byte(0); made.byte(0x41); made.byte(7); made.byte(3)
        }
        seeds += [("adversary-decoded", decoded.bytes), ("adversary-made", made.bytes)]
        return seeds
    }
}

/// A sender and a receiver joined by a network the fuzz input runs (see `ReassemblyTarget`).
struct MessagingWorld {
    var sender = DirectMessaging(me: ReassemblyTarget.sender, epoch: 1)
    var receiver = DirectMessaging(me: ReassemblyTarget.receiver, epoch: 1)
    var now = Instant(nanoseconds: 1_000_000_000)
    var toReceiver: [Frame] = []
    var toSender: [Frame] = []

    struct Message {
        var token: UInt64
        var epoch: UInt64
        var id: UInt64
        var payload: [UInt8]
        var deadline: Instant
        var outcome: SendOutcome?
        var delivered = false
    }

    var messages: [Message] = []
    var nextID: UInt64 = 1
    /// The token of the last message delivered in the receiver's current stream.
    var lastDelivered: UInt64 = 0

    /// The message's token in two bytes, then `length` bytes of pattern: no two messages carry the same bytes,
    /// so a delivery names its message.
    static func payload(token: UInt64, length: Int) -> [UInt8] {
        [UInt8(truncatingIfNeeded: token >> 8), UInt8(truncatingIfNeeded: token)]
            + (0..<length).map { UInt8(truncatingIfNeeded: token &* 37 &+ UInt64($0) &* 11) }
    }

    mutating func step(_ input: inout FuzzInput) throws(Violation) {
        defer { Trace.log("  in flight: \(toReceiver.count) fragments, \(toSender.count) acks; outcomes \(messages.map { "\($0.epoch)/\($0.id):\($0.outcome.map { "\($0)" } ?? "-")\($0.delivered ? "+" : "")" })") }
        switch input.below(10) {
        case 0:
            let length = min(ReassemblyTarget.length(&input), MessagingSettings.maxUserMessageSize - 2)
            let deadline = now + .seconds(1 + Int64(input.below(60)))
            let token = UInt64(messages.count + 1)
            let payload = MessagingWorld.payload(token: token, length: length)
            var effects: [MessagingEffect] = []
            Trace.log("send \(length) bytes, deadline \(deadline - now)")
            if case .success = sender.send(payload, to: ReassemblyTarget.receiver, token: token, deadline: deadline, now: now, effects: &effects) {
                messages.append(Message(token: token, epoch: sender.epoch, id: nextID, payload: payload, deadline: deadline))
                nextID += 1
            }
            try route(effects, fromSender: true)
        case 1:
            let count = 1 + input.below(64)
            Trace.log("deliver \(count) fragments")
            try deliver(toReceiver: true, count: count)
        case 2:
            let count = 1 + input.below(64)
            Trace.log("deliver \(count) acks")
            try deliver(toReceiver: false, count: count)
        case 3:
            let index = input.below(256)
            Trace.log("lose fragment \(index)")
            if !toReceiver.isEmpty { toReceiver.remove(at: index % toReceiver.count) }
        case 4:
            // Loses every fragment in flight of one message.
            let pick = input.below(256)
            let ids = Set(toReceiver.compactMap { frame -> UInt64? in if case .message(let f) = frame { return f.messageID } else { return nil } }).sorted()
            if !ids.isEmpty {
                let id = ids[pick % ids.count]
                Trace.log("lose every fragment of message \(id)")
                toReceiver.removeAll { if case .message(let f) = $0 { return f.messageID == id } else { return false } }
            }
        case 5:
            let index = input.below(256)
            Trace.log("duplicate fragment \(index)")
            if !toReceiver.isEmpty { toReceiver.append(toReceiver[index % toReceiver.count]) }
        case 6:
            let index = input.below(256)
            Trace.log("move fragment \(index) first")
            if !toReceiver.isEmpty { toReceiver.insert(toReceiver.remove(at: index % toReceiver.count), at: 0) }
        case 7:
            let acks = input.bool()
            Trace.log("lose every \(acks ? "ack" : "fragment") in flight")
            if acks { toSender.removeAll() } else { toReceiver.removeAll() }
        case 8:
            let step: Duration = .milliseconds(Int64(input.uint16() % 20_000))
            Trace.log("advance \(step)")
            try advance(step)
        default:
            // The sender restarts: a new epoch, its unfinished messages forgotten with the old process.
            sender = DirectMessaging(me: ReassemblyTarget.sender, epoch: sender.epoch + 1 + UInt64(input.below(4)))
            Trace.log("the sender restarts in epoch \(sender.epoch)")
            nextID = 1
        }
    }

    mutating func advance(_ duration: Duration) throws(Violation) {
        now = now + duration
        var effects: [MessagingEffect] = []
        sender.tick(now: now, effects: &effects)
        try route(effects, fromSender: true)
        effects.removeAll()
        receiver.tick(now: now, effects: &effects)
        try route(effects, fromSender: false)
    }

    /// Delivers the first `count` frames one way, each through the wire codec.
    mutating func deliver(toReceiver forward: Bool, count: Int) throws(Violation) {
        for _ in 0..<count {
            guard let frame = forward ? toReceiver.first : toSender.first else { return }
            if forward { toReceiver.removeFirst() } else { toSender.removeFirst() }
            let body = PacketBody(sender: forward ? ReassemblyTarget.sender : ReassemblyTarget.receiver, frames: [frame])
            try PacketTarget.check(body, knownFramesOnly: true, inputCount: body.encodedSize)
            var effects: [MessagingEffect] = []
            Trace.log("    \(forward ? "→" : "←") \(frame)")
            switch frame {
            case .message(let fragment) where forward:
                receiver.receive(fragment, from: ReassemblyTarget.sender, now: now, effects: &effects)
                try ReassemblyTarget.checkAccounting(receiver)
            case .messageAck(let ack) where !forward:
                sender.receive(ack, from: ReassemblyTarget.receiver, now: now, effects: &effects)
            default:
                throw Violation(message: "\(frame) travelled the wrong way", location: "\(#fileID):\(#line)")
            }
            try route(effects, fromSender: !forward)
        }
    }

    mutating func route(_ effects: [MessagingEffect], fromSender: Bool) throws(Violation) {
        for effect in effects {
            switch effect {
            case .send(let to, let frame):
                try require(to == (fromSender ? ReassemblyTarget.receiver : ReassemblyTarget.sender), "a frame to a stranger")
                if fromSender { toReceiver.append(frame) } else { toSender.append(frame) }
            case .deliver(let from, let payload):
                try require(!fromSender && from == ReassemblyTarget.sender, "a delivery from \(from.short)")
                try delivered(payload)
            case .completed(let token, let outcome):
                try require(fromSender, "the receiver completed a send")
                try completed(token, outcome)
            }
        }
        if toReceiver.count > 4096 { toReceiver.removeFirst(toReceiver.count - 4096) }
        if toSender.count > 4096 { toSender.removeFirst(toSender.count - 4096) }
    }

    /// Names the message delivered by its bytes: it MUST be one sent in the receiver's current epoch, after the
    /// last one delivered and not delivered before; the ones skipped on the way MUST have been given up by the
    /// sender.
    mutating func delivered(_ payload: [UInt8]) throws(Violation) {
        let epoch = receiver.inbound[ReassemblyTarget.sender]?.epoch ?? 0
        guard let index = messages.firstIndex(where: { $0.payload == payload }) else {
            throw Violation(message: "delivered \(payload.count) bytes that no message carried", location: "\(#fileID):\(#line)")
        }
        let message = messages[index]
        try require(!message.delivered, "delivered message \(message.id) of epoch \(message.epoch) twice")
        try require(message.epoch == epoch, "delivered message \(message.id) of epoch \(message.epoch) in a stream of epoch \(epoch)")
        try require(message.token > lastDelivered, "delivered message \(message.id) after a later one")
        for skipped in messages.indices where messages[skipped].token > lastDelivered && messages[skipped].token < messages[index].token
            && messages[skipped].epoch == epoch {
            try require(messages[skipped].outcome == .timedOut,
                        "delivered message \(messages[index].id) past message \(messages[skipped].id), which the sender \(messages[skipped].outcome == nil ? "has not finished" : "saw acknowledged")")
        }
        messages[index].delivered = true
        lastDelivered = messages[index].token
    }

    mutating func completed(_ token: UInt64, _ outcome: SendOutcome) throws(Violation) {
        guard let index = messages.firstIndex(where: { $0.token == token }) else {
            throw Violation(message: "completed token \(token), never sent", location: "\(#fileID):\(#line)")
        }
        try require(messages[index].outcome == nil, "token \(token) completed twice")
        messages[index].outcome = outcome
        guard outcome == .acknowledged else { return }
        let message = messages[index]
        let held = receiver.inbound[ReassemblyTarget.sender].map { $0.epoch == message.epoch && ($0.partial[message.id]?.isComplete ?? false) } ?? false
        try require(message.delivered || held, "the sender saw message \(message.id) acknowledged; the receiver neither delivered nor holds it")
    }

    /// A reliable network until the sender has nothing left: then every message of the current run that had at
    /// least `margin` before its deadline MUST be acknowledged, and every acknowledged one delivered.
    mutating func heal() throws(Violation) {
        let margin: Duration = .seconds(10)
        let start = now
        var rounds = 0
        while rounds < 400 {
            rounds += 1
            try deliver(toReceiver: true, count: toReceiver.count)
            try deliver(toReceiver: false, count: toSender.count)
            guard toReceiver.isEmpty, toSender.isEmpty else { continue }
            let wake = sender.nextWake
            if wake == .distantFuture { break }
            try advance(max(.milliseconds(1), min(wake - now, .seconds(1))))
        }
        for message in messages where message.epoch == sender.epoch {
            if message.outcome == .acknowledged {
                try require(message.delivered, "message \(message.id) was acknowledged and never delivered")
            }
            if message.deadline - start >= margin {
                try require(message.outcome == .acknowledged,
                            "message \(message.id) (\(message.payload.count) bytes) had \(message.deadline - start) left on a reliable network and \(message.outcome.map { "\($0)" } ?? "never finished")")
            }
        }
    }
}

/// Writes honest-world scripts for seeds, as `MessagingWorld.step` reads them.
struct MessagingSeed {
    var writer = ScriptWriter()

    mutating func send(length: UInt8, deadline: UInt8 = 30) { writer.byte(0); writer.byte(0); writer.byte(length); writer.byte(deadline - 1) }
    mutating func send(fragments: Int, deadline: UInt8 = 30) { writer.byte(0); writer.byte(1); writer.byte(UInt8(fragments - 1)); writer.byte(0); writer.byte(deadline - 1) }
    mutating func send(largest: Bool) { writer.byte(0); writer.byte(3); writer.byte(29) }
    mutating func deliverFragments(_ count: Int) { writer.byte(1); writer.byte(UInt8(count - 1)) }
    mutating func deliverAcks(_ count: Int) { writer.byte(2); writer.byte(UInt8(count - 1)) }
    mutating func loseFragment(_ index: UInt8) { writer.byte(3); writer.byte(index) }
    mutating func duplicateFragment(_ index: UInt8) { writer.byte(5); writer.byte(index) }
    mutating func reorderFragment(_ index: UInt8) { writer.byte(6); writer.byte(index) }
    mutating func advance(milliseconds: UInt16) { writer.byte(8); writer.uint16(milliseconds) }
    mutating func restart() { writer.byte(9); writer.byte(0) }
}
