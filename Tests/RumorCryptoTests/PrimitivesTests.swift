import RumorCrypto
import Testing

@Suite("SecureRandom and SecretBytes")
struct PrimitivesTests {
    @Test("SecureRandom gives the length asked for, and fresh bytes each time")
    func secureRandom() {
        #expect(SecureRandom.bytes(0).isEmpty)
        #expect(SecureRandom.bytes(1).count == 1)
        let draws = (0..<16).map { _ in SecureRandom.bytes(32) }
        #expect(draws.allSatisfy { $0.count == 32 })
        // Sixteen 256-bit draws collide with probability ~2^-249: a repeat means the generator is broken.
        #expect(Set(draws).count == 16)
        #expect(SecureRandom.uint64() != SecureRandom.uint64())
    }

    @Test("SecureRandom spreads its bytes over all values")
    func secureRandomCoverage() {
        // 16 KiB of uniform bytes miss one of 256 values with probability ~256·e^-64: never.
        #expect(Set(SecureRandom.bytes(16_384)).count == 256)
    }

    @Test("SecureRandom.fill writes the whole buffer")
    func fill() {
        var buffer = [UInt8](repeating: 0, count: 64)
        buffer.withUnsafeMutableBytes { SecureRandom.fill($0) }
        // 64 random bytes are all zero with probability 2^-512; more than 8 zeros with ~10^-9.
        #expect(buffer.filter { $0 == 0 }.count < 8)
        var empty: [UInt8] = []
        empty.withUnsafeMutableBytes { SecureRandom.fill($0) }
        #expect(empty.isEmpty)
    }

    @Test("SecretBytes holds exactly the bytes it was given")
    func secretBytesContents() {
        let secret = SecretBytes([1, 2, 3])
        #expect(secret.count == 3)
        #expect(secret.withUnsafeBytes { Array($0) } == [1, 2, 3])
    }

    @Test("empty SecretBytes are empty")
    func emptySecretBytes() {
        let empty = SecretBytes([])
        #expect(empty.count == 0)
        #expect(empty.withUnsafeBytes { $0.count } == 0)
        #expect(!empty.isEqual(to: SecretBytes([0])))
        #expect(empty.isEqual(to: SecretBytes([])))
    }

    @Test("SecretBytes(consuming:) wipes the caller's copy")
    func consumingWipes() {
        var source: [UInt8] = [9, 8, 7, 6]
        let secret = SecretBytes(consuming: &source)
        #expect(source == [0, 0, 0, 0])
        #expect(secret.withUnsafeBytes { Array($0) } == [9, 8, 7, 6])
    }

    @Test("SecretBytes compare by content and length")
    func secretBytesEquality() {
        let a = SecretBytes([1, 2, 3, 4])
        #expect(a.isEqual(to: SecretBytes([1, 2, 3, 4])))
        #expect(!a.isEqual(to: SecretBytes([1, 2, 3, 5])))
        #expect(!a.isEqual(to: SecretBytes([1, 2, 3])))
        #expect(!a.isEqual(to: SecretBytes([1, 2, 3, 4, 0])))
    }

    @Test("SecretBytes never print their contents")
    func secretBytesRedacted() {
        let secret = SecretBytes([0x41, 0x42, 0x43, 0x44])
        #expect(secret.description == "SecretBytes(4 bytes, redacted)")
        #expect("\(secret)" == secret.description)
    }
}
