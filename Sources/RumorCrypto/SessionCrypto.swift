internal import CSodium

/// An ephemeral X25519 key pair for one handshake (`crypto_kx_keypair` / `crypto_kx_seed_keypair`). Its secret
/// half is wiped when the value goes away.
public struct EphemeralKey: Sendable, CustomStringConvertible {
    public static let size = 32
    public let publicKey: [UInt8]
    let secretKey: SecretBytes

    public static func generate() -> EphemeralKey {
        Sodium.ensure()
        var publicKey = [UInt8](repeating: 0, count: size)
        var secretKey = [UInt8](repeating: 0, count: size)
        _ = publicKey.withUnsafeMutableBytes { pk in secretKey.withUnsafeMutableBytes { sk in crypto_kx_keypair(pk.u8, sk.u8) } }
        return EphemeralKey(publicKey: publicKey, secretKey: SecretBytes(consuming: &secretKey))
    }

    /// A key pair derived from a 32-byte seed: for test vectors only.
    public init?(seed: [UInt8]) {
        guard seed.count == 32 else { return nil }
        Sodium.ensure()
        var publicKey = [UInt8](repeating: 0, count: EphemeralKey.size)
        var secretKey = [UInt8](repeating: 0, count: EphemeralKey.size)
        _ = publicKey.withUnsafeMutableBytes { pk in
            secretKey.withUnsafeMutableBytes { sk in seed.withUnsafeBytes { s in crypto_kx_seed_keypair(pk.u8, sk.u8, s.u8) } }
        }
        self.init(publicKey: publicKey, secretKey: SecretBytes(consuming: &secretKey))
    }

    init(publicKey: [UInt8], secretKey: SecretBytes) {
        self.publicKey = publicKey
        self.secretKey = secretKey
    }

    public var description: String { "EphemeralKey(public: \(publicKey.prefix(4).map { String($0, radix: 16) }.joined())…)" }

    /// The pair of session keys (`crypto_kx_client_session_keys` for the initiator, `…server…` for the
    /// responder): what one side sends with is what the other receives with. nil when the peer's public key is
    /// unacceptable (libsodium refuses low-order points).
    public func sessionKeys(peerPublicKey: [UInt8], initiator: Bool) -> (receive: SecretBytes, send: SecretBytes)? {
        guard peerPublicKey.count == EphemeralKey.size else { return nil }
        var receive = [UInt8](repeating: 0, count: Int(crypto_kx_SESSIONKEYBYTES))
        var send = [UInt8](repeating: 0, count: Int(crypto_kx_SESSIONKEYBYTES))
        let status = receive.withUnsafeMutableBytes { rx in
            send.withUnsafeMutableBytes { tx in
                secretKey.withUnsafeBytes { sk in
                    publicKey.withUnsafeBytes { pk in
                        peerPublicKey.withUnsafeBytes { peer in
                            initiator
                                ? crypto_kx_client_session_keys(rx.u8, tx.u8, pk.u8, sk.u8, peer.u8)
                                : crypto_kx_server_session_keys(rx.u8, tx.u8, pk.u8, sk.u8, peer.u8)
                        }
                    }
                }
            }
        }
        guard status == 0 else { return nil }
        return (SecretBytes(consuming: &receive), SecretBytes(consuming: &send))
    }
}

/// ChaCha20-Poly1305-IETF (`crypto_aead_chacha20poly1305_ietf_*`) with a 12-byte nonce built from a 64-bit
/// counter: the transport cipher of sessions. Never reuse a (key, counter) pair.
public enum ChaCha20Poly1305 {
    public static let keySize = 32
    public static let tagSize = 16

