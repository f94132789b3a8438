import RumorCrypto
import RumorLink
import RumorWire

/// The handshake: datagrams of types 2 and 3 reach `Link.receive` sealed under the network key the links
/// hold, so the fuzzer gets past the AEAD to the decoders, signature checks, the rate limiter, stale-initiation
/// and session-slot logic. The world starts with A's initiation to R in flight; see `LinkWorld` for the
/// invariants and `LinkOp` for what an input can do. The first byte pins R to A (identity pinning) when odd.
public enum HandshakeTarget: FuzzTarget {
    public static let name = "handshake"

    static let start = LinkWorld.starts { (world: inout LinkWorld) throws(Violation) in
        try world.send(Array("hello".utf8), from: 0, expected: LinkWorld.ids[1])
    }

    public static func run(_ input: [UInt8]) throws(Violation) { try LinkWorld.run(input, from: start) }

    public static func seeds() -> [(name: String, bytes: [UInt8])] {
        let initiation = HandshakeInitiation.make(identity: LinkWorld.adversaryIdentity, initiator: LinkWorld.adversaryID,
                                                  ephemeral: LinkRandomness.ephemeral(1), senderIndex: 77, timestamp: 1_800_000_000_000_000_000,
                                                  responder: LinkWorld.ids[1])
        let response = HandshakeResponse.make(identity: LinkWorld.adversaryIdentity, responder: LinkWorld.adversaryID,
                                              ephemeral: LinkRandomness.ephemeral(2), senderIndex: 78, answering: initiation)
        return [
            ("quiet", LinkSeed.script(pinned: false) { _ in }),
            ("complete", LinkSeed.script(pinned: false) { $0.deliver(8) }),
            ("lost-then-retried", LinkSeed.script(pinned: false) { $0.lose(0); $0.advance(milliseconds: 1500); $0.deliver(8) }),
            ("replayed-initiation", LinkSeed.script(pinned: false) { $0.duplicate(0); $0.deliver(8); $0.replay(0) }),
            ("mutated-initiation", LinkSeed.script(pinned: false) { $0.mutate(0, position: 40, mask: 1) }),
            ("adversary-initiation", LinkSeed.script(pinned: false) { $0.adversaryInitiation(to: 1, from: 2) }),
            ("adversary-initiation-pinned", LinkSeed.script(pinned: true) { $0.adversaryInitiation(to: 1, from: 2) }),
            ("adversary-low-order-key", LinkSeed.script(pinned: false) { $0.adversaryInitiation(to: 1, from: 2, rawEphemeral: [UInt8](repeating: 0, count: 32)) }),
            ("adversary-spoofs-a", LinkSeed.script(pinned: false) { $0.deliver(8); $0.adversaryInitiation(to: 1, from: 0) }),
            ("adversary-response", LinkSeed.script(pinned: false) { $0.adversaryResponse(to: 0, from: 1) }),
            ("sealed-initiation-body", LinkSeed.script(pinned: false) { $0.sealedHandshake(to: 1, from: 2, type: 0, body: initiation.encode()) }),
            ("sealed-response-body", LinkSeed.script(pinned: false) { $0.sealedHandshake(to: 0, from: 1, type: 1, body: response.encode()) }),
            ("decode-initiation", LinkSeed.script(pinned: false) { $0.decodeHandshake(initiation.encode()) }),
            ("decode-response", LinkSeed.script(pinned: false) { $0.decodeHandshake(response.encode()) }),
            ("crossed-handshakes", LinkSeed.script(pinned: false) { $0.send(from: 1, expected: 1, body: Array("hi".utf8)); $0.deliver(8) }),
        ].map { (name: $0.0, bytes: $0.1) }
    }
}

/// Transport datagrams (type 4): the world starts with a confirmed session between A and R, so fuzz bodies
/// are sealed as real transport payloads (`send`) and raw fuzz bytes arrive as datagrams (`raw`), past the
/// session lookup, the replay window, expiry and rekeying. Same invariants as `HandshakeTarget`.
public enum TransportTarget: FuzzTarget {
    public static let name = "transport"

