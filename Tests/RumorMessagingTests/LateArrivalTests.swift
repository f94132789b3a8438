import RumorMembership
import RumorMessaging
import RumorWire
import Testing

/// A receiver that was stopped (SIGSTOP) finds, when it runs again, everything the sender sent meanwhile in its
/// socket buffer: each message's original fragments, every retransmission, and the floor notices sent after the
/// sender gave up. Each message must still reach the application at most once.
@Suite struct LateArrivalTests {
    static let sender = testID(1)
    static let receiver = testID(2)

    /// Every fragment `sender` emits for `payloads` while nothing answers, until it has given them all up.
    static func framesOfGivenUpMessages(_ payloads: [[UInt8]], timeouts: [Duration], gaps: [Duration]) -> (frames: [MessageFragment], outcomes: [SendOutcome]) {
        var sender = DirectMessaging(me: Self.sender, epoch: 5)
        var effects: [MessagingEffect] = []
        var now = Instant.zero
        for (index, payload) in payloads.enumerated() {
            _ = sender.send(payload, to: Self.receiver, token: UInt64(index + 1), deadline: now + timeouts[index], now: now, effects: &effects)
            now = now + gaps[index]
            sender.tick(now: now, effects: &effects)
        }
        // Run the sender's timers until it has nothing left to do (the floor notice runs for its lifetime).
        for _ in 0..<10_000 where sender.nextWake != .distantFuture {
            now = max(now, sender.nextWake)
            sender.tick(now: now, effects: &effects)
        }
        var frames: [MessageFragment] = []
        var outcomes: [SendOutcome] = []
        for effect in effects {
            if case .send(_, .message(let fragment)) = effect { frames.append(fragment) }
            if case .completed(_, let outcome) = effect { outcomes.append(outcome) }
        }
        return (frames, outcomes)
    }

    static func deliveries(of frames: [MessageFragment]) -> [[UInt8]] {
        var receiver = DirectMessaging(me: Self.receiver, epoch: 7)
        var effects: [MessagingEffect] = []
        for frame in frames { receiver.receive(frame, from: Self.sender, now: Instant.zero + .seconds(1000), effects: &effects) }
        return effects.compactMap { if case .deliver(_, let payload) = $0 { return payload } else { return nil } }
    }

    @Test func aMessageTheSenderGaveUpIsDeliveredOnceWhenItsOriginalAndRetransmissionsArriveLate() {
        let payload = Envelope.direct(Array("hello-once".utf8)).encode()
        let (frames, outcomes) = Self.framesOfGivenUpMessages([payload], timeouts: [.seconds(1)], gaps: [.zero])
        #expect(outcomes == [.timedOut])
        #expect(frames.filter { $0.messageID != 0 }.count >= 3, "the original and at least two retransmissions")
        #expect(frames.contains { $0.messageID == 0 }, "the sender told its new floor after giving up")
        #expect(Self.deliveries(of: frames) == [payload])
        // The same datagrams twice over (a retransmitting relay, a duplicated path): still once.
        #expect(Self.deliveries(of: frames + frames) == [payload])
    }

    @Test func givenUpMessagesOfManySizesAndTimingsAreEachDeliveredAtMostOnceInAnyArrivalOrder() {
        for seed in UInt64(1)...400 {
            var rng = SeededRandom(seed: seed)
            let count = Int.random(in: 1...5, using: &rng)
            let payloads = (0..<count).map { index in
                Envelope.direct(Array("m\(index)-".utf8) + [UInt8](repeating: UInt8(index), count: [5, 1500, 3000].randomElement(using: &rng) ?? 5)).encode()
            }
            let timeouts = (0..<count).map { _ in Duration.milliseconds(Int64.random(in: 100...5000, using: &rng)) }
            let gaps = (0..<count).map { _ in Duration.milliseconds(Int64.random(in: 0...1500, using: &rng)) }
            let (frames, _) = Self.framesOfGivenUpMessages(payloads, timeouts: timeouts, gaps: gaps)
            for order in [frames, frames.shuffled(using: &rng), frames + frames.shuffled(using: &rng)] {
                let delivered = Self.deliveries(of: order)
                for payload in payloads {
                    #expect(delivered.filter { $0 == payload }.count <= 1, "seed \(seed): a message was delivered twice")
                }
            }
        }
    }
}
