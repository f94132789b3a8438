import Testing
@testable import RumorWire

@Suite("Frame and PacketBody")
struct FrameTests {
    private let sender = [UInt8](repeating: 0xAA, count: 32)

    @Test("every frame round trips alone in a packet")
    func eachFrameRoundTrips() throws {
        for frame in try Fixtures.frames() {
            let packet = Fixtures.packet([frame])
            let bytes = packet.encode()
            #expect(bytes.count == packet.encodedSize, "\(frame)")
            #expect(Fixtures.encode(frame).count == frame.encodedSize, "\(frame)")
            #expect(PacketBody.decode(bytes[...]) == .success(packet))
        }
    }

    @Test("all frames together round trip, in order")
    func allFramesRoundTrip() throws {
        let packet = Fixtures.packet(try Fixtures.frames())
        #expect(Set(packet.frames.map(\.kind.rawValue)) == Set(Fixtures.allKinds.map(\.rawValue)))
        let bytes = packet.encode()
        #expect(bytes.count == packet.encodedSize)
        #expect(PacketBody.decode(bytes[...]) == .success(packet))
    }

    @Test("a packet decodes from a slice that does not start at index 0")
    func decodesFromSlice() {
        let packet = Fixtures.packet([.ack(sequence: 1)])
        let padded = [0xEE] + packet.encode() + [0xEE]
        #expect(PacketBody.decode(padded[1..<(padded.count - 1)]) == .success(packet))
    }

    @Test("kind bytes are pinned")
    func kindBytes() {
        #expect(Fixtures.allKinds.map(\.rawValue) == [1, 2, 3, 4, 16, 17, 32, 33, 34])
    }

    // MARK: Known answers

    @Test("ack packet layout: sender, type 2, length 4, sequence")
    func ackKnownAnswer() {
        let bytes = Fixtures.packet([.ack(sequence: 0x0102_0304)]).encode()
        #expect(bytes == sender + [0x02, 0x00, 0x04, 0x01, 0x02, 0x03, 0x04])
    }

    @Test("ping-request layout: type 3, length 43, sequence, target, IPv4 address")
    func pingRequestKnownAnswer() throws {
        let frame = Frame.pingRequest(sequence: 7, target: try Fixtures.countingID(), address: Fixtures.ipv4)
        let expected: [UInt8] = [0x03, 0x00, 0x2B, 0x00, 0x00, 0x00, 0x07]
            + (0..<32).map { UInt8($0) }
            + [0x04, 10, 0, 0, 1, 0x1F, 0x0A]
        #expect(Fixtures.encode(frame) == expected)
    }

