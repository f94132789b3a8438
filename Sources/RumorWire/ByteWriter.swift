/// Appends big-endian integers and length-prefixed fields to a growable byte buffer.
///
/// Every multi-byte integer on Rumor's wire is big-endian (network order); see Docs/PROTOCOL.md.
public struct ByteWriter: Sendable {
    public private(set) var bytes: [UInt8]

    public init(capacity: Int = 256) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    public var count: Int { bytes.count }

    /// Empties the writer but keeps its storage, for writing the next packet without allocating.
    public mutating func removeAll() { bytes.removeAll(keepingCapacity: true) }

    /// Calls `body` with the bytes written so far.
    public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try bytes.withUnsafeBytes(body)
    }

    public mutating func write(_ value: UInt8) { bytes.append(value) }

    // Each integer goes in as one append of its big-endian bytes: one capacity and uniqueness check, not one per byte.
    public mutating func write(_ value: UInt16) {
        Swift.withUnsafeBytes(of: value.bigEndian) { bytes.append(contentsOf: $0) }
    }

    public mutating func write(_ value: UInt32) {
        Swift.withUnsafeBytes(of: value.bigEndian) { bytes.append(contentsOf: $0) }
    }

    public mutating func write(_ value: UInt64) {
        Swift.withUnsafeBytes(of: value.bigEndian) { bytes.append(contentsOf: $0) }
    }

    /// Appends `count` zero bytes (padding, an absent signature).
    public mutating func writeZeros(count: Int) {
        bytes.append(contentsOf: [UInt8](repeating: 0, count: count))
    }

    public mutating func write<C: Collection>(contentsOf data: C) where C.Element == UInt8 {
        bytes.append(contentsOf: data)
    }

    /// Writes a string as a one-byte length and its UTF-8 bytes. The caller MUST have checked the length (≤ 255).
    public mutating func writeShortString(_ string: String) {
        let utf8 = Array(string.utf8.prefix(255))
        write(UInt8(utf8.count))
        bytes.append(contentsOf: utf8)
    }

    /// Overwrites a big-endian UInt16 at `offset` (used to back-fill a frame length).
    public mutating func set(_ value: UInt16, at offset: Int) {
        bytes[offset] = UInt8(truncatingIfNeeded: value >> 8)
        bytes[offset + 1] = UInt8(truncatingIfNeeded: value)
    }
}
