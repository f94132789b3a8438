internal import CSodium

/// The 32-byte secret that every member of one mesh holds. Handshakes are sealed under it; everything else
/// travels in sessions that only such handshakes can open.
///
/// Its key id is the first 4 bytes of BLAKE2b-256("rumor-network-key-id-v1" ‖ key): public, so that a
/// receiver picks the right key from its keyring without trying each.
public struct NetworkKey: Sendable, CustomStringConvertible {
    public static let byteCount = 32
    public let secret: SecretBytes
    public let id: UInt32

    public init?(bytes: [UInt8]) {
        guard bytes.count == NetworkKey.byteCount else { return nil }
        secret = SecretBytes(bytes)
        id = NetworkKey.keyID(of: bytes)
    }

    public static func generate() -> NetworkKey {
        var bytes = SecureRandom.bytes(byteCount)
        defer { bytes.withUnsafeMutableBytes { sodium_memzero($0.baseAddress, $0.count) } }
        // A freshly generated 32-byte array always has the right size.
        return NetworkKey(bytes: bytes) ?? NetworkKey.generate()
    }

    /// The key id as 8 lowercase hex characters.
    public var idHex: String { NetworkKey.hex(id) }

    public static func hex(_ id: UInt32) -> String { String(id, radix: 16).leftPadded(to: 8) }

    public var description: String { "NetworkKey(id: \(idHex))" }

    /// The key file's text: the key in standard base64 and a newline.
    public var fileText: String {
        secret.withUnsafeBytes { Base64.encode(Array($0)) } + "\n"
    }

    public enum FileError: Error, Equatable, Sendable, CustomStringConvertible {
        case notBase64
        case wrongLength(Int)

        public var description: String {
            switch self {
            case .notBase64: return "is not a Rumor network key (expected 32 bytes in base64)"
            case .wrongLength(let count): return "holds \(count) bytes, a network key has 32"
            }
        }
    }

    /// Parses a key file's text (base64 of 32 bytes, white space around it ignored).
    public static func parse(fileText: String) -> Result<NetworkKey, FileError> {
        guard var bytes = Base64.decode(fileText) else { return .failure(.notBase64) }
        defer { bytes.withUnsafeMutableBytes { sodium_memzero($0.baseAddress, $0.count) } }
        guard let key = NetworkKey(bytes: bytes) else { return .failure(.wrongLength(bytes.count)) }
        return .success(key)
    }

    static func keyID(of key: [UInt8]) -> UInt32 {
        Sodium.ensure()
        let input = Array("rumor-network-key-id-v1".utf8) + key
        var hash = [UInt8](repeating: 0, count: 32)
        _ = hash.withUnsafeMutableBytes { out in
            input.withUnsafeBytes { inp in crypto_generichash(out.u8, 32, inp.u8, UInt64(inp.count), nil, 0) }
        }
        return hash.prefix(4).reduce(0) { $0 << 8 | UInt32($1) }
    }
}

extension String {
    func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
