import RumorCrypto
import Testing

@Suite("XChaCha20Poly1305")
struct XChaCha20Poly1305Tests {
    /// draft-irtf-cfrg-xchacha-03, appendix A.3.1; also reproduced independently in Python (HChaCha20 by hand,
    /// then `cryptography`'s ChaCha20Poly1305).
    static let plaintext = Array(
        "Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it."
            .utf8)
    static let aad = "50515253c0c1c2c3c4c5c6c7"
    static let key = "808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f"
    static let nonce = "404142434445464748494a4b4c4d4e4f5051525354555657"
    static let sealed = "bd6d179d3e83d43b9576579493c0e939572a1700252bfaccbed2902c21396cbb731c7f1b0b4aa6440bf3a82f4eda7e39"
        + "ae64c6708c54c216cb96b72e1213b4522f8c9ba40db5d945b11b69b982c1bb9e3f3fac2bc369488f76b2383565d3fff921f9664c9763"
        + "7da9768812f615c68b13b52e" + "c0875924c1c7987947deafd8780acf49"

    private func seal(_ plaintext: [UInt8], aad: [UInt8], nonce: [UInt8], key: [UInt8], prefix: [UInt8] = []) -> [UInt8] {
        var output = prefix
        plaintext.withUnsafeBytes { p in
            aad.withUnsafeBytes { a in
                nonce.withUnsafeBytes { n in
                    XChaCha20Poly1305.seal(plaintext: p, additionalData: a, nonce: n, key: SecretBytes(key), appendingTo: &output)
                }
            }
        }
        return output
    }

    private func open(_ ciphertext: [UInt8], aad: [UInt8], nonce: [UInt8], key: [UInt8]) -> [UInt8]? {
        ciphertext.withUnsafeBytes { c in
            aad.withUnsafeBytes { a in
                nonce.withUnsafeBytes { n in
                    XChaCha20Poly1305.open(ciphertext: c, additionalData: a, nonce: n, key: SecretBytes(key))
                }
            }
        }
    }

    @Test("the draft's test vector seals and opens")
    func knownAnswer() throws {
        let aad = try hex(Self.aad), key = try hex(Self.key), nonce = try hex(Self.nonce), sealed = try hex(Self.sealed)
        #expect(seal(Self.plaintext, aad: aad, nonce: nonce, key: key) == sealed)
        #expect(open(sealed, aad: aad, nonce: nonce, key: key) == Self.plaintext)
    }

    @Test("the empty message under zero key and nonce is its tag alone")
    func emptyKnownAnswer() {
        let zeroKey = [UInt8](repeating: 0, count: 32), zeroNonce = [UInt8](repeating: 0, count: 24)
        let expected: [UInt8] = [0x8F, 0x3B, 0x94, 0x5A, 0x51, 0x90, 0x6D, 0xC8, 0x60, 0x0D, 0xE9, 0xF8, 0x96, 0x2D, 0x00, 0xE6]
        #expect(seal([], aad: [], nonce: zeroNonce, key: zeroKey) == expected)
        #expect(open(expected, aad: [], nonce: zeroNonce, key: zeroKey) == [])
    }

    @Test("sealing appends to what the output already holds")
    func appends() throws {
        let aad = try hex(Self.aad), key = try hex(Self.key), nonce = try hex(Self.nonce)
        let output = seal(Self.plaintext, aad: aad, nonce: nonce, key: key, prefix: [1, 2, 3])
        #expect(Array(output.prefix(3)) == [1, 2, 3])
        #expect(Array(output.dropFirst(3)) == (try hex(Self.sealed)))
    }

    @Test("a wrong key, nonce, additional data or any flipped byte fails to open")
    func tamperingFails() throws {
        let aad = try hex(Self.aad), key = try hex(Self.key), nonce = try hex(Self.nonce), sealed = try hex(Self.sealed)
        var otherKey = key
        otherKey[0] ^= 1
        #expect(open(sealed, aad: aad, nonce: nonce, key: otherKey) == nil)
        var otherNonce = nonce
        otherNonce[23] ^= 1
        #expect(open(sealed, aad: aad, nonce: otherNonce, key: key) == nil)
        #expect(open(sealed, aad: aad.dropLast(), nonce: nonce, key: key) == nil)
        #expect(open(sealed, aad: [], nonce: nonce, key: key) == nil)
        for index in sealed.indices {
            var tampered = sealed
            tampered[index] ^= 0x40
            #expect(open(tampered, aad: aad, nonce: nonce, key: key) == nil, "byte \(index)")
        }
    }

    @Test("input shorter than a tag, or a nonce of the wrong size, is nil")
    func shortInputs() throws {
        let key = try hex(Self.key), nonce = try hex(Self.nonce), sealed = try hex(Self.sealed)
        for length in 0..<XChaCha20Poly1305.tagSize {
            #expect(open(Array(sealed.prefix(length)), aad: [], nonce: nonce, key: key) == nil)
        }
        #expect(open(sealed, aad: try hex(Self.aad), nonce: Array(nonce.dropLast()), key: key) == nil)
        #expect(open(sealed, aad: try hex(Self.aad), nonce: nonce + [0], key: key) == nil)
    }

    @Test("the sizes are XChaCha20-Poly1305's")
    func sizes() {
        #expect(XChaCha20Poly1305.keySize == 32)
        #expect(XChaCha20Poly1305.nonceSize == 24)
        #expect(XChaCha20Poly1305.tagSize == 16)
    }
}
