import RumorMessaging
import RumorWire
import Testing

/// A handful of broadcast cores on a perfect in-memory network, stepped by hand; `cut` nodes receive nothing.
struct BroadcastMesh {
    var nodes: [Broadcasts]
    var ids: [NodeID]
    var delivered: [[BroadcastKey]]
    var cut: Set<Int> = []
    var now = Instant.zero
    var clock: Int64 = 1_800_000_000_000

    init(count: Int) {
        ids = (0..<count).map { testID(UInt8(10 + $0)) }
        nodes = ids.enumerated().map { index, id in
            Broadcasts(me: id, firstSequence: UInt64(index) * 1000, seed: UInt64(index + 1), now: .zero)
        }
        delivered = Array(repeating: [], count: count)
    }

    func others(_ index: Int) -> [NodeID] { ids.enumerated().filter { $0.offset != index && !cut.contains($0.offset) }.map(\.element) }

    /// Delivers effects (and the effects they cause) until the network is quiet.
    mutating func settle(_ initial: [(from: Int, effects: [BroadcastEffect])]) {
        var queue = initial
        var steps = 0
        while !queue.isEmpty, steps < 100_000 {
            steps += 1
            let (from, effects) = queue.removeFirst()
            for effect in effects {
                switch effect {
                case .deliver(let message): delivered[from].append(message.key)
                case .send(let peer, let envelope):
                    guard let to = ids.firstIndex(of: peer), !cut.contains(to) else { continue }
                    // Through the envelope codec, as on the wire.
                    guard let decoded = Envelope.decode(envelope.encode()) else {
                        Issue.record("envelope did not survive the codec")
                        continue
                    }
                    var out: [BroadcastEffect] = []
                    switch decoded {
                    case .broadcast(let message):
                        nodes[to].receive(message, from: ids[from], members: others(to), wallClockMilliseconds: clock, now: now, effects: &out)
                    case .digest(let digest):
                        nodes[to].receive(digest, from: ids[from], now: now, effects: &out)
                    case .direct, .keyRequest, .keyResponse:
                        Issue.record("a broadcast core sent an envelope that is not its own")
                    }
                    queue.append((to, out))
                }
            }
        }
    }

    mutating func advance(_ duration: Duration) {
        now = now + duration
        clock += duration.nanoseconds / 1_000_000
        var batches: [(Int, [BroadcastEffect])] = []
        for index in nodes.indices where !cut.contains(index) {
            var out: [BroadcastEffect] = []
            nodes[index].tick(members: others(index), now: now, effects: &out)
            batches.append((index, out))
        }
        settle(batches)
    }
}

