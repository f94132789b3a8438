import Testing
@testable import RumorWire

@Suite("MemberUpdate, AliveClaim, NodeName and Tags")
struct MemberUpdateTests {
    private func encode(_ update: MemberUpdate) -> [UInt8] {
        var writer = ByteWriter()
        update.write(to: &writer)
        return writer.bytes
    }

    @Test("every kind of update round trips, and encodedSize is what is written")
    func roundTrip() throws {
        for update in try Fixtures.memberUpdates() {
            let bytes = encode(update)
            #expect(bytes.count == update.encodedSize, "\(update)")
            var reader = ByteReader(bytes)
            #expect(MemberUpdate.read(from: &reader) == update)
            #expect(reader.isAtEnd)
        }
    }

    @Test("subject and incarnation name the member the update is about")
    func accessors() throws {
        let claim = AliveClaim(id: Fixtures.id(1), incarnation: 5, name: "a", address: Fixtures.ipv4, tags: Tags())
        #expect(MemberUpdate.alive(claim).subject == Fixtures.id(1))
        #expect(MemberUpdate.alive(claim).incarnation == 5)
        let suspect = MemberUpdate.suspect(subject: Fixtures.id(2), incarnation: 6, accuser: Fixtures.id(3))
        #expect(suspect.subject == Fixtures.id(2))
        #expect(suspect.incarnation == 6)
        let dead = MemberUpdate.dead(subject: Fixtures.id(4), incarnation: 7, accuser: Fixtures.id(5))
        #expect(dead.subject == Fixtures.id(4))
        #expect(dead.incarnation == 7)
        let left = MemberUpdate.left(subject: Fixtures.id(6), incarnation: 8, signature: [])
        #expect(left.subject == Fixtures.id(6))
        #expect(left.incarnation == 8)
    }

    @Test("alive layout: kind, incarnation, subject, name, address, tags, signature — known answer")
    func aliveKnownAnswer() throws {
        let update = MemberUpdate.alive(AliveClaim(
            id: Fixtures.id(0x11), incarnation: 2, name: "n1", address: Fixtures.loopback6, tags: try Fixtures.tags(["k": "v"])))
        let expected: [UInt8] = [1]
            + [0, 0, 0, 0, 0, 0, 0, 2]
            + [UInt8](repeating: 0x11, count: 32)
            + [2, 0x6E, 0x31]
            + [6] + [UInt8](repeating: 0, count: 15) + [1] + [0x00, 0x50]
            + [1, 1, 0x6B, 1, 0x76]
            + [UInt8](repeating: 0, count: 64)  // not signed yet: 64 zero bytes
        #expect(encode(update) == expected)
        let signed = MemberUpdate.alive(AliveClaim(id: Fixtures.id(0x11), incarnation: 2, name: "n1", address: Fixtures.loopback6,
                                                   tags: try Fixtures.tags(["k": "v"]), signature: [UInt8](repeating: 0x5A, count: 64)))
        #expect(encode(signed) == Array(expected.dropLast(64)) + [UInt8](repeating: 0x5A, count: 64))
    }

