import RumorCrypto
import Testing

@Suite("Base64")
struct Base64Tests {
    /// RFC 4648, section 10.
    @Test("RFC 4648 test vectors, both ways", arguments: [
        ("", ""), ("f", "Zg=="), ("fo", "Zm8="), ("foo", "Zm9v"), ("foob", "Zm9vYg=="), ("fooba", "Zm9vYmE="),
        ("foobar", "Zm9vYmFy"),
    ])
    func rfcVectors(plain: String, encoded: String) {
        #expect(Base64.encode(Array(plain.utf8)) == encoded)
        #expect(Base64.decode(encoded) == Array(plain.utf8))
    }

    @Test("the standard alphabet, with + and /")
    func alphabet() {
        #expect(Base64.encode([0xFB, 0xFF, 0xBF]) == "+/+/")
        #expect(Base64.decode("+/+/") == [0xFB, 0xFF, 0xBF])
    }

    @Test("white space around the text is ignored")
    func surroundingWhiteSpace() {
        #expect(Base64.decode("  Zm9v\n") == Array("foo".utf8))
        #expect(Base64.decode("\t\r\nZm9vYmFy\r\n\n ") == Array("foobar".utf8))
        #expect(Base64.decode(" \n\t") == [])
    }

    @Test("invalid base64 is rejected", arguments: [
        "Zm9v!", "Zg=", "Zg", "Z", "Zm9", "Zm 9v", "Z===", "=Zm9", "Zm9v====", "Zm-_",
        // Non-canonical: the unused low bits of the last character are not zero.
        "Zh==", "Zm9=",
        "é",
    ])
    func rejectsInvalid(text: String) {
        #expect(Base64.decode(text) == nil)
    }

    // Kept out of the argument list above so that test logs carry no control characters.
    @Test("white space or NUL inside the text is rejected")
    func rejectsInteriorControlCharacters() {
        #expect(Base64.decode("Zm9v\nYmFy") == nil)
        #expect(Base64.decode("Zm9v\u{0}") == nil)
        #expect(Base64.decode("Zm9v\u{0}YmFy") == nil)
        #expect(Base64.decode("Zm\t9v") == nil)
    }

    @Test("random bytes round trip")
    func randomRoundTrip() {
        var generator = SeededGenerator(seed: 20)
        for length in 0..<200 {
            let bytes = generator.bytes(length)
            let text = Base64.encode(bytes)
            #expect(text.utf8.count == (length + 2) / 3 * 4)
            #expect(Base64.decode(text) == bytes)
        }
    }
}
