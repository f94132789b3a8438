import Testing
@testable import RumorWire

/// Every decoder is total: truncated, mutated or random input yields nil or a failure, never a trap. When
/// junk happens to decode, what comes out must survive its own round trip.
@Suite("Decoder robustness")
struct DecoderRobustnessTests {
    /// Decodes, and if that succeeds, checks that the result re-encodes to something that decodes to itself.
    private func decodeChecked(_ bytes: [UInt8]) -> Result<PacketBody, PacketBody.DecodeError> {
        let result = PacketBody.decode(bytes[...])
        if case .success(let body) = result {
            #expect(PacketBody.decode(body.encode()[...]) == .success(body))
        }
        return result
    }

    @Test("a one-frame packet cut at every length fails: truncated, or no frames at the bare sender")
    func packetTruncation() throws {
        for frame in try Fixtures.frames() {
            let bytes = Fixtures.packet([frame]).encode()
            for length in 0..<bytes.count {
                let expected: PacketBody.DecodeError = length == NodeID.byteCount ? .noFrames : .truncated
                #expect(PacketBody.decode(bytes[..<length]) == .failure(expected), "\(frame) cut to \(length)")
            }
        }
    }

    @Test("a many-frame packet cut anywhere but a frame boundary fails")
    func multiFrameTruncation() throws {
        let frames = try Fixtures.frames()
        let bytes = Fixtures.packet(frames).encode()
        var boundaries: [Int: Int] = [:]  // end offset of the first n frames -> n
        var offset = NodeID.byteCount
        for (count, frame) in frames.enumerated() {
            offset += frame.encodedSize
            boundaries[offset] = count + 1
        }
        for length in NodeID.byteCount + 1..<bytes.count {
            let result = PacketBody.decode(bytes[..<length])
            if let count = boundaries[length] {
                #expect(result == .success(Fixtures.packet(Array(frames.prefix(count)))))
            } else {
                #expect(result == .failure(.truncated), "cut to \(length)")
            }
        }
    }

    @Test("every frame body cut short fails to decode")
    func frameBodyTruncation() throws {
        for frame in try Fixtures.frames() {
            let body = Array(Fixtures.encode(frame).dropFirst(Frame.headerSize))
            // A message's chunk is whatever follows its header, so only a cut into the header is an error; a
            // datagram's payload is all of its body, so no cut is.
            let shortest = frame.kind == .message ? MessageFragment.headerSize : frame.kind == .datagram ? 0 : body.count
            for length in 0..<shortest {
                #expect(Frame.decode(kind: frame.kind, body: body[..<length]) == nil, "\(frame) cut to \(length)")
            }
            #expect(Frame.decode(kind: frame.kind, body: body[...]) == frame)
        }
    }

    @Test("random bytes never trap the packet decoder")
    func randomPackets() {
        var generator = SeededGenerator(seed: 10)
        var failures = 0
        for _ in 0..<5_000 {
            let bytes = generator.bytes(Int.random(in: 0...300, using: &generator))
            if case .failure = decodeChecked(bytes) { failures += 1 }
        }
        // Uniform junk almost never forms a packet; a decoder that accepted everything would show here.
        #expect(failures > 4_900)
    }

    @Test("random frame bodies of every kind never trap, and what decodes re-encodes to itself")
    func randomFrameBodies() {
        var generator = SeededGenerator(seed: 11)
        for kind in Fixtures.allKinds {
            for _ in 0..<1_000 {
                let body = generator.bytes(Int.random(in: 0...120, using: &generator))
                if let frame = Frame.decode(kind: kind, body: body[...]) {
                    #expect(frame.kind == kind)
                    #expect(Frame.decode(kind: kind, body: Fixtures.encode(frame).dropFirst(Frame.headerSize)) == frame)
                }
            }
        }
    }

    @Test("random bytes after a valid packet header: the frames are the junk")
    func randomFramesAfterSender() {
        var generator = SeededGenerator(seed: 12)
        let known = Fixtures.allKinds.map(\.rawValue)
        for _ in 0..<3_000 {
            // A known type and a plausible length, so the junk reaches the frame decoders.
            let body = generator.bytes(Int.random(in: 0...80, using: &generator))
            let type = known[Int.random(in: 0..<known.count, using: &generator)]
            let bytes = Array(repeating: 0xAA, count: 32) + Fixtures.rawFrame(type: type, body: body)
            _ = decodeChecked(bytes)
        }
    }

    @Test("valid packets with random bytes flipped, inserted or removed never trap the decoder")
    func mutatedPackets() throws {
        var generator = SeededGenerator(seed: 13)
        let seeds = try Fixtures.frames().map { Fixtures.packet([$0]).encode() }
            + [Fixtures.packet(try Fixtures.frames()).encode()]
        for _ in 0..<5_000 {
            var bytes = seeds[Int.random(in: 0..<seeds.count, using: &generator)]
            for _ in 0..<Int.random(in: 1...4, using: &generator) {
                let position = Int.random(in: 0..<bytes.count, using: &generator)
                switch Int.random(in: 0..<3, using: &generator) {
                case 0: bytes[position] = UInt8.random(in: .min ... .max, using: &generator)
                case 1: bytes.insert(UInt8.random(in: .min ... .max, using: &generator), at: position)
                default: bytes.remove(at: position)
                }
                if bytes.isEmpty { break }
            }
            _ = decodeChecked(bytes)
        }
    }

    @Test("random bytes never trap the member, address and id decoders")
    func randomFieldDecoders() {
        var generator = SeededGenerator(seed: 14)
        for _ in 0..<3_000 {
            var bytes = generator.bytes(Int.random(in: 0...160, using: &generator))
            // Give the member decoder a valid kind byte often, so it reaches the fields behind it.
            if !bytes.isEmpty, Bool.random(using: &generator) { bytes[0] = UInt8.random(in: 1...4, using: &generator) }
            var reader = ByteReader(bytes)
            if let update = MemberUpdate.read(from: &reader) {
                var writer = ByteWriter()
                update.write(to: &writer)
                var again = ByteReader(writer.bytes)
                #expect(MemberUpdate.read(from: &again) == update)
            }
            reader = ByteReader(bytes)
            _ = PeerAddress.read(from: &reader)
            reader = ByteReader(bytes)
            _ = NodeID.read(from: &reader)
            reader = ByteReader(bytes)
            _ = Tags.read(from: &reader)
        }
    }

    @Test("random text never traps the endpoint and hex parsers")
    func randomText() {
        var generator = SeededGenerator(seed: 15)
        let alphabet = Array("0123456789abcdefABCDEF:[].-+ %xé\u{0}")
        for _ in 0..<3_000 {
            let text = String((0..<Int.random(in: 0...24, using: &generator)).map { _ in
                alphabet[Int.random(in: 0..<alphabet.count, using: &generator)]
            })
            if let endpoint = Endpoint(parsing: text) {
                #expect(!endpoint.host.isEmpty)
            }
            if let address = PeerAddress(parsing: text) {
                #expect(PeerAddress(parsing: address.description) == address)
            }
            _ = NodeID(hex: text)
            _ = Hex.decode(text)
        }
    }
}
