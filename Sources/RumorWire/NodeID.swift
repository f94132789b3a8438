/// A node's identity: its 32-byte Ed25519 public key, shown as 64 lowercase hex characters.
///
/// Stored as four words so that hashing and comparing an id costs no heap allocation.
public struct NodeID: Hashable, Comparable, Sendable, CustomStringConvertible {
    public static let byteCount = 32
    let w0: UInt64, w1: UInt64, w2: UInt64, w3: UInt64

    /// Returns nil unless `bytes` holds exactly 32 bytes.
    public init?<C: Collection>(bytes: C) where C.Element == UInt8 {
        guard bytes.count == NodeID.byteCount else { return nil }
        // Word by word, without an array: ids are decoded from every packet.
        var words: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
        for (index, byte) in bytes.enumerated() {
            switch index / 8 {
            case 0: words.0 = words.0 << 8 | UInt64(byte)
            case 1: words.1 = words.1 << 8 | UInt64(byte)
            case 2: words.2 = words.2 << 8 | UInt64(byte)
            default: words.3 = words.3 << 8 | UInt64(byte)
            }
        }
        (w0, w1, w2, w3) = words
    }

    /// One word into the hasher, not four: an id is a public key whose holder signs for it, so ids that collide in
    /// these 64 bits cannot be made in numbers, and tables keyed by id are looked up many times per packet.
    public func hash(into hasher: inout Hasher) {
        hasher.combine(w0 ^ w1 ^ w2 ^ w3)
    }

    /// Parses 64 hex characters (either case); nil otherwise.
    public init?(hex: String) {
        guard let bytes = Hex.decode(hex) else { return nil }
        self.init(bytes: bytes)
    }

    public var bytes: [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(32)
        for word in [w0, w1, w2, w3] {
            for shift in stride(from: 56, through: 0, by: -8) { out.append(UInt8(truncatingIfNeeded: word >> UInt64(shift))) }
        }
        return out
    }

    public var hex: String { Hex.encode(bytes) }
    public var description: String { hex }
    /// The first 8 hex characters: enough to tell peers apart in logs and tables.
    public var short: String { String(hex.prefix(8)) }

    public static func < (lhs: NodeID, rhs: NodeID) -> Bool {
        (lhs.w0, lhs.w1, lhs.w2, lhs.w3) < (rhs.w0, rhs.w1, rhs.w2, rhs.w3)
    }

    public func write(to writer: inout ByteWriter) {
        // One append of all 32 bytes: an id is written into every packet.
        let words = (w0.bigEndian, w1.bigEndian, w2.bigEndian, w3.bigEndian)
        Swift.withUnsafeBytes(of: words) { writer.write(contentsOf: $0) }
    }

    public static func read(from reader: inout ByteReader) -> NodeID? {
        guard let a = reader.readUInt64(), let b = reader.readUInt64(),
              let c = reader.readUInt64(), let d = reader.readUInt64() else { return nil }
        return NodeID(words: a, b, c, d)
    }

    package init(words w0: UInt64, _ w1: UInt64, _ w2: UInt64, _ w3: UInt64) {
        (self.w0, self.w1, self.w2, self.w3) = (w0, w1, w2, w3)
    }
}

/// Lowercase hex encoding and a total decoder.
public enum Hex {
    private static let digits = Array("0123456789abcdef".utf8)

    public static func encode<C: Collection>(_ bytes: C) -> String where C.Element == UInt8 {
        var chars: [UInt8] = []
        chars.reserveCapacity(bytes.count * 2)
        for byte in bytes {
            chars.append(digits[Int(byte >> 4)])
            chars.append(digits[Int(byte & 0x0f)])
        }
        return String(decoding: chars, as: UTF8.self)
    }

    /// Decodes an even-length hex string; nil on any other character or an odd length.
    public static func decode(_ text: String) -> [UInt8]? {
        let chars = Array(text.utf8)
        guard chars.count % 2 == 0 else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(chars.count / 2)
        var index = 0
        while index < chars.count {
            guard let high = nibble(chars[index]), let low = nibble(chars[index + 1]) else { return nil }
            out.append(high << 4 | low)
            index += 2
        }
        return out
    }

    static func nibble(_ char: UInt8) -> UInt8? {
        switch char {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return char - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return char - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return char - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}