    @Test("suspect, dead and left layouts — known answers")
    func accusationKnownAnswers() {
        let incarnation: [UInt8] = [0, 0, 0, 0, 0, 0, 1, 0]
        let subject = [UInt8](repeating: 0x21, count: 32), accuser = [UInt8](repeating: 0x22, count: 32)
        #expect(encode(.suspect(subject: Fixtures.id(0x21), incarnation: 256, accuser: Fixtures.id(0x22)))
            == [2] + incarnation + subject + accuser)
        #expect(encode(.dead(subject: Fixtures.id(0x21), incarnation: 256, accuser: Fixtures.id(0x22)))
            == [3] + incarnation + subject + accuser)
        let signature = [UInt8](repeating: 0x77, count: 64)
        #expect(encode(.left(subject: Fixtures.id(0x21), incarnation: 256, signature: signature)) == [4] + incarnation + subject + signature)
    }

    @Test("every strict prefix of an update fails to decode")
    func truncation() throws {
        for update in try Fixtures.memberUpdates() {
            let bytes = encode(update)
            for length in 0..<bytes.count {
                var reader = ByteReader(Array(bytes.prefix(length)))
                #expect(MemberUpdate.read(from: &reader) == nil, "\(update) cut to \(length)")
            }
        }
    }

    @Test("an unknown kind byte is rejected")
    func unknownKind() {
        let body = [UInt8](repeating: 0, count: 8) + [UInt8](repeating: 0x21, count: 64)
        for kind in UInt8.min ... UInt8.max where !(1...4).contains(kind) {
            var reader = ByteReader([kind] + body)
            #expect(MemberUpdate.read(from: &reader) == nil, "kind \(kind)")
        }
    }

    @Test("an alive claim with an invalid name is rejected on the wire", arguments: ["", "-lead", "has space", "é"])
    func aliveRejectsInvalidName(name: String) {
        let claim = AliveClaim(id: Fixtures.id(1), incarnation: 1, name: name, address: Fixtures.ipv4, tags: Tags())
        var reader = ByteReader(encode(.alive(claim)))
        #expect(MemberUpdate.read(from: &reader) == nil)
    }

    @Test("an alive claim whose name is not UTF-8 is rejected")
    func aliveRejectsNonUTF8Name() {
        let claim = AliveClaim(id: Fixtures.id(1), incarnation: 1, name: "ab", address: Fixtures.ipv4, tags: Tags())
        var bytes = encode(.alive(claim))
        // kind (1) + incarnation (8) + subject (32) + name length (1): the name's first byte.
        bytes[42] = 0xFF
        var reader = ByteReader(bytes)
        #expect(MemberUpdate.read(from: &reader) == nil)
    }

    // MARK: NodeName

    @Test("valid node names", arguments: [
        "a", "Z", "9", "node-1", "Node_2.example", "_x", "x-", "x.", "a..b",
        String(repeating: "n", count: 64),
    ])
    func validNames(name: String) {
        #expect(NodeName.isValid(name))
    }

    @Test("invalid node names", arguments: [
        "", String(repeating: "n", count: 65), "-a", ".a", "a b", "a/b", "a:b", "é", "ａ", "a@b",
    ])
    func invalidNames(name: String) {
        #expect(!NodeName.isValid(name))
    }

    // Kept out of the argument lists above so that test logs carry no control characters.
    @Test("control characters are invalid in node names")
    func controlCharactersInNames() {
        #expect(!NodeName.isValid("a\u{0}"))
        #expect(!NodeName.isValid("a\n"))
        #expect(!NodeName.isValid("\tb"))
    }

    // MARK: Tags

    @Test("tags are kept sorted by key, so equal sets encode to equal bytes")
    func tagsSorted() throws {
        let tags = try Fixtures.tags(["zone": "z", "app": "a", "mid": "m"])
        #expect(tags.pairs.map(\.key) == ["app", "mid", "zone"])
        #expect(tags.map(\.value) == ["a", "m", "z"])
        #expect(tags["mid"] == "m")
        #expect(tags["absent"] == nil)
        #expect(tags.dictionary == ["zone": "z", "app": "a", "mid": "m"])
        var writer = ByteWriter()
        tags.write(to: &writer)
        #expect(writer.bytes == [3, 3, 0x61, 0x70, 0x70, 1, 0x61, 3, 0x6D, 0x69, 0x64, 1, 0x6D, 4, 0x7A, 0x6F, 0x6E, 0x65, 1, 0x7A])
        #expect(writer.count == tags.encodedSize)
    }

    @Test("an empty tag set is one zero byte")
    func emptyTags() {
        var writer = ByteWriter()
        Tags().write(to: &writer)
        #expect(writer.bytes == [0])
        #expect(Tags().encodedSize == 1)
        #expect(Tags([:]) == Tags())
    }

    @Test("at most 32 tags")
    func tagCountLimit() {
        let make = { (count: Int) in Dictionary(uniqueKeysWithValues: (0..<count).map { ("k\($0)", "") }) }
        #expect(Tags(make(Tags.maxCount)) != nil)
        #expect(Tags(make(Tags.maxCount + 1)) == nil)
    }

    @Test("keys are 1–255 bytes, values 0–255 bytes")
    func tagFieldLimits() {
        let b255 = String(repeating: "b", count: 255), b256 = String(repeating: "b", count: 256)
        #expect(Tags(["": "v"]) == nil)
        #expect(Tags([b255: ""]) != nil)
        #expect(Tags([b256: ""]) == nil)
        #expect(Tags(["k": b255]) != nil)
        #expect(Tags(["k": b256]) == nil)
        // 128 two-byte characters: 256 bytes, though only 128 characters.
        #expect(Tags(["k": String(repeating: "é", count: 128)]) == nil)
    }

    @Test("all tags together fit in 512 bytes on the wire")
    func tagSizeLimit() throws {
        // 1 (count) + (2 + 1 + 252) + (2 + 1 + valueLength) bytes.
        let first = String(repeating: "v", count: 252)
        let exactlyFull = try Fixtures.tags(["a": first, "b": String(repeating: "v", count: 253)])
        #expect(exactlyFull.encodedSize == Tags.maxEncodedSize)
        #expect(Tags(["a": first, "b": String(repeating: "v", count: 254)]) == nil)
    }

    @Test("decoding tags rejects duplicate keys, empty keys and more than 32 tags")
    func tagDecodingLimits() {
        func read(_ bytes: [UInt8]) -> Tags? {
            var reader = ByteReader(bytes)
            return Tags.read(from: &reader)
        }
        #expect(read([1, 1, 0x6B, 1, 0x76]) == Tags(["k": "v"]))
        #expect(read([2, 1, 0x6B, 1, 0x76, 1, 0x6B, 1, 0x77]) == nil)
        #expect(read([1, 0, 1, 0x76]) == nil)
        var tooMany: [UInt8] = [33]
        for index in 0..<33 { tooMany += [2, 0x6B, UInt8(0x40 + index), 0] }
        #expect(read(tooMany) == nil)
        #expect(read([1, 1, 0x6B]) == nil)
        #expect(read([]) == nil)
    }

    @Test("decoded tags come out sorted whatever the order on the wire")
    func tagDecodingSorts() throws {
        var reader = ByteReader([2, 1, 0x7A, 0, 1, 0x61, 0])
        let tags = try #require(Tags.read(from: &reader))
        #expect(tags.pairs.map(\.key) == ["a", "z"])
    }
}