@Suite struct BroadcastTests {
    @Test func everyMemberDeliversABroadcastExactlyOnce() throws {
        var mesh = BroadcastMesh(count: 10)
        var effects: [BroadcastEffect] = []
        let key = try mesh.nodes[3].broadcast(Array("to all".utf8), members: mesh.others(3), wallClockMilliseconds: mesh.clock,
                                              now: mesh.now, effects: &effects).get()
        mesh.settle([(3, effects)])
        for _ in 0..<5 { mesh.advance(.seconds(1)) }   // anti-entropy rounds must not re-deliver
        for index in mesh.nodes.indices { #expect(mesh.delivered[index] == [key], "node \(index) delivered \(mesh.delivered[index].count) times") }
    }

    @Test func aMemberThatWasUnreachableCatchesUpThroughDigests() throws {
        var mesh = BroadcastMesh(count: 6)
        mesh.cut = [5]
        var effects: [BroadcastEffect] = []
        let key = try mesh.nodes[0].broadcast(Array("missed it".utf8), members: mesh.others(0), wallClockMilliseconds: mesh.clock,
                                              now: mesh.now, effects: &effects).get()
        mesh.settle([(0, effects)])
        #expect(mesh.delivered[5].isEmpty)
        mesh.advance(.seconds(10))
        mesh.cut = []
        // Back within the retention window: a few sync rounds bring it the broadcast, once.
        for _ in 0..<10 { mesh.advance(.seconds(1)) }
        #expect(mesh.delivered[5] == [key])
        #expect(mesh.delivered.allSatisfy { $0 == [key] })
    }

    @Test func broadcastsOlderThanTheRetentionWindowAreRefused() {
        var node = Broadcasts(me: testID(1), firstSequence: 0, seed: 1, now: .zero)
        let settings = BroadcastSettings()
        let old = BroadcastMessage(origin: testID(2), sequence: 1,
                                   sentAtMilliseconds: 1_000_000 - (settings.retention + settings.clockSkewAllowance).nanoseconds / 1_000_000 - 1,
                                   data: [1])
        var effects: [BroadcastEffect] = []
        node.receive(old, from: testID(2), members: [testID(2)], wallClockMilliseconds: 1_000_000, now: .zero, effects: &effects)
        #expect(effects.isEmpty)
        #expect(node.counters.expired == 1)
    }

    @Test func aBroadcastAboveEightKibibytesIsRefused() {
        var node = Broadcasts(me: testID(1), firstSequence: 0, seed: 1, now: .zero)
        var effects: [BroadcastEffect] = []
        let result = node.broadcast([UInt8](repeating: 0, count: BroadcastSettings.maxSize + 1), members: [testID(2)],
                                    wallClockMilliseconds: 0, now: .zero, effects: &effects)
        #expect((try? result.get()) == nil)
        #expect(effects.isEmpty)
    }

    @Test func rememberedBroadcastsAreBounded() {
        var settings = BroadcastSettings()
        settings.maxRemembered = 100
        var node = Broadcasts(me: testID(1), firstSequence: 0, seed: 1, settings: settings, now: .zero)
        var effects: [BroadcastEffect] = []
        for sequence in UInt64(0)..<1000 {
            node.receive(BroadcastMessage(origin: testID(2), sequence: sequence, sentAtMilliseconds: 0, data: [1]), from: testID(2),
                         members: [], wallClockMilliseconds: 0, now: .zero, effects: &effects)
        }
        #expect(node.counters.delivered == 1000)
        #expect(node.counters.evicted == 900)
    }

    @Test func envelopeDecoderIsTotal() {
        var rng = SeededRandomForTests(seed: 7)
        for length in 0..<200 {
            let bytes = (0..<length).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            _ = Envelope.decode(bytes)
        }
        #expect(Envelope.decode([]) == nil)
        #expect(Envelope.decode([9]) == nil)
        #expect(Envelope.decode([2, 0]) == nil)
        #expect(Envelope.decode([3, 1, 0, 1]) == nil, "a digest that promises a key it does not carry")
        #expect(Envelope.decode(Envelope.direct([1, 2]).encode()) == .direct([1, 2]))
    }
}

struct SeededRandomForTests {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        return state >> 11
    }
}

/// A broadcast is delivered once to every member alive when it was sent: a node that joins later must not
/// deliver it (Serf does not replay old user events to a joiner either), while a member that missed the push
/// still catches up. None of it may depend on the hosts' clocks agreeing.
@Suite struct JoinBaselineTests {
    /// Node `joiner` is outside the mesh (cut) until `join`; then it joins and runs sync rounds with the others.
    static func broadcast(_ text: String, from index: Int, in mesh: inout BroadcastMesh) throws -> BroadcastKey {
        var effects: [BroadcastEffect] = []
        let key = try mesh.nodes[index].broadcast(Array(text.utf8), members: mesh.others(index), wallClockMilliseconds: mesh.clock,
                                                  now: mesh.now, effects: &effects).get()
        mesh.settle([(index, effects)])
        return key
    }

    @Test func aNodeThatJoinsAfterABroadcastDoesNotDeliverItButKeepsItForOthers() throws {
        var mesh = BroadcastMesh(count: 4)
        mesh.cut = [3]
        let old = try Self.broadcast("before you came", from: 0, in: &mesh)
        mesh.advance(.seconds(3))
        mesh.cut = []
        mesh.nodes[3].join()
        for _ in 0..<10 { mesh.advance(.seconds(1)) }
        #expect(mesh.delivered[3].isEmpty, "the joiner delivered a broadcast sent before it joined")
        #expect(mesh.nodes[3].counters.delivered == 0)
        #expect(mesh.nodes[3].counters.beforeJoin == 1, "the old broadcast's body reached the joiner, to keep")
        #expect(mesh.nodes[3].knows(old))
        #expect(mesh.delivered[0...2].allSatisfy { $0 == [old] })

        // What is sent after it joined reaches it, once.
        let new = try Self.broadcast("after you came", from: 1, in: &mesh)
        for _ in 0..<5 { mesh.advance(.seconds(1)) }
        #expect(mesh.delivered[3] == [new])
        #expect(mesh.delivered[0...2].allSatisfy { $0 == [old, new] })
    }

