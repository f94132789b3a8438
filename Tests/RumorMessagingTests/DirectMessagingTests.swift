import RumorMembership
import RumorMessaging
import RumorWire
import Testing

/// Two messaging cores wired back to back through a lossy, reordering in-memory link, in virtual time.
struct MessagingPair {
    var a: DirectMessaging
    var b: DirectMessaging
    var rng: SeededRandom
    var loss: Double
    var now = Instant.zero
    /// Frames in flight: (arrival time, to b?, frame).
    var inFlight: [(at: Instant, toB: Bool, frame: Frame)] = []
    var deliveredToB: [[UInt8]] = []
    var outcomes: [UInt64: SendOutcome] = [:]
    var framesSent = 0

    static let idA = testID(1)
    static let idB = testID(2)

    init(loss: Double, seed: UInt64, settings: MessagingSettings = MessagingSettings(), epochA: UInt64 = 1) {
        a = DirectMessaging(me: MessagingPair.idA, epoch: epochA, settings: settings)
        b = DirectMessaging(me: MessagingPair.idB, epoch: 1, settings: settings)
        rng = SeededRandom(seed: seed)
        self.loss = loss
    }

    mutating func send(_ payload: [UInt8], token: UInt64, timeout: Duration = .seconds(60)) -> Result<Void, DirectMessaging.SendError> {
        var effects: [MessagingEffect] = []
        let result = a.send(payload, to: MessagingPair.idB, token: token, deadline: now + timeout, now: now, effects: &effects)
        route(effects, fromA: true)
        return result
    }

    mutating func route(_ effects: [MessagingEffect], fromA: Bool) {
        for effect in effects {
            switch effect {
            case .send(_, let frame):
                framesSent += 1
                // Every frame passes through the wire codec, as on a real link.
                let bytes = PacketBody(sender: fromA ? MessagingPair.idA : MessagingPair.idB, frames: [frame]).encode()
                guard case .success(let decoded) = PacketBody.decode(bytes[...]), let copy = decoded.frames.first else {
                    Issue.record("frame did not survive the codec")
                    continue
                }
                if Double.random(in: 0..<1, using: &rng) < loss { continue }
                let delay = Duration.microseconds(Int64.random(in: 200...3000, using: &rng))
                inFlight.append((now + delay, fromA, copy))
            case .deliver(let from, let payload):
                #expect(from == MessagingPair.idA)
                deliveredToB.append(payload)
            case .completed(let token, let outcome):
                #expect(outcomes[token] == nil, "a send completed twice")
                outcomes[token] = outcome
            }
        }
    }

    /// Runs until nothing is in flight and no timer is due before `limit`.
    mutating func run(until limit: Duration) {
        let end = now + limit
        for _ in 0..<2_000_000 {
            let nextFrame = inFlight.map(\.at).min() ?? .distantFuture
            let next = min(nextFrame, a.nextWake, b.nextWake)
            guard next < end else { now = end; return }
            now = max(now, next)
            if let index = inFlight.firstIndex(where: { $0.at <= now }) {
                let item = inFlight.remove(at: index)
                var effects: [MessagingEffect] = []
                switch (item.toB, item.frame) {
                case (true, .message(let fragment)): b.receive(fragment, from: MessagingPair.idA, now: now, effects: &effects)
                case (false, .messageAck(let ack)): a.receive(ack, from: MessagingPair.idB, now: now, effects: &effects)
                default: Issue.record("unexpected frame \(item.frame.kind)")
                }
                route(effects, fromA: !item.toB)
                continue
            }
            var effectsA: [MessagingEffect] = []
            a.tick(now: now, effects: &effectsA)
            route(effectsA, fromA: true)
            var effectsB: [MessagingEffect] = []
            b.tick(now: now, effects: &effectsB)
            route(effectsB, fromA: false)
        }
        Issue.record("simulation did not settle")
    }
}

/// A fixed 32-byte id; 32 bytes always make a NodeID.
func testID(_ byte: UInt8) -> NodeID {
    guard let id = NodeID(bytes: [UInt8](repeating: byte, count: 32)) else { preconditionFailure("32 bytes make an id") }
    return id
}

func randomBytes(_ count: Int, seed: UInt64) -> [UInt8] {
    var rng = SeededRandom(seed: seed)
    return (0..<count).map { _ in UInt8.random(in: 0...255, using: &rng) }
}