    static let start = LinkWorld.starts { (world: inout LinkWorld) throws(Violation) in
        try world.send(Array("hello".utf8), from: 0, expected: LinkWorld.ids[1])
        try world.drain()
        try world.send(Array("hello back".utf8), from: 1, expected: LinkWorld.ids[0])
        try world.drain()
        precondition(world.links.allSatisfy { $0.sessionCount == 1 }, "one session each")
    }

    public static func run(_ input: [UInt8]) throws(Violation) { try LinkWorld.run(input, from: start) }

    public static func seeds() -> [(name: String, bytes: [UInt8])] {
        // R's session index for A (the first index R handed out) and a counter, as a raw transport header.
        let header = TransportHeader.make(receiverIndex: 2 * LinkWorld.indexBase + 1, counter: 5)
        return [
            ("send", LinkSeed.script(pinned: false) { $0.send(from: 0, expected: 1, body: Array("a message".utf8)); $0.deliver(1) }),
            ("send-both-ways", LinkSeed.script(pinned: false) {
                $0.send(from: 0, expected: 0, body: Array("ping".utf8)); $0.send(from: 1, expected: 0, body: Array("pong".utf8)); $0.deliver(8)
            }),
            ("duplicated", LinkSeed.script(pinned: false) { $0.send(from: 0, expected: 1, body: [1, 2, 3]); $0.duplicate(0); $0.deliver(8) }),
            ("reordered", LinkSeed.script(pinned: false) {
                $0.send(from: 0, expected: 1, body: [1]); $0.send(from: 0, expected: 1, body: [2]); $0.reorder(1); $0.deliver(8)
            }),
            ("replayed", LinkSeed.script(pinned: false) { $0.send(from: 0, expected: 1, body: [9, 9]); $0.deliver(1); $0.replay(0) }),
            ("mutated", LinkSeed.script(pinned: false) { $0.send(from: 0, expected: 1, body: [7, 7, 7]); $0.lose(0); $0.mutate(0, position: 20, mask: 4) }),
            ("rekey", LinkSeed.script(pinned: false) { $0.advance(milliseconds: 60_000); $0.advance(milliseconds: 61_000); $0.send(from: 0, expected: 1, body: [1]); $0.deliver(8) }),
            ("expired", LinkSeed.script(pinned: false) {
                for _ in 0..<3 { $0.advance(milliseconds: 61_000) }
                $0.send(from: 0, expected: 1, body: [1]); $0.deliver(8)
            }),
            ("raw-header", LinkSeed.script(pinned: false) { $0.raw(to: 1, from: 0, header + [UInt8](repeating: 0x33, count: 40)) }),
            ("oversized", LinkSeed.script(pinned: false) { $0.raw(to: 1, from: 0, header + [UInt8](repeating: 0, count: 1200)) }),
            ("adversary-takes-a-slot", LinkSeed.script(pinned: false) {
                $0.adversaryInitiation(to: 1, from: 0); $0.adversaryTransport(session: 0, from: 0, body: [0xEE]); $0.send(from: 1, expected: 0, body: [5]); $0.deliver(8)
            }),
            ("pinned", LinkSeed.script(pinned: true) { $0.adversaryInitiation(to: 1, from: 2); $0.adversaryTransport(session: 0, from: 2, body: [0xEE]) }),
        ].map { (name: $0.0, bytes: $0.1) }
    }
}

/// Writes `LinkOp` scripts for seeds, operand for operand as `LinkScript.step` reads them.
struct LinkSeed {
    var writer = ScriptWriter()

    static func script(pinned: Bool, _ build: (inout LinkSeed) -> Void) -> [UInt8] {
        var seed = LinkSeed()
        seed.writer.bool(pinned)
        build(&seed)
        return seed.writer.bytes
    }

