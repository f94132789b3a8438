internal import CSodium

/// libsodium is initialised once per process, before the first call that needs it (`sodium_init`).
enum Sodium {
    static let ready: Bool = sodium_init() >= 0

    @inline(__always) static func ensure() {
        precondition(ready, "libsodium failed to initialise (sodium_init)")
    }
}

/// Cryptographically secure random bytes (`randombytes_buf`).
public enum SecureRandom {
    public static func bytes(_ count: Int) -> [UInt8] {
        Sodium.ensure()
        var out = [UInt8](repeating: 0, count: count)
        out.withUnsafeMutableBytes { randombytes_buf($0.raw, $0.count) }
        return out
    }

    public static func uint64() -> UInt64 {
        bytes(8).reduce(0) { $0 << 8 | UInt64($1) }
    }

    /// Fills `buffer` with random bytes without allocating.
    public static func fill(_ buffer: UnsafeMutableRawBufferPointer) {
        Sodium.ensure()
        randombytes_buf(buffer.raw, buffer.count)
    }
}

/// Standard base64 with padding (`sodium_bin2base64` / `sodium_base642bin`), the text form of key files.
public enum Base64 {
    public static func encode(_ bytes: [UInt8]) -> String {
        Sodium.ensure()
        let variant = Int32(sodium_base64_VARIANT_ORIGINAL)
        var out = [UInt8](repeating: 0, count: sodium_base64_encoded_len(bytes.count, variant))
        out.withUnsafeMutableBytes { text in
            bytes.withUnsafeBytes { raw in
                _ = sodium_bin2base64(text.raw.assumingMemoryBound(to: CChar.self), text.count, raw.u8, raw.count, variant)
            }
        }
        return String(decoding: out.prefix { $0 != 0 }, as: UTF8.self)
    }

    /// Decodes base64 text (surrounding white space ignored); nil when it is not valid base64.
    public static func decode(_ text: String) -> [UInt8]? {
        Sodium.ensure()
        let isSpace: (UInt8) -> Bool = { $0 == 32 || $0 == 10 || $0 == 13 || $0 == 9 }
        let trimmed = Array(Array(text.utf8.drop(while: isSpace).reversed()).drop(while: isSpace).reversed())
        guard !trimmed.isEmpty else { return [] }
        var out = [UInt8](repeating: 0, count: trimmed.count)
        var length = 0
        var consumed = -1
        let status = out.withUnsafeMutableBytes { bin in
            trimmed.withUnsafeBytes { b64 -> Int32 in
                let chars = UnsafeRawPointer(b64.u8).assumingMemoryBound(to: CChar.self)
                var end: UnsafePointer<CChar>?
                let status = sodium_base642bin(bin.u8, bin.count, chars, b64.count, nil, &length, &end,
                                               Int32(sodium_base64_VARIANT_ORIGINAL))
                if let end { consumed = end - chars }
                return status
            }
        }
        // sodium_base642bin stops at the first invalid character; demand that it consumed everything.
        guard status == 0, consumed == trimmed.count else { return nil }
        return Array(out.prefix(length))
    }
}

/// A zeroed scratch area standing in for the base address of an empty buffer, because libsodium's
/// prototypes take non-null pointers even when the length is 0.
nonisolated(unsafe) private let emptyScratch = UnsafeMutableRawPointer.allocate(byteCount: 64, alignment: 16).initializeMemory(as: UInt8.self, repeating: 0, count: 64)

extension UnsafeRawBufferPointer {
    var u8: UnsafePointer<UInt8> { UnsafePointer((baseAddress ?? UnsafeRawPointer(emptyScratch)).assumingMemoryBound(to: UInt8.self)) }
}

extension UnsafeMutableRawBufferPointer {
    var u8: UnsafeMutablePointer<UInt8> { (baseAddress ?? UnsafeMutableRawPointer(emptyScratch)).assumingMemoryBound(to: UInt8.self) }
    var raw: UnsafeMutableRawPointer { baseAddress ?? UnsafeMutableRawPointer(emptyScratch) }
}