@Suite struct DirectMessagingTests {
    @Test func largestMessageArrivesByteExactOnceThroughTwentyPercentLoss() throws {
        for seed in UInt64(1)...5 {
            var pair = MessagingPair(loss: 0.2, seed: seed)
            // A user's direct message (its envelope's first byte), so that `messagesDelivered` counts it.
            let payload = Envelope.direct(randomBytes(MessagingSettings.maxUserMessageSize, seed: seed)).encode()
            #expect(throws: Never.self) { try pair.send(payload, token: 7).get() }
            pair.run(until: .seconds(120))
            #expect(pair.outcomes[7] == .acknowledged)
            #expect(pair.deliveredToB.count == 1)
            #expect(pair.deliveredToB.first.map { $0 == payload } == true, "the payload arrived altered")
            #expect(pair.b.counters.messagesDelivered == 1)
        }
    }

    @Test func messagesFromOneSenderArriveOnceAndInOrderDespiteLossAndReordering() {
        var pair = MessagingPair(loss: 0.3, seed: 42)
        let payloads = (0..<300).map { Array("message \($0)".utf8) + randomBytes(Int($0 % 3000), seed: UInt64($0)) }
        for (index, payload) in payloads.enumerated() {
            #expect(throws: Never.self) { try pair.send(payload, token: UInt64(index)).get() }
        }
        pair.run(until: .seconds(600))
        #expect(pair.deliveredToB.count == payloads.count)
        #expect(pair.deliveredToB == payloads, "messages arrived altered, duplicated or out of order")
        #expect(pair.outcomes.count == payloads.count)
        #expect(pair.outcomes.values.allSatisfy { $0 == .acknowledged })
        #expect(pair.a.counters.retransmissions > 0, "30% loss must have forced retransmissions")
    }

    @Test func aMessageAboveTheLimitIsRefused() {
        var pair = MessagingPair(loss: 0, seed: 1)
        let result = pair.send([UInt8](repeating: 0, count: MessagingSettings.maxMessageSize + 1), token: 1)
        guard case .failure(let error) = result else {
            Issue.record("a message above the limit was accepted")
            return
        }
        #expect(error == .tooLarge(MessagingSettings.maxMessageSize + 1))
        #expect(pair.framesSent == 0)
    }

    @Test func emptyMessageIsDeliveredAndAcknowledged() {
        var pair = MessagingPair(loss: 0, seed: 1)
        #expect(throws: Never.self) { try pair.send([], token: 1).get() }
        pair.run(until: .seconds(5))
        #expect(pair.deliveredToB == [[]])
        #expect(pair.outcomes[1] == .acknowledged)
    }

    @Test func anUnreachablePeerTimesOutAndLaterMessagesAreNotHeldBackByIt() {
        var pair = MessagingPair(loss: 1.0, seed: 3)
        #expect(throws: Never.self) { try pair.send(Array("lost".utf8), token: 1, timeout: .seconds(2)).get() }
        pair.run(until: .seconds(3))
        #expect(pair.outcomes[1] == .timedOut)
        #expect(pair.deliveredToB.isEmpty)
        // The link heals: the next message must be delivered even though message 1 never arrived.
        pair.loss = 0
        #expect(throws: Never.self) { try pair.send(Array("after".utf8), token: 2).get() }
        pair.run(until: .seconds(5))
        #expect(pair.outcomes[2] == .acknowledged)
        #expect(pair.deliveredToB == [Array("after".utf8)])
    }

    @Test func duplicateAndReplayedFragmentsAreNotDeliveredTwice() throws {
        var receiver = DirectMessaging(me: MessagingPair.idB, epoch: 1)
        let fragment = MessageFragment(epoch: 9, messageID: 1, floor: 1, totalLength: 3, index: 0, count: 1, chunk: [1, 2, 3])
        var effects: [MessagingEffect] = []
        for _ in 0..<1000 { receiver.receive(fragment, from: MessagingPair.idA, now: .zero, effects: &effects) }
        let deliveries = effects.filter { if case .deliver = $0 { return true } else { return false } }
        #expect(deliveries.count == 1)
        // Every copy is acknowledged, so a sender whose ack was lost stops retransmitting.
        let acks = effects.filter { if case .send(_, .messageAck) = $0 { return true } else { return false } }
        #expect(acks.count == 1000)
        #expect(receiver.counters.duplicateFragments == 999)
    }

