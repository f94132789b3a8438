internal import CSodium

/// Secret key material on the heap that is wiped (`sodium_memzero`) when the last reference goes away.
/// It never prints its contents.
public final class SecretBytes: @unchecked Sendable, CustomStringConvertible {
    // Immutable after init; shared read-only between threads.
    private let storage: UnsafeMutableRawBufferPointer
    /// The secret's length; `storage` holds at least one byte even for an empty secret.
    public let count: Int

    public init(_ bytes: [UInt8]) {
        storage = UnsafeMutableRawBufferPointer.allocate(byteCount: max(bytes.count, 1), alignment: 16)
        storage.copyBytes(from: bytes)
        count = bytes.count
    }

    /// Takes the bytes and wipes the caller's copy.
    public convenience init(consuming bytes: inout [UInt8]) {
        self.init(bytes)
        bytes.withUnsafeMutableBytes { sodium_memzero($0.baseAddress, $0.count) }
    }

    public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try body(UnsafeRawBufferPointer(rebasing: storage[0..<count]))
    }

    /// Constant-time comparison (`sodium_memcmp`).
    public func isEqual(to other: SecretBytes) -> Bool {
        guard count == other.count else { return false }
        return withUnsafeBytes { a in other.withUnsafeBytes { b in sodium_memcmp(a.baseAddress, b.baseAddress, a.count) == 0 } }
    }

    public var description: String { "SecretBytes(\(count) bytes, redacted)" }

    deinit {
        sodium_memzero(storage.baseAddress, storage.count)
        storage.deallocate()
    }
}