    @Test func aJoinerThatMissesAPushAfterJoiningCatchesUpThroughDigests() throws {
        var mesh = BroadcastMesh(count: 4)
        mesh.cut = [3]
        let old = try Self.broadcast("before", from: 0, in: &mesh)
        mesh.cut = []
        mesh.nodes[3].join()
        for _ in 0..<3 { mesh.advance(.seconds(1)) }
        // A member now, it misses the push (loss, a brief partition) and is back within the retention window.
        mesh.cut = [3]
        let missed = try Self.broadcast("while you were away", from: 2, in: &mesh)
        mesh.advance(.seconds(5))
        mesh.cut = []
        for _ in 0..<10 { mesh.advance(.seconds(1)) }
        #expect(mesh.delivered[3] == [missed])
        #expect(mesh.delivered[0...2].allSatisfy { $0 == [old, missed] })
    }

    @Test func aBroadcastPushedToAJoinerBeforeItsFirstDigestIsNew() throws {
        var mesh = BroadcastMesh(count: 3)
        mesh.nodes[2].join()
        // No sync round yet: the push is the first the joiner hears, and it is news.
        let key = try Self.broadcast("hello, newcomer", from: 0, in: &mesh)
        for _ in 0..<5 { mesh.advance(.seconds(1)) }
        #expect(mesh.delivered[2] == [key])
    }

    @Test func aMemberAnsweringAJoinerSendsItsDigestBeforeThePushes() throws {
        var member = Broadcasts(me: testID(1), firstSequence: 0, seed: 1, now: .zero)
        var effects: [BroadcastEffect] = []
        _ = member.broadcast(Array("old".utf8), members: [], wallClockMilliseconds: 0, now: .zero, effects: &effects)
        effects.removeAll()
        // The joiner's clock is a day off: nothing here compares it with the member's.
        var joiner = Broadcasts(me: testID(2), firstSequence: 0, seed: 2, now: .zero)
        joiner.join()
        var joinerEffects: [BroadcastEffect] = []
        joiner.tick(members: [testID(1)], now: .zero + .seconds(1), effects: &joinerEffects)
        guard case .send(_, .digest(let digest))? = joinerEffects.first else {
            Issue.record("the joiner sent no digest: \(joinerEffects)")
            return
        }
        #expect(digest.joining && digest.wantsReply)
        member.receive(digest, from: testID(2), now: .zero + .seconds(1), effects: &effects)
        guard effects.count == 2, case .send(_, .digest(let reply)) = effects[0], case .send(_, .broadcast(let message)) = effects[1] else {
            Issue.record("expected the member's digest, then the push: \(effects)")
            return
        }
        #expect(!reply.joining)
        var delivered: [BroadcastEffect] = []
        joiner.receive(reply, from: testID(1), now: .zero + .seconds(2), effects: &delivered)
        joiner.receive(message, from: testID(1), members: [testID(1)], wallClockMilliseconds: 86_400_000, now: .zero + .seconds(2), effects: &delivered)
        #expect(!delivered.contains { if case .deliver = $0 { return true } else { return false } })
        #expect(joiner.counters.beforeJoin == 1)
        // Once it has a body, the joiner's own digests list it: the member has nothing more to push.
        var again: [BroadcastEffect] = []
        joiner.tick(members: [testID(1)], now: .zero + .seconds(3), effects: &again)
        guard case .send(_, .digest(let next))? = again.first else {
            Issue.record("no second digest: \(again)")
            return
        }
        #expect(!next.joining)
        #expect(next.keys == [message.key])
    }

    @Test func theJoiningFlagSurvivesTheCodecAndOlderFlagsStillDecode() {
        let digest = BroadcastDigest(wantsReply: true, keys: [BroadcastKey(origin: testID(3), sequence: 9)], joining: true)
        #expect(Envelope.decode(Envelope.digest(digest).encode()) == .digest(digest))
        // An older node's digest (bit 0 only) is a plain digest.
        #expect(Envelope.decode([3, 1, 0, 0]) == .digest(BroadcastDigest(wantsReply: true, keys: [])))
    }
}
