#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A numeric UDP endpoint: an IPv4 or IPv6 address and a port. Host names are resolved by the node shell,
/// never here, so this type stays pure and cheap to hash.
public struct PeerAddress: Hashable, Sendable, CustomStringConvertible {
    public enum Family: UInt8, Sendable { case ipv4 = 4, ipv6 = 6 }

    public let family: Family
    /// The address bytes in network order: the first 4 of `high` for IPv4, all 16 bytes for IPv6.
    public let high: UInt64
    public let low: UInt64
    public let port: UInt16

    public init(ipv4 bytes: [UInt8], port: UInt16) {
        precondition(bytes.count == 4, "IPv4 address must be 4 bytes")
        family = .ipv4
        high = bytes.reduce(0) { $0 << 8 | UInt64($1) } << 32
        low = 0
        self.port = port
    }

    public init(ipv6 bytes: [UInt8], port: UInt16) {
        precondition(bytes.count == 16, "IPv6 address must be 16 bytes")
        family = .ipv6
        high = bytes[0..<8].reduce(0) { $0 << 8 | UInt64($1) }
        low = bytes[8..<16].reduce(0) { $0 << 8 | UInt64($1) }
        self.port = port
    }

    /// An IPv4 address from its 32 bits in host order (`0x7F000001` is 127.0.0.1): no array, for the receive path.
    public init(ipv4 host: UInt32, port: UInt16) {
        family = .ipv4
        high = UInt64(host) << 32
        low = 0
        self.port = port
    }

    /// An IPv6 address from its two 64-bit halves in host order: no array, for the receive path.
    public init(ipv6High high: UInt64, low: UInt64, port: UInt16) {
        family = .ipv6
        self.high = high
        self.low = low
        self.port = port
    }

    /// The IPv4 address's 32 bits in host order (0 for IPv6).
    public var ipv4Host: UInt32 { family == .ipv4 ? UInt32(truncatingIfNeeded: high >> 32) : 0 }

    public func withPort(_ port: UInt16) -> PeerAddress {
        family == .ipv4 ? PeerAddress(ipv4: addressBytes, port: port) : PeerAddress(ipv6: addressBytes, port: port)
    }

    /// The 4 (IPv4) or 16 (IPv6) address bytes in network order.
    public var addressBytes: [UInt8] {
        let count = family == .ipv4 ? 4 : 16
        var out: [UInt8] = []
        out.reserveCapacity(count)
        for index in 0..<count {
            let word = index < 8 ? high : low
            out.append(UInt8(truncatingIfNeeded: word >> UInt64(56 - 8 * (index % 8))))
        }
        return out
    }

    /// True for 0.0.0.0 and ::, which a node may listen on but never advertise.
    public var isUnspecified: Bool { high == 0 && low == 0 }

    public var isLoopback: Bool {
        switch family {
        case .ipv4: return high >> 56 == 127
        case .ipv6: return high == 0 && low == 1
        }
    }

    /// The host part as text: `127.0.0.1` or `::1` (no brackets).
    public var host: String {
        var bytes = addressBytes
        var buffer = [CChar](repeating: 0, count: 64)
        let af = family == .ipv4 ? AF_INET : AF_INET6
        let ok = bytes.withUnsafeMutableBytes { raw in
            buffer.withUnsafeMutableBufferPointer { out in
                inet_ntop(af, raw.baseAddress, out.baseAddress, socklen_t(out.count)) != nil
            }
        }
        guard ok else { return "?" }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// `HOST:PORT`, with IPv6 hosts in brackets: `[::1]:7946`.
    public var description: String {
        family == .ipv6 ? "[\(host)]:\(port)" : "\(host):\(port)"
    }

    /// Parses a numeric `HOST:PORT` (`127.0.0.1:0`, `[::1]:7946`). Returns nil for names or bad syntax;
    /// see `Endpoint` for the split into host text and port that the shell resolves.
    public init?(parsing text: String) {
        guard let endpoint = Endpoint(parsing: text), let address = PeerAddress(numericHost: endpoint.host, port: endpoint.port) else {
            return nil
        }
        self = address
    }

    /// Parses a numeric host (no brackets) with a port; nil if the host is not an IPv4 or IPv6 literal.
    public init?(numericHost host: String, port: UInt16) {
        // inet_pton reads a C string: a NUL would end the host early and hide whatever follows it.
        guard !host.utf8.contains(0) else { return nil }
        var v4 = [UInt8](repeating: 0, count: 4)
        if v4.withUnsafeMutableBytes({ inet_pton(AF_INET, host, $0.baseAddress) }) == 1 {
            self.init(ipv4: v4, port: port)
            return
        }
        var v6 = [UInt8](repeating: 0, count: 16)
        if v6.withUnsafeMutableBytes({ inet_pton(AF_INET6, host, $0.baseAddress) }) == 1 {
            self.init(ipv6: v6, port: port)
            return
        }
        return nil
    }

    // Wire form: family (1 byte: 4 or 6), address (4 or 16 bytes), port (2 bytes).
    public func write(to writer: inout ByteWriter) {
        writer.write(family.rawValue)
        writer.write(contentsOf: addressBytes)
        writer.write(port)
    }

    public var encodedSize: Int { family == .ipv4 ? 7 : 19 }

    public static func read(from reader: inout ByteReader) -> PeerAddress? {
        guard let raw = reader.readUInt8(), let family = Family(rawValue: raw) else { return nil }
        guard let bytes = reader.readBytes(family == .ipv4 ? 4 : 16), let port = reader.readUInt16() else { return nil }
        return family == .ipv4 ? PeerAddress(ipv4: Array(bytes), port: port) : PeerAddress(ipv6: Array(bytes), port: port)
    }
}

/// `HOST:PORT` as the user typed it: the host may be a name (`localhost`) or a literal; IPv6 literals come in
/// brackets. The port must be 0–65535.
public struct Endpoint: Hashable, Sendable, CustomStringConvertible {
    public let host: String
    public let port: UInt16

    public init(host: String, port: UInt16) {
        self.host = host
        self.port = port
    }

    public init?(parsing text: String) {
        let host: Substring
        let portText: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { return nil }
            host = text[text.index(after: text.startIndex)..<close]
            let rest = text[text.index(after: close)...]
            guard rest.hasPrefix(":") else { return nil }
            portText = rest.dropFirst()
        } else {
            guard let colon = text.lastIndex(of: ":") else { return nil }
            host = text[..<colon]
            guard !host.contains(":") else { return nil }
            portText = text[text.index(after: colon)...]
        }
        // A NUL would let the C resolver see a different name than the one we checked. A bracket inside the host
        // (`[[x]:80` reads as `[x`) names no host and would describe itself as text that does not parse back.
        guard !host.isEmpty, !host.contains("\0"), !host.contains("["), !host.contains("]"), !portText.isEmpty, portText.allSatisfy(\.isASCII), portText.allSatisfy(\.isNumber),
              portText.count <= 5, let port = UInt16(portText) else { return nil }
        self.host = String(host)
        self.port = port
    }

    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}