    @Test func inconsistentFragmentsAreRejected() {
        var receiver = DirectMessaging(me: MessagingPair.idB, epoch: 1)
        var effects: [MessagingEffect] = []
        // Claims 2 fragments for 10 bytes (one fits): the count does not match the length.
        receiver.receive(MessageFragment(epoch: 1, messageID: 1, floor: 1, totalLength: 10, index: 0, count: 2, chunk: [0, 0, 0, 0, 0]),
                         from: MessagingPair.idA, now: .zero, effects: &effects)
        // A chunk shorter than the rule ⌈total/count⌉ says.
        receiver.receive(MessageFragment(epoch: 1, messageID: 1, floor: 1, totalLength: 10, index: 0, count: 1, chunk: [0, 0]),
                         from: MessagingPair.idA, now: .zero, effects: &effects)
        // Above the 64 KiB limit.
        receiver.receive(MessageFragment(epoch: 1, messageID: 1, floor: 1, totalLength: 70_000, index: 0, count: 64, chunk: []),
                         from: MessagingPair.idA, now: .zero, effects: &effects)
        #expect(effects.isEmpty)
        #expect(receiver.counters.malformedFragments == 3)
    }

    @Test func reassemblyMemoryIsBoundedAgainstSendersThatNeverFinish() {
        var settings = MessagingSettings()
        settings.maxReassemblyBytesPerPeer = 200_000
        settings.maxReassemblyBytesTotal = 300_000
        var receiver = DirectMessaging(me: MessagingPair.idB, epoch: 1, settings: settings)
        var effects: [MessagingEffect] = []
        let total = UInt32(MessagingSettings.maxMessageSize)
        let chunk = [UInt8](repeating: 7, count: (Int(total) + 60) / 61)
        // One peer starts 100 messages of 64 KiB and sends only their first fragment.
        for id in UInt64(1)...100 {
            receiver.receive(MessageFragment(epoch: 1, messageID: id, floor: 1, totalLength: total, index: 0, count: 61, chunk: chunk[...]),
                             from: MessagingPair.idA, now: .zero, effects: &effects)
        }
        #expect(receiver.counters.reassemblyRefused == 100 - 200_000 / Int(total))
        // A second peer is still served up to the global limit, then refused too.
        let other = testID(3)
        for id in UInt64(1)...10 {
            receiver.receive(MessageFragment(epoch: 1, messageID: id, floor: 1, totalLength: total, index: 0, count: 61, chunk: chunk[...]),
                             from: other, now: .zero, effects: &effects)
        }
        let held = 200_000 / Int(total) + (300_000 - 200_000 / Int(total) * Int(total)) / Int(total)
        #expect(receiver.counters.reassemblyRefused == 110 - held)
    }

    @Test func aRestartedSenderIsHeardUnderItsNewEpoch() {
        var pair = MessagingPair(loss: 0, seed: 5)
        for index in 0..<3 { _ = pair.send(Array("first run \(index)".utf8), token: UInt64(index)) }
        pair.run(until: .seconds(5))
        #expect(pair.deliveredToB.count == 3)
        // The sender restarts: a new core, a larger epoch, message ids from 1 again.
        pair.a = DirectMessaging(me: MessagingPair.idA, epoch: 2)
        _ = pair.send(Array("second run".utf8), token: 10)
        pair.run(until: .seconds(5))
        #expect(pair.deliveredToB.last == Array("second run".utf8))
        #expect(pair.deliveredToB.count == 4)
        #expect(pair.outcomes[10] == .acknowledged)
    }

    /// Hands every frame one core sends to the other until neither has anything more to say; returns the payloads
    /// delivered to the receiver and the outcomes the sender saw.
    static func exchange(_ first: [MessagingEffect], sender: inout DirectMessaging, receiver: inout DirectMessaging,
                         now: Instant) -> (delivered: [[UInt8]], outcomes: [UInt64: SendOutcome]) {
        var toReceiver: [MessagingEffect] = first, delivered: [[UInt8]] = [], outcomes: [UInt64: SendOutcome] = [:]
        while !toReceiver.isEmpty {
            var toSender: [MessagingEffect] = []
            for effect in toReceiver {
                switch effect {
                case .send(_, .message(let fragment)): receiver.receive(fragment, from: MessagingPair.idA, now: now, effects: &toSender)
                case .completed(let token, let outcome): outcomes[token] = outcome
                default: break
                }
            }
            toReceiver = []
            for effect in toSender {
                switch effect {
                case .send(_, .messageAck(let ack)): sender.receive(ack, from: MessagingPair.idB, now: now, effects: &toReceiver)
                case .deliver(_, let payload): delivered.append(payload)
                default: break
                }
            }
        }
        return (delivered, outcomes)
    }

