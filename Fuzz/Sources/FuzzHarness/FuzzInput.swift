#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads the choices of one fuzz script from raw bytes, like LLVM's FuzzedDataProvider: every read succeeds —
/// past the end it yields zeros and empty arrays — so every byte string is a valid script and a mutation that
/// cuts one short still runs. `ScriptWriter` writes the same encodings, for seed inputs.
public struct FuzzInput: Sendable {
    private let bytes: [UInt8]
    private var offset = 0

    public init(_ bytes: [UInt8]) { self.bytes = bytes }

    public var isAtEnd: Bool { offset >= bytes.count }
    public var remaining: Int { max(0, bytes.count - offset) }

    public mutating func byte() -> UInt8 {
        guard offset < bytes.count else { return 0 }
        defer { offset += 1 }
        return bytes[offset]
    }

    public mutating func uint16() -> UInt16 { UInt16(byte()) << 8 | UInt16(byte()) }
    public mutating func uint32() -> UInt32 { UInt32(uint16()) << 16 | UInt32(uint16()) }
    public mutating func uint64() -> UInt64 { UInt64(uint32()) << 32 | UInt64(uint32()) }
    public mutating func bool() -> Bool { byte() & 1 == 1 }

    /// A number in `0..<count` from one byte (`count` ≤ 256) or two.
    public mutating func below(_ count: Int) -> Int {
        precondition(count > 0 && count <= 65_536, "below(\(count))")
        return count <= 256 ? Int(byte()) % count : Int(uint16()) % count
    }

    /// One of `options`, chosen by one byte.
    public mutating func pick<T>(_ options: [T]) -> T { options[below(options.count)] }

    /// Up to `count` bytes (fewer at the end of the input).
    public mutating func bytes(_ count: Int) -> [UInt8] {
        let taken = min(count, remaining)
        defer { offset += taken }
        return Array(bytes[offset..<(offset + taken)])
    }

    /// A two-byte length (reduced modulo `max + 1`), then that many bytes.
    public mutating func blob(max: Int) -> [UInt8] { bytes(Int(uint16()) % (max + 1)) }

    public mutating func rest() -> [UInt8] { bytes(remaining) }
}

/// Writes fuzz scripts in the encodings `FuzzInput` reads, so seeds say what they do.
public struct ScriptWriter: Sendable {
    public private(set) var bytes: [UInt8] = []

    public init() {}

    public mutating func byte(_ value: UInt8) { bytes.append(value) }
    public mutating func uint16(_ value: UInt16) { bytes += [UInt8(value >> 8), UInt8(truncatingIfNeeded: value)] }
    public mutating func uint32(_ value: UInt32) { uint16(UInt16(value >> 16)); uint16(UInt16(truncatingIfNeeded: value)) }
    public mutating func uint64(_ value: UInt64) { uint32(UInt32(value >> 32)); uint32(UInt32(truncatingIfNeeded: value)) }
    public mutating func bool(_ value: Bool) { byte(value ? 1 : 0) }
    /// The inverse of `FuzzInput.below`.
    public mutating func choice(_ value: Int, of count: Int) {
        if count <= 256 { byte(UInt8(value)) } else { uint16(UInt16(value)) }
    }
    public mutating func raw(_ data: [UInt8]) { bytes += data }
    public mutating func blob(_ data: [UInt8]) {
        uint16(UInt16(data.count))
        bytes += data
    }
}

/// With `RUMOR_FUZZ_TRACE` set, targets narrate the steps of an input on standard error — to read what a saved
/// crash does: `RUMOR_FUZZ_TRACE=1 Fuzz/.build-fuzz/debug/fuzz-NAME CRASH-FILE`.
public enum Trace {
    public static let enabled = getenv("RUMOR_FUZZ_TRACE") != nil

    public static func log(_ line: @autoclosure () -> String) {
        guard enabled else { return }
        let bytes = Array((line() + "\n").utf8)
        _ = bytes.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
    }
}
