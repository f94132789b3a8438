internal import CSodium

/// A node's Ed25519 key pair (`crypto_sign_seed_keypair`). The public half is the node id; the 32-byte seed is
/// what the node's `identity.key` file keeps (in base64, mode 0600).
public struct IdentityKey: Sendable, CustomStringConvertible {
    public static let seedSize = 32
    public static let publicKeySize = 32
    public static let signatureSize = 64

    public let publicKey: [UInt8]
    let secretKey: SecretBytes
    let seed: SecretBytes

    public init?(seed seedBytes: [UInt8]) {
        guard seedBytes.count == IdentityKey.seedSize else { return nil }
        Sodium.ensure()
        var publicKey = [UInt8](repeating: 0, count: Int(crypto_sign_PUBLICKEYBYTES))
        var secretKey = [UInt8](repeating: 0, count: Int(crypto_sign_SECRETKEYBYTES))
        _ = publicKey.withUnsafeMutableBytes { pk in
            secretKey.withUnsafeMutableBytes { sk in
                seedBytes.withUnsafeBytes { seed in crypto_sign_seed_keypair(pk.u8, sk.u8, seed.u8) }
            }
        }
        self.publicKey = publicKey
        self.secretKey = SecretBytes(consuming: &secretKey)
        self.seed = SecretBytes(seedBytes)
    }

    public static func generate() -> IdentityKey {
        var seed = SecureRandom.bytes(seedSize)
        defer { seed.withUnsafeMutableBytes { sodium_memzero($0.baseAddress, $0.count) } }
        return IdentityKey(seed: seed) ?? IdentityKey.generate()
    }

    public var description: String { "IdentityKey(public: \(publicKey.prefix(4).map { String($0, radix: 16).leftPadded(to: 2) }.joined())…)" }

    /// The identity file's text: the seed in base64 and a newline.
    public var fileText: String { seed.withUnsafeBytes { Base64.encode(Array($0)) } + "\n" }

    /// Parses an identity file; nil unless it is base64 of exactly 32 bytes.
    public static func parse(fileText: String) -> IdentityKey? {
        guard var bytes = Base64.decode(fileText) else { return nil }
        defer { bytes.withUnsafeMutableBytes { sodium_memzero($0.baseAddress, $0.count) } }
        return IdentityKey(seed: bytes)
    }

    /// A detached Ed25519 signature (`crypto_sign_detached`).
    public func sign<C: Collection>(_ message: C) -> [UInt8] where C.Element == UInt8 {
        let input = Array(message)
        var signature = [UInt8](repeating: 0, count: IdentityKey.signatureSize)
        secretKey.withUnsafeBytes { sk in
            _ = signature.withUnsafeMutableBytes { sig in
                input.withUnsafeBytes { msg in crypto_sign_detached(sig.u8, nil, msg.u8, UInt64(msg.count), sk.u8) }
            }
        }
        return signature
    }

    /// Checks a detached signature (`crypto_sign_verify_detached`); false for wrong sizes.
    public static func verify<M: Collection, S: Collection>(signature: S, message: M, publicKey: [UInt8]) -> Bool
    where M.Element == UInt8, S.Element == UInt8 {
        Sodium.ensure()
        let signature = Array(signature), message = Array(message)
        guard signature.count == signatureSize, publicKey.count == publicKeySize else { return false }
        return signature.withUnsafeBytes { sig in
            message.withUnsafeBytes { msg in
                publicKey.withUnsafeBytes { pk in crypto_sign_verify_detached(sig.u8, msg.u8, UInt64(msg.count), pk.u8) == 0 }
            }
        }
    }
}
