import RumorCrypto
import RumorWire

/// The network-key seal of handshake datagrams (types 2 and 3): a 30-byte header, then the body sealed with
/// XChaCha20-Poly1305 under a network key, the header being the additional data.
///
///     version (1) = 1 | type (1) | key id (4) | nonce (24) | ciphertext ‖ tag (16)
///
/// Checks run cheapest first (length, version, type, key id) so junk costs no cryptography. Transport datagrams
/// (type 4) are sealed under session keys instead (`Link`); type 1 is no longer sent. Docs/PROTOCOL.md,
/// "The sealed datagram".
public enum SealedPacket {
    public static let version: UInt8 = 1
    public static let typeNetworkSealed: UInt8 = 1
    public static let headerSize = 30
    public static let overhead = headerSize + XChaCha20Poly1305.tagSize
    /// The smallest datagram that can be valid: header, a sender id, one empty frame, the tag.
    public static let minimumSize = overhead + NodeID.byteCount + Frame.headerSize
    /// The room left for the packet body (sender id and frames) in a datagram of the maximum size.
    public static let maxBodySize = PacketBody.maxDatagramSize - overhead

    /// Seals a body under `key` with a fresh random nonce (or `nonce`, for test vectors), as datagram `type`.
    public static func seal(body: [UInt8], key: NetworkKey, type: UInt8 = typeNetworkSealed, nonce: [UInt8]? = nil) -> [UInt8] {
        var datagram: [UInt8] = []
        datagram.reserveCapacity(overhead + body.count)
        datagram.append(version)
        datagram.append(type)
        for shift in stride(from: 24, through: 0, by: -8) { datagram.append(UInt8(truncatingIfNeeded: key.id >> UInt32(shift))) }
        if let nonce, nonce.count == XChaCha20Poly1305.nonceSize {
            datagram.append(contentsOf: nonce)
        } else {
            datagram.append(contentsOf: SecureRandom.bytes(XChaCha20Poly1305.nonceSize))
        }
        let header = datagram
        header.withUnsafeBytes { aad in
            body.withUnsafeBytes { plaintext in
                XChaCha20Poly1305.seal(plaintext: plaintext, additionalData: aad,
                                       nonce: UnsafeRawBufferPointer(rebasing: aad[6..<30]), key: key.secret,
                                       appendingTo: &datagram)
            }
        }
        return datagram
    }

    /// Authenticates and opens a datagram of `type` sealed under a network key; on success returns the body's
    /// bytes. Checks run cheapest first: length, version, type, key id, and only then the AEAD.
    /// - Parameter minimumBody: the shortest body that type can carry (a packet body by default).
    public static func open(_ datagram: UnsafeRawBufferPointer, keyring: NetworkKeyring, type: UInt8 = typeNetworkSealed,
                            minimumBody: Int = NodeID.byteCount + Frame.headerSize) -> Result<[UInt8], DropReason> {
        guard datagram.count >= overhead + minimumBody else { return .failure(.short) }
        guard datagram.count <= PacketBody.maxDatagramSize else { return .failure(.oversize) }
        guard datagram[0] == version else { return .failure(.badVersion) }
        guard datagram[1] == type else { return .failure(.badType) }
        let keyID = UInt32(datagram[2]) << 24 | UInt32(datagram[3]) << 16 | UInt32(datagram[4]) << 8 | UInt32(datagram[5])
        guard let key = keyring.key(id: keyID) else { return .failure(.unknownKey) }
        let header = UnsafeRawBufferPointer(rebasing: datagram[0..<headerSize])
        guard let body = XChaCha20Poly1305.open(
            ciphertext: UnsafeRawBufferPointer(rebasing: datagram[headerSize...]), additionalData: header,
            nonce: UnsafeRawBufferPointer(rebasing: datagram[6..<30]), key: key.secret
        ) else { return .failure(.authFailed) }
        return .success(body)
    }
}

/// The network keys a node holds: one primary that seals the handshakes it sends, and every key it accepts.
/// Rotation (`rumor keys`): install the new key everywhere, make it primary everywhere, remove the old one.
public struct NetworkKeyring: Sendable {
    public private(set) var primary: NetworkKey
    private var accepted: [UInt32: NetworkKey]

    public init(primary: NetworkKey) {
        self.primary = primary
        accepted = [primary.id: primary]
    }

    public func key(id: UInt32) -> NetworkKey? { accepted[id] }

    public var keyIDs: [UInt32] { accepted.keys.sorted() }
    public var keys: [NetworkKey] { keyIDs.compactMap { accepted[$0] } }

    public enum ChangeError: Error, Equatable, Sendable, CustomStringConvertible {
        case unknownKey(String)
        case removingPrimary(String)
        case idCollision(String)

        public var description: String {
            switch self {
            case .unknownKey(let id): return "key \(id) is not installed"
            case .removingPrimary(let id): return "key \(id) is the primary key; make another key primary first"
            case .idCollision(let id): return "a different key with id \(id) is installed"
            }
        }
    }

    /// Accepts `key` from now on (installing a key twice is fine).
    public mutating func install(_ key: NetworkKey) -> Result<Void, ChangeError> {
        if let existing = accepted[key.id], !existing.secret.isEqual(to: key.secret) { return .failure(.idCollision(key.idHex)) }
        accepted[key.id] = key
        return .success(())
    }

    /// Seals new handshakes with the installed key `id`.
    public mutating func use(_ id: UInt32) -> Result<Void, ChangeError> {
        guard let key = accepted[id] else { return .failure(.unknownKey(NetworkKey.hex(id))) }
        primary = key
        return .success(())
    }

    /// Stops accepting the key `id`; the primary key cannot be removed.
    public mutating func remove(_ id: UInt32) -> Result<Void, ChangeError> {
        guard accepted[id] != nil else { return .failure(.unknownKey(NetworkKey.hex(id))) }
        guard id != primary.id else { return .failure(.removingPrimary(NetworkKey.hex(id))) }
        accepted[id] = nil
        return .success(())
    }
}
