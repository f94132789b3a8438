import RumorWire

/// `PacketBody.decode`, the first decoder every authenticated datagram meets, and through it every frame
/// decoder (ping, ack, ping-request with its address, member updates with names and tags, fragments, acks).
///
/// Invariants: what decodes re-encodes to `encodedSize` bytes that decode to the same body, no longer than
/// the input (unknown frames are dropped, nothing is invented), and exactly as long when every frame type was
/// known (the encoding is canonical up to the order of tags).
public enum PacketTarget: FuzzTarget {
    public static let name = "packet"

    public static func run(_ input: [UInt8]) throws(Violation) {
        guard case .success(let body) = PacketBody.decode(input[...]) else { return }
        try check(body, knownFramesOnly: rawFrameTypes(input).allSatisfy { Frame.Kind(rawValue: $0) != nil }, inputCount: input.count)
    }

    /// The round trip of one decoded body; also used by the other targets on the packets their cores send.
    static func check(_ body: PacketBody, knownFramesOnly: Bool, inputCount: Int) throws(Violation) {
        try require(!body.frames.isEmpty, "a decoded body without frames")
        let encoded = body.encode()
        try require(encoded.count == body.encodedSize, "encode() wrote \(encoded.count) bytes, encodedSize says \(body.encodedSize)")
        try require(encoded.count <= inputCount, "re-encoding grew the packet from \(inputCount) to \(encoded.count) bytes")
        if knownFramesOnly {
            try require(encoded.count == inputCount, "re-encoding a packet of known frames changed its size \(inputCount) → \(encoded.count)")
        }
        for frame in body.frames {
            try require(frame.bodySize <= Int(UInt16.max), "a frame body of \(frame.bodySize) bytes cannot be framed")
        }
        switch PacketBody.decode(encoded[...]) {
        case .success(let again): try require(again == body, "decode(encode(body)) differs from body")
        case .failure(let error): throw Violation(message: "re-encoded body does not decode: \(error)", location: "\(#fileID):\(#line)")
        }
    }

    /// The type bytes of the frames in a packet, read with nothing but the frame header.
    static func rawFrameTypes(_ bytes: [UInt8]) -> [UInt8] {
        var types: [UInt8] = []
        var offset = NodeID.byteCount
        while offset + Frame.headerSize <= bytes.count {
            types.append(bytes[offset])
            offset += Frame.headerSize + (Int(bytes[offset + 1]) << 8 | Int(bytes[offset + 2]))
        }
        return types
    }

    public static func seeds() -> [(name: String, bytes: [UInt8])] {
        Samples.frames.map { (name: "frame-\($0.name)", bytes: PacketBody(sender: Samples.id(1), frames: [$0.frame]).encode()) }
            + [
                (name: "all-frames", bytes: PacketBody(sender: Samples.id(2), frames: Samples.frames.map(\.frame)).encode()),
                (name: "unknown-frame-skipped",
                 bytes: Samples.id(3).bytes + [0x7f, 0, 2, 0xaa, 0xbb] + Samples.encode(.ack(sequence: 9))),
            ]
    }
}