    private mutating func op(_ op: LinkOp) { writer.byte(op.rawValue) }

    /// `expected`: 0 nobody, 1 the other link, 2 the adversary.
    mutating func send(from side: Int, expected: Int, body: [UInt8]) {
        op(.send); writer.byte(UInt8(side)); writer.byte(UInt8(expected)); writer.blob(body)
    }
    mutating func advance(milliseconds: UInt16) { op(.advance); writer.uint16(milliseconds) }
    mutating func deliver(_ count: Int) { op(.deliver); writer.byte(UInt8(count - 1)) }
    mutating func lose(_ index: UInt8) { op(.lose); writer.byte(index) }
    mutating func duplicate(_ index: UInt8) { op(.duplicate); writer.byte(index) }
    mutating func reorder(_ index: UInt8) { op(.reorder); writer.byte(index) }
    mutating func replay(_ back: UInt8) { op(.replay); writer.byte(back) }
    mutating func mutate(_ back: UInt8, position: UInt16, mask: UInt8) { op(.mutate); writer.byte(back); writer.uint16(position); writer.byte(mask) }
    mutating func raw(to side: Int, from address: Int, _ bytes: [UInt8]) { op(.raw); writer.byte(UInt8(side)); writer.byte(UInt8(address)); writer.blob(bytes) }
    /// `type`: 0 initiation, 1 response, 2 the retired type 1, 3 transport.
    mutating func sealedHandshake(to side: Int, from address: Int, type: Int, body: [UInt8]) {
        op(.sealedHandshake); writer.byte(UInt8(side)); writer.byte(UInt8(address)); writer.byte(UInt8(type)); writer.bool(false); writer.blob(body)
    }
    mutating func adversaryInitiation(to side: Int, from address: Int, rawEphemeral: [UInt8]? = nil) {
        op(.adversaryInitiation); writer.byte(UInt8(side)); writer.byte(UInt8(address))
        writer.byte(0)  // responder: the target link
        writer.uint32(0x00AD_0001); writer.byte(0)  // sender index: the fuzz one
        writer.uint16(0)  // no clock skew
        if let rawEphemeral { writer.byte(0); writer.raw(rawEphemeral) } else { writer.byte(1) }
        writer.byte(1)  // the mesh's network key
    }
    mutating func adversaryResponse(to side: Int, from address: Int) {
        op(.adversaryResponse); writer.byte(UInt8(side)); writer.byte(UInt8(address)); writer.byte(0); writer.uint32(0x00AD_0002); writer.bool(false)
    }
    mutating func adversaryTransport(session: UInt8, from address: Int, body: [UInt8]) {
        op(.adversaryTransport); writer.byte(session); writer.byte(UInt8(address)); writer.blob(body)
    }
    mutating func decodeHandshake(_ bytes: [UInt8]) { op(.decodeHandshake); writer.blob(bytes) }
}

extension LinkWorld {
    /// A target's starting worlds, unpinned and pinned, each after `prepare`, with the randomness marks to rewind
    /// to: every input starts from the same state without redoing the handshakes.
    static func starts(_ prepare: (inout LinkWorld) throws(Violation) -> Void) -> [(world: LinkWorld, marks: [(UInt32, UInt32)])] {
        [false, true].map { pinned in
            do {
                var world = try LinkWorld(pinned: pinned)
                try prepare(&world)
                return (world, world.randomnessMarks)
            } catch {
                preconditionFailure("the starting world broke an invariant: \(error)")
            }
        }
    }

    /// Runs `input` as a script from the starting world its first bit picks.
    static func run(_ input: [UInt8], from starts: [(world: LinkWorld, marks: [(UInt32, UInt32)])]) throws(Violation) {
        var input = FuzzInput(input)
        var (world, marks) = starts[Int(input.byte() & 1)]
        world.rewindRandomness(to: marks)
        try LinkScript.run(&world, &input)
    }
}
