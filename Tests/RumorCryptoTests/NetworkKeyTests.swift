import RumorCrypto
import Testing

@Suite("NetworkKey")
struct NetworkKeyTests {
    static let counting: [UInt8] = (0..<32).map { UInt8($0) }

    /// Key ids are the first 4 bytes of BLAKE2b-256("rumor-network-key-id-v1" ‖ key). The expected values were
    /// computed independently with Python's hashlib:
    /// `hashlib.blake2b(b"rumor-network-key-id-v1" + key, digest_size=32).digest()[:4]`.
    @Test("key ids match BLAKE2b known answers", arguments: [
        (counting, UInt32(0xFA4D_AD4A), "fa4dad4a"),
        ([UInt8](repeating: 0x00, count: 32), 0x26B2_4933, "26b24933"),
        ([UInt8](repeating: 0xFF, count: 32), 0x82D8_8A5E, "82d88a5e"),
        // Chosen because its id has leading zero nibbles, which idHex must keep.
        ([UInt8](repeating: 0, count: 30) + [0x05, 0x68], 0x000F_30A6, "000f30a6"),
    ])
    func keyIDKnownAnswers(bytes: [UInt8], id: UInt32, idHex: String) throws {
        let key = try networkKey(bytes)
        #expect(key.id == id)
        #expect(key.idHex == idHex)
        #expect(key.description == "NetworkKey(id: \(idHex))")
    }

    @Test("a key is exactly 32 bytes")
    func length() {
        #expect(NetworkKey(bytes: []) == nil)
        #expect(NetworkKey(bytes: [UInt8](repeating: 1, count: 31)) == nil)
        #expect(NetworkKey(bytes: [UInt8](repeating: 1, count: 33)) == nil)
        #expect(NetworkKey(bytes: [UInt8](repeating: 1, count: 32)) != nil)
    }

    @Test("the key keeps its bytes, and its description never shows them")
    func secretKept() throws {
        let key = try networkKey(Self.counting)
        #expect(key.secret.withUnsafeBytes { Array($0) } == Self.counting)
        #expect(!key.description.contains(Base64.encode(Self.counting)))
    }

    @Test("generated keys are distinct and well formed")
    func generate() {
        let a = NetworkKey.generate(), b = NetworkKey.generate()
        #expect(a.secret.count == 32)
        #expect(!a.secret.isEqual(to: b.secret))
        #expect(a.idHex.count == 8)
    }

    @Test("file text is base64 and a newline — known answer")
    func fileTextKnownAnswer() throws {
        let key = try networkKey(Self.counting)
        #expect(key.fileText == "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n")
    }

    @Test("file text round trips, with any white space around it")
    func parseRoundTrip() throws {
        let key = NetworkKey.generate()
        for text in [key.fileText, "  \(key.fileText)\n\n", "\t\r\n" + key.fileText.dropLast() + "\r\n  "] {
            let parsed = try #require(try? NetworkKey.parse(fileText: text).get())
            #expect(parsed.secret.isEqual(to: key.secret))
            #expect(parsed.id == key.id)
        }
    }

    @Test("key files of the wrong length are refused with their length")
    func parseWrongLength() {
        #expect(NetworkKey.parse(fileText: Base64.encode([UInt8](repeating: 7, count: 31))).failure == .wrongLength(31))
        #expect(NetworkKey.parse(fileText: Base64.encode([UInt8](repeating: 7, count: 33))).failure == .wrongLength(33))
        #expect(NetworkKey.parse(fileText: Base64.encode([UInt8](repeating: 7, count: 64))).failure == .wrongLength(64))
        #expect(NetworkKey.parse(fileText: "").failure == .wrongLength(0))
        #expect(NetworkKey.parse(fileText: " \n").failure == .wrongLength(0))
    }

    @Test("key files that are not base64 are refused", arguments: [
        "not a key", "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8", "AAECAwQFBgcICQoLDA0ODxAREhMUFRYX GBkaGxwdHh8=",
        "-----BEGIN PRIVATE KEY-----", "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=junk",
    ])
    func parseNotBase64(text: String) {
        #expect(NetworkKey.parse(fileText: text).failure == .notBase64)
    }

    @Test("file errors explain themselves")
    func fileErrorText() {
        #expect(NetworkKey.FileError.notBase64.description == "is not a Rumor network key (expected 32 bytes in base64)")
        #expect(NetworkKey.FileError.wrongLength(31).description == "holds 31 bytes, a network key has 32")
    }
}

extension Result {
    /// The error, or nil on success.
    var failure: Failure? {
        if case .failure(let error) = self { return error }
        return nil
    }
}