    @Test func aMessageAcknowledgedBehindOneGivenUpIsDeliveredWithoutWaitingForTheNext() {
        var sender = DirectMessaging(me: MessagingPair.idA, epoch: 1)
        var receiver = DirectMessaging(me: MessagingPair.idB, epoch: 1)
        var lost: [MessagingEffect] = [], effects: [MessagingEffect] = []
        _ = sender.send([1], to: MessagingPair.idB, token: 1, deadline: .zero + .seconds(2), now: .zero, effects: &lost)
        _ = sender.send([2], to: MessagingPair.idB, token: 2, deadline: .zero + .seconds(60), now: .zero, effects: &effects)
        // Message 1 is lost on the way; message 2 arrives, is acknowledged and waits at the receiver for message 1.
        var result = Self.exchange(effects, sender: &sender, receiver: &receiver, now: .zero)
        #expect(result.outcomes[2] == .acknowledged)
        #expect(result.delivered.isEmpty)
        // Message 1 is given up and the sender has nothing more to send: its floor notice releases message 2.
        var later = Instant.zero
        for _ in 0..<20 {
            later = later + .milliseconds(500)
            effects = []
            sender.tick(now: later, effects: &effects)
            effects.removeAll { if case .send(_, .message(let fragment)) = $0 { return fragment.messageID == 1 } else { return false } }
            let step = Self.exchange(effects, sender: &sender, receiver: &receiver, now: later)
            result.delivered += step.delivered
            result.outcomes.merge(step.outcomes) { $1 }
        }
        #expect(result.outcomes[1] == .timedOut)
        #expect(result.delivered == [[2]])
        #expect(sender.nextWake == .distantFuture, "the notice is answered, so the sender has nothing left to retransmit")
    }

    @Test func aFloorNoticeThatIsNeverAnsweredExpires() {
        var settings = MessagingSettings()
        settings.floorNoticeLifetime = .seconds(10)
        var sender = DirectMessaging(me: MessagingPair.idA, epoch: 1, settings: settings)
        var effects: [MessagingEffect] = []
        _ = sender.send([1], to: MessagingPair.idB, token: 1, deadline: .zero + .seconds(1), now: .zero, effects: &effects)
        var notices = 0
        var now = Instant.zero
        while sender.nextWake != .distantFuture, now < .zero + .seconds(60) {
            now = sender.nextWake
            effects = []
            sender.tick(now: now, effects: &effects)
            notices += effects.filter { if case .send(_, .message(let fragment)) = $0 { return fragment.messageID == 0 } else { return false } }.count
        }
        #expect(sender.nextWake == .distantFuture)
        #expect(now <= .zero + .seconds(12))
        #expect(notices > 1 && notices < 12, "retransmitted with backoff: \(notices)")
    }

    @Test func idsAndFloorsAtTheTopOfTheRangeAreRefused() {
        var receiver = DirectMessaging(me: MessagingPair.idB, epoch: 1)
        var effects: [MessagingEffect] = []
        for (id, floor) in [(UInt64.max, UInt64.max), (UInt64.max, 1), (5, UInt64.max)] {
            receiver.receive(MessageFragment(epoch: 1, messageID: id, floor: floor, totalLength: 1, index: 0, count: 1, chunk: [9]),
                             from: MessagingPair.idA, now: .zero, effects: &effects)
        }
        // A floor notice (id 0) carries no bytes.
        receiver.receive(MessageFragment(epoch: 1, messageID: 0, floor: 3, totalLength: 1, index: 0, count: 1, chunk: [9]),
                         from: MessagingPair.idA, now: .zero, effects: &effects)
        #expect(effects.isEmpty)
        #expect(receiver.counters.malformedFragments == 4)
        // Just below the top, a message is delivered and the stream is left at the top, where nothing more fits.
        receiver.receive(MessageFragment(epoch: 1, messageID: .max - 1, floor: .max - 1, totalLength: 1, index: 0, count: 1, chunk: [9]),
                         from: MessagingPair.idA, now: .zero, effects: &effects)
        #expect(effects.contains(.deliver(from: MessagingPair.idA, payload: [9])))
    }
}
