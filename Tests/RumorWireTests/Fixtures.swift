import Testing
@testable import RumorWire

/// SplitMix64: a small seeded generator, so every "random" input is the same on every run and a failure
/// reproduces exactly.
struct SeededGenerator: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    mutating func bytes(_ count: Int) -> [UInt8] {
        (0..<count).map { _ in UInt8.random(in: .min ... .max, using: &self) }
    }
}

/// Sample values shared by the wire tests.
enum Fixtures {
    /// A node id whose 32 bytes all equal `fill`.
    static func id(_ fill: UInt8) -> NodeID {
        let word = UInt64(fill) &* 0x0101_0101_0101_0101
        return NodeID(words: word, word, word, word)
    }

    /// The node id 00 01 02 … 1f.
    static func countingID() throws -> NodeID {
        try #require(NodeID(bytes: (0..<32).map { UInt8($0) }))
    }

    static let ipv4 = PeerAddress(ipv4: [10, 0, 0, 1], port: 7946)
    static let ipv6 = PeerAddress(ipv6: [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x42], port: 443)
    static let loopback6 = PeerAddress(ipv6: [UInt8](repeating: 0, count: 15) + [1], port: 80)

    static func tags(_ dictionary: [String: String]) throws -> Tags {
        try #require(Tags(dictionary))
    }

    /// One member update of every kind, with IPv4 and IPv6 addresses, with and without tags.
    static func memberUpdates() throws -> [MemberUpdate] {
        [
            .alive(AliveClaim(id: id(0x11), incarnation: 0, name: "alpha", address: ipv4,
                              tags: try tags(["role": "db", "zone": "eu-west-1", "empty": ""]))),
            .alive(AliveClaim(id: id(0x12), incarnation: .max, name: "beta.node-2_x", address: ipv6, tags: Tags())),
            .alive(AliveClaim(id: id(0x13), incarnation: 7, name: String(repeating: "n", count: NodeName.maxLength),
                              address: loopback6, tags: try tags(["ünïcode": "välue ✓"]))),
            .suspect(subject: id(0x21), incarnation: 3, accuser: id(0x22)),
            .dead(subject: id(0x31), incarnation: 1 << 40, accuser: id(0x32)),
            .left(subject: id(0x41), incarnation: 9, signature: [UInt8](repeating: 0x41, count: 64)),
            .alive(AliveClaim(id: id(0x14), incarnation: 1, name: "signed", address: ipv4, tags: Tags(),
                              signature: (0..<64).map { UInt8($0) })),
        ]
    }

    /// At least one frame of every kind.
    static func frames() throws -> [Frame] {
        let chunkSource: [UInt8] = [9, 9, 1, 2, 3, 4, 5]
        var frames: [Frame] = [
            .ping(sequence: 0xDEAD_BEEF, target: try countingID()),
            .ack(sequence: 0),
            .ack(sequence: .max),
            .pingRequest(sequence: 42, target: id(0x51), address: ipv4),
            .pingRequest(sequence: 43, target: id(0x52), address: ipv6),
            .nack(sequence: 0x0102_0304),
            .syncRequest,
            // A chunk that is a slice not starting at index 0, as the decoder itself produces.
            .message(MessageFragment(epoch: 1_700_000_000, messageID: 5, floor: 3, totalLength: 5, index: 0, count: 1,
                                     chunk: chunkSource[2...])),
            .message(MessageFragment(epoch: .max, messageID: .max, floor: .max, totalLength: .max, index: 63,
                                     count: 64, chunk: [])),
            .messageAck(MessageAck(epoch: 1, messageID: 2, received: 0x8000_0000_0000_0001)),
            .datagram(chunkSource[1...]),
            .datagram([]),
        ]
        frames += try memberUpdates().map { .member($0) }
        return frames
    }

    /// Every kind of frame, each once.
    static let allKinds: [Frame.Kind] = [.ping, .ack, .pingRequest, .nack, .member, .syncRequest, .message, .messageAck, .datagram]

    /// A packet body holding `frames` from a fixed sender.
    static func packet(_ frames: [Frame]) -> PacketBody {
        PacketBody(sender: id(0xAA), frames: frames)
    }

    /// The encoding of one frame alone: type, length and body.
    static func encode(_ frame: Frame) -> [UInt8] {
        var writer = ByteWriter()
        frame.write(to: &writer)
        return writer.bytes
    }

    /// Raw frame bytes with a body the caller chose: `type | length | body`.
    static func rawFrame(type: UInt8, body: [UInt8]) -> [UInt8] {
        [type, UInt8(body.count >> 8), UInt8(body.count & 0xff)] + body
    }
}