    /// Calls `body` with the nonce, 4 zero bytes then the counter big-endian, built on the stack (this runs
    /// for every datagram: no array).
    @inline(__always)
    static func withNonce<R>(_ counter: UInt64, _ body: (UnsafePointer<UInt8>) -> R) -> R {
        var nonce: (UInt64, UInt64) = (0, 0)
        return withUnsafeMutableBytes(of: &nonce) { raw in
            raw.storeBytes(of: counter.bigEndian, toByteOffset: 4, as: UInt64.self)
            return body(raw.baseAddress.unsafelyUnwrapped.assumingMemoryBound(to: UInt8.self))
        }
    }

    /// The nonce as bytes (for test vectors).
    static func nonce(_ counter: UInt64) -> [UInt8] {
        withNonce(counter) { Array(UnsafeBufferPointer(start: $0, count: 12)) }
    }

    /// Seals `plaintext` into `output`, which must have room for `plaintext.count + tagSize` bytes; allocates nothing.
    public static func seal(plaintext: UnsafeRawBufferPointer, additionalData: UnsafeRawBufferPointer, counter: UInt64,
                            key: SecretBytes, into output: UnsafeMutableRawPointer) {
        Sodium.ensure()
        var written: UInt64 = 0
        key.withUnsafeBytes { k in
            withNonce(counter) { n in
                _ = crypto_aead_chacha20poly1305_ietf_encrypt(
                    output.assumingMemoryBound(to: UInt8.self), &written, plaintext.u8, UInt64(plaintext.count),
                    additionalData.u8, UInt64(additionalData.count), nil, n, k.u8)
            }
        }
    }

    /// Seals `plaintext` and appends ciphertext‖tag to `output`.
    public static func seal(plaintext: UnsafeRawBufferPointer, additionalData: UnsafeRawBufferPointer, counter: UInt64,
                            key: SecretBytes, appendingTo output: inout [UInt8]) {
        let start = output.count
        output.append(contentsOf: repeatElement(0, count: plaintext.count + tagSize))
        output.withUnsafeMutableBytes { out in
            seal(plaintext: plaintext, additionalData: additionalData, counter: counter, key: key,
                 into: out.baseAddress.unsafelyUnwrapped.advanced(by: start))
        }
    }

    /// Opens ciphertext‖tag into `plaintext`, resized to fit (its storage is reused when it is not shared); false
    /// when authentication fails (what `plaintext` then holds is meaningless).
    public static func open(ciphertext: UnsafeRawBufferPointer, additionalData: UnsafeRawBufferPointer, counter: UInt64,
                            key: SecretBytes, into plaintext: inout [UInt8]) -> Bool {
        Sodium.ensure()
        guard ciphertext.count >= tagSize else { return false }
        let length = ciphertext.count - tagSize
        if plaintext.capacity == 0 { plaintext.reserveCapacity(max(1, length)) }
        if plaintext.count > length {
            plaintext.removeLast(plaintext.count - length)
        } else if plaintext.count < length {
            plaintext.append(contentsOf: repeatElement(0, count: length - plaintext.count))
        }
        var written: UInt64 = 0
        let status = key.withUnsafeBytes { k in
            withNonce(counter) { n in
                plaintext.withUnsafeMutableBytes { out in
                    crypto_aead_chacha20poly1305_ietf_decrypt(out.u8, &written, nil, ciphertext.u8, UInt64(ciphertext.count),
                                                              additionalData.u8, UInt64(additionalData.count), n, k.u8)
                }
            }
        }
        return status == 0
    }

    /// Opens ciphertext‖tag; nil when authentication fails.
    public static func open(ciphertext: UnsafeRawBufferPointer, additionalData: UnsafeRawBufferPointer, counter: UInt64,
                            key: SecretBytes) -> [UInt8]? {
        // A buffer of its own even for an empty body: writing into the shared empty-array storage is a data race.
        var plaintext: [UInt8] = []
        plaintext.reserveCapacity(max(1, ciphertext.count - tagSize))
        return open(ciphertext: ciphertext, additionalData: additionalData, counter: counter, key: key, into: &plaintext) ? plaintext : nil
    }
}
