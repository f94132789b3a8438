import RumorCrypto
import Testing

@Suite("IdentityKey")
struct IdentityKeyTests {
    /// RFC 8032, section 7.1, TEST 1 and TEST 2, and a counting seed. Each public key and signature was
    /// also checked with Python's `cryptography` (Ed25519PrivateKey.from_private_bytes(seed)).
    static let vectors: [(seed: String, publicKey: String, message: String, signature: String)] = [
        ("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
         "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
         "",
         "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"),
        ("4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
         "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
         "72",
         "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00"),
        ("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
         "03a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b8",
         "72756d6f72",
         "68c5e4a39f1eeaf01afdb1da666f02694b062e652ec47fda8a0decd897be00809c421366419d4cb49b89d830d0a6d042d72257e8005b492ac9c257db802bdc03"),
    ]

    @Test("a fixed seed gives a fixed public key and signature", arguments: 0..<vectors.count)
    func knownAnswers(index: Int) throws {
        let vector = Self.vectors[index]
        let key = try #require(IdentityKey(seed: try hex(vector.seed)))
        #expect(key.publicKey == (try hex(vector.publicKey)))
        let message = try hex(vector.message)
        let signature = key.sign(message)
        #expect(signature == (try hex(vector.signature)))
        #expect(IdentityKey.verify(signature: signature, message: message, publicKey: key.publicKey))
    }

    @Test("a seed is exactly 32 bytes")
    func seedLength() {
        #expect(IdentityKey(seed: []) == nil)
        #expect(IdentityKey(seed: [UInt8](repeating: 1, count: 31)) == nil)
        #expect(IdentityKey(seed: [UInt8](repeating: 1, count: 33)) == nil)
    }

    @Test("a signature over any message verifies; flipping any byte of it or of the message fails")
    func flippedBytesFail() {
        let key = IdentityKey.generate()
        let message = Array("the quick brown fox".utf8)
        let signature = key.sign(message)
        #expect(signature.count == IdentityKey.signatureSize)
        #expect(IdentityKey.verify(signature: signature, message: message, publicKey: key.publicKey))
        for index in signature.indices {
            var tampered = signature
            tampered[index] ^= 0x01
            #expect(!IdentityKey.verify(signature: tampered, message: message, publicKey: key.publicKey), "byte \(index)")
        }
        for index in message.indices {
            var tampered = message
            tampered[index] ^= 0x80
            #expect(!IdentityKey.verify(signature: signature, message: tampered, publicKey: key.publicKey), "byte \(index)")
        }
        #expect(!IdentityKey.verify(signature: signature, message: message + [0], publicKey: key.publicKey))
        #expect(!IdentityKey.verify(signature: signature, message: message.dropLast(), publicKey: key.publicKey))
    }

    @Test("another key's public key does not verify the signature")
    func wrongPublicKey() {
        let signer = IdentityKey.generate(), other = IdentityKey.generate()
        #expect(signer.publicKey != other.publicKey)
        let signature = signer.sign([1, 2, 3])
        #expect(!IdentityKey.verify(signature: signature, message: [1, 2, 3], publicKey: other.publicKey))
    }

    @Test("wrong sizes are simply false")
    func wrongSizes() {
        let key = IdentityKey.generate()
        let signature = key.sign([5])
        #expect(!IdentityKey.verify(signature: signature.dropLast(), message: [5], publicKey: key.publicKey))
        #expect(!IdentityKey.verify(signature: signature + [0], message: [5], publicKey: key.publicKey))
        #expect(!IdentityKey.verify(signature: signature, message: [5], publicKey: Array(key.publicKey.dropLast())))
        #expect(!IdentityKey.verify(signature: [UInt8](), message: [5], publicKey: []))
    }

    @Test("signing accepts any collection of bytes, slices included")
    func signsSlices() {
        let key = IdentityKey.generate()
        let padded: [UInt8] = [0xEE, 1, 2, 3, 0xEE]
        let signature = key.sign(padded[1..<4])
        #expect(signature == key.sign([1, 2, 3]))
        #expect(IdentityKey.verify(signature: signature[...], message: padded[1..<4], publicKey: key.publicKey))
    }

    @Test("file text is the seed in base64 and a newline, and parses back to the same key")
    func fileText() throws {
        let seed = try hex(Self.vectors[0].seed)
        let key = try #require(IdentityKey(seed: seed))
        #expect(key.fileText == Base64.encode(seed) + "\n")
        #expect(key.fileText == "nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A=\n")
        let parsed = try #require(IdentityKey.parse(fileText: "  " + key.fileText + "\n"))
        #expect(parsed.publicKey == key.publicKey)
        let generated = IdentityKey.generate()
        #expect(IdentityKey.parse(fileText: generated.fileText)?.publicKey == generated.publicKey)
    }

    @Test("identity files of the wrong length or not base64 are refused", arguments: [
        "", "\n", "not base64!", "AAAA", "nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A", "nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2AA",
    ])
    func parseRefuses(text: String) {
        #expect(IdentityKey.parse(fileText: text) == nil)
    }

    @Test("the description shows the first 4 public key bytes as 8 hex digits, and nothing secret")
    func description() throws {
        // This public key starts d7 5a 98 01: the 01 must keep its leading zero.
        let key = try #require(IdentityKey(seed: try hex(Self.vectors[0].seed)))
        #expect(key.description == "IdentityKey(public: d75a9801…)")
        #expect(!key.description.contains("9d61b1"))
        #expect(!key.description.contains(Base64.encode(try hex(Self.vectors[0].seed))))
    }
}
