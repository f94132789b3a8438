/// FNV-1a (64-bit) over everything the simulated network delivered: two runs with the same seed MUST end with
/// the same value, so any hidden source of nondeterminism (hash order, the real clock) shows up as a mismatch.
public struct TraceDigest: Hashable, Sendable, CustomStringConvertible {
    static let offsetBasis: UInt64 = 0xCBF2_9CE4_8422_2325
    static let prime: UInt64 = 0x0000_0100_0000_01B3

    public private(set) var value: UInt64 = offsetBasis

    public init() {}

    public mutating func combine(_ word: UInt64) {
        var hash = value
        for shift in stride(from: 0, to: 64, by: 8) {
            hash = (hash ^ ((word >> UInt64(shift)) & 0xFF)) &* TraceDigest.prime
        }
        value = hash
    }

    public mutating func combine(_ bytes: [UInt8]) {
        var hash = value
        bytes.withUnsafeBufferPointer { buffer in
            for byte in buffer { hash = (hash ^ UInt64(byte)) &* TraceDigest.prime }
        }
        value = hash
    }

    public var description: String {
        let hex = String(value, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }
}