    @Test("ping, nack, sync-request and message-ack layouts")
    func fixedFramesKnownAnswers() throws {
        #expect(Fixtures.encode(.ping(sequence: 0x8000_0000, target: Fixtures.id(0x5A)))
            == [0x01, 0x00, 0x24, 0x80, 0, 0, 0] + [UInt8](repeating: 0x5A, count: 32))
        #expect(Fixtures.encode(.nack(sequence: 0xFFFF_FFFE)) == [0x04, 0x00, 0x04, 0xFF, 0xFF, 0xFF, 0xFE])
        #expect(Fixtures.encode(.syncRequest) == [0x11, 0x00, 0x00])
        #expect(Fixtures.encode(.messageAck(MessageAck(epoch: 1, messageID: 0x0203, received: 0x8000_0000_0000_0001)))
            == [0x21, 0x00, 0x18, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0x02, 0x03, 0x80, 0, 0, 0, 0, 0, 0, 1])
    }

    @Test("message layout: epoch, id, floor, total length, index, count, chunk")
    func messageKnownAnswer() {
        let fragment = MessageFragment(epoch: 0x0102_0304_0506_0708, messageID: 9, floor: 8, totalLength: 0x0001_0000,
                                       index: 2, count: 3, chunk: [0xC0, 0xFF, 0xEE])
        let expected: [UInt8] = [0x20, 0x00, 0x21]
            + [1, 2, 3, 4, 5, 6, 7, 8]
            + [0, 0, 0, 0, 0, 0, 0, 9]
            + [0, 0, 0, 0, 0, 0, 0, 8]
            + [0, 1, 0, 0]
            + [2, 3]
            + [0xC0, 0xFF, 0xEE]
        #expect(Fixtures.encode(.message(fragment)) == expected)
    }

    // MARK: Unknown and malformed frames

    @Test("frames of unknown type are skipped by their length")
    func unknownFramesSkipped() {
        let known = Set(Fixtures.allKinds.map(\.rawValue))
        let ack = Fixtures.encode(.ack(sequence: 5))
        for type in UInt8.min ... UInt8.max where !known.contains(type) {
            let bytes = sender + Fixtures.rawFrame(type: type, body: [1, 2, 3]) + ack
                + Fixtures.rawFrame(type: type, body: []) + Fixtures.encode(.nack(sequence: 6))
            #expect(PacketBody.decode(bytes[...]) == .success(Fixtures.packet([.ack(sequence: 5), .nack(sequence: 6)])),
                    "type \(type)")
        }
    }

    @Test("a packet of unknown frames only has no frames")
    func onlyUnknownFrames() {
        let bytes = sender + Fixtures.rawFrame(type: 0x7F, body: [1]) + Fixtures.rawFrame(type: 0, body: [])
        #expect(PacketBody.decode(bytes[...]) == .failure(.noFrames))
    }

    @Test("an unknown frame whose length runs past the end is truncation")
    func unknownFrameTruncated() {
        let bytes = sender + [0x7F, 0x00, 0x05, 1, 2]
        #expect(PacketBody.decode(bytes[...]) == .failure(.truncated))
    }

    @Test("the empty input, the bare sender and a partial frame header")
    func degenerateInputs() {
        #expect(PacketBody.decode([][...]) == .failure(.truncated))
        #expect(PacketBody.decode(sender[...]) == .failure(.noFrames))
        #expect(PacketBody.decode((sender + [0x02])[...]) == .failure(.truncated))
        #expect(PacketBody.decode((sender + [0x02, 0x00])[...]) == .failure(.truncated))
    }

    @Test("trailing bytes inside a frame body are rejected")
    func trailingBytesRejected() throws {
        // A message's chunk is by definition the rest of its frame, so it cannot have trailing bytes.
        for frame in try Fixtures.frames() where frame.kind != .message && frame.kind != .datagram {
            let encoded = Fixtures.encode(frame)
            let body = Array(encoded.dropFirst(Frame.headerSize)) + [0]
            let bytes = sender + Fixtures.rawFrame(type: frame.kind.rawValue, body: body)
            #expect(PacketBody.decode(bytes[...]) == .failure(.malformedFrame(frame.kind)), "\(frame)")
        }
    }

    @Test("a frame length shorter than its body is rejected, not read past")
    func shortLengthRejected() throws {
        for frame in try Fixtures.frames() where frame.kind != .message && frame.kind != .datagram && frame.kind != .syncRequest {
            var bytes = sender + Fixtures.encode(frame)
            // Shrink the declared length (bytes 33–34) by one: the frame's last byte now reads as a next frame.
            bytes[33] = UInt8((frame.bodySize - 1) >> 8)
            bytes[34] = UInt8((frame.bodySize - 1) & 0xff)
            #expect(PacketBody.decode(bytes[...]) == .failure(.malformedFrame(frame.kind)), "\(frame)")
        }
    }

    @Test("message fragment numbering must be sane", arguments: [
        (UInt8(0), UInt8(0)), (0, 65), (64, 64), (3, 2), (1, 1), (255, 255),
    ])
    func badFragmentNumbering(index: UInt8, count: UInt8) {
        var writer = ByteWriter()
        MessageFragment(epoch: 1, messageID: 1, floor: 0, totalLength: 1, index: index, count: count, chunk: [7])
            .write(to: &writer)
        let bytes = sender + Fixtures.rawFrame(type: Frame.Kind.message.rawValue, body: writer.bytes)
        #expect(PacketBody.decode(bytes[...]) == .failure(.malformedFrame(.message)))
    }

    @Test("a member frame with an unknown update kind is malformed")
    func badMemberKind() {
        let body: [UInt8] = [9] + [UInt8](repeating: 0, count: 8) + [UInt8](repeating: 1, count: 32)
        let bytes = sender + Fixtures.rawFrame(type: Frame.Kind.member.rawValue, body: body)
        #expect(PacketBody.decode(bytes[...]) == .failure(.malformedFrame(.member)))
    }

    @Test("the size constants agree with each other")
    func sizeConstants() {
        #expect(PacketBody.maxDatagramSize == 1200)
        #expect(PacketBody.sealOverhead == 46)
        #expect(PacketBody.maxFramesSize == 1200 - 46 - 32)
        #expect(Frame.headerSize == 3)
    }
}
