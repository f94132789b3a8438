import RumorCrypto
import RumorLink
import RumorWire
import Testing

/// SplitMix64: a small seeded generator, so every "random" input is the same on every run.
struct SeededGenerator: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    mutating func bytes(_ count: Int) -> [UInt8] {
        (0..<count).map { _ in UInt8.random(in: .min ... .max, using: &self) }
    }
}

/// Bytes from a hex literal in a test vector.
func hex(_ text: String) throws -> [UInt8] {
    try #require(Hex.decode(text))
}

/// A network key with fixed bytes, for tests that must not depend on randomness.
func networkKey(_ bytes: [UInt8]) throws -> NetworkKey {
    try #require(NetworkKey(bytes: bytes))
}

/// Whether `needle` occurs anywhere in `haystack`.
func contains(_ haystack: [UInt8], _ needle: [UInt8]) -> Bool {
    guard needle.count <= haystack.count else { return false }
    return (0...(haystack.count - needle.count)).contains { haystack[$0..<($0 + needle.count)].elementsEqual(needle) }
}
