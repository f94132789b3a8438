import Testing
import RumorWire

@Suite("NodeID and Hex")
struct NodeIDTests {
    static let countingHex = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"

    @Test("hex is 64 lowercase characters of the bytes in order")
    func hexKnownAnswer() throws {
        let id = try Fixtures.countingID()
        #expect(id.hex == Self.countingHex)
        #expect(id.description == Self.countingHex)
        #expect(id.short == "00010203")
        #expect(id.bytes == (0..<32).map { UInt8($0) })
    }

    @Test("hex round trips, and upper case parses to the same id")
    func hexRoundTrip() throws {
        var generator = SeededGenerator(seed: 1)
        for _ in 0..<200 {
            let bytes = generator.bytes(32)
            let id = try #require(NodeID(bytes: bytes))
            #expect(id.bytes == bytes)
            #expect(NodeID(hex: id.hex) == id)
            #expect(NodeID(hex: id.hex.uppercased()) == id)
        }
    }

    static let badHex: [String] = {
        let good = countingHex
        return [
            "",
            String(good.dropLast()),
            good + "0",
            good + "00",
            "0x" + String(good.dropFirst(2)),
            "g" + String(good.dropFirst()),
            "G" + String(good.dropFirst()),
            " " + String(good.dropFirst()),
            String(good.dropLast()) + "?",
            "é" + String(good.dropFirst(2)),
        ]
    }()

    @Test("bad hex is rejected", arguments: badHex)
    func rejectsBadHex(text: String) {
        #expect(NodeID(hex: text) == nil)
    }

    @Test("only exactly 32 bytes make an id; any collection of them will do")
    func byteCount() throws {
        #expect(NodeID(bytes: [UInt8](repeating: 1, count: 31)) == nil)
        #expect(NodeID(bytes: [UInt8](repeating: 1, count: 33)) == nil)
        #expect(NodeID(bytes: [UInt8]()) == nil)
        let padded: [UInt8] = [0xFF] + (0..<32).map { UInt8($0) } + [0xFF]
        #expect(NodeID(bytes: padded[1..<33]) == (try Fixtures.countingID()))
    }

    @Test("ids order as their bytes do, lexicographically")
    func ordering() throws {
        var generator = SeededGenerator(seed: 2)
        for _ in 0..<500 {
            var a = generator.bytes(32)
            let b = generator.bytes(32)
            // Share a random-length prefix so that later words decide the order too.
            let shared = Int.random(in: 0...32, using: &generator)
            a.replaceSubrange(0..<shared, with: b[0..<shared])
            let idA = try #require(NodeID(bytes: a)), idB = try #require(NodeID(bytes: b))
            #expect((idA < idB) == a.lexicographicallyPrecedes(b))
            #expect((idA == idB) == (a == b))
        }
    }

    @Test("the wire form is the 32 bytes, and a short read is nil")
    func wireForm() throws {
        let id = try Fixtures.countingID()
        var writer = ByteWriter()
        id.write(to: &writer)
        #expect(writer.bytes == id.bytes)
        for length in 0..<32 {
            var reader = ByteReader(Array(writer.bytes.prefix(length)))
            #expect(NodeID.read(from: &reader) == nil)
        }
        var reader = ByteReader(writer.bytes)
        #expect(NodeID.read(from: &reader) == id)
    }

    @Test("Hex encodes lower case and decodes either case")
    func hexCodec() {
        #expect(Hex.encode([0x00, 0xFF, 0x10, 0xAB]) == "00ff10ab")
        #expect(Hex.encode([UInt8]()) == "")
        #expect(Hex.decode("00ff10AB") == [0x00, 0xFF, 0x10, 0xAB])
        #expect(Hex.decode("") == [])
        #expect(Hex.decode("abc") == nil)
        #expect(Hex.decode("zz") == nil)
        #expect(Hex.decode("0G") == nil)
        #expect(Hex.decode("g0") == nil)
        #expect(Hex.decode("@0") == nil)
        #expect(Hex.decode("`0") == nil)
        #expect(Hex.decode("0:") == nil)
        #expect(Hex.decode("/0") == nil)
        #expect(Hex.decode("0\n") == nil)
    }
}
