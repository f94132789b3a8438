internal import CSodium

/// XChaCha20-Poly1305-IETF (`crypto_aead_xchacha20poly1305_ietf_*`): a 24-byte nonce, so random nonces are safe.
public enum XChaCha20Poly1305 {
    public static let keySize = 32
    public static let nonceSize = 24
    public static let tagSize = 16

    /// Seals `plaintext` and appends ciphertext‖tag to `output`.
    public static func seal(
        plaintext: UnsafeRawBufferPointer, additionalData: UnsafeRawBufferPointer,
        nonce: UnsafeRawBufferPointer, key: SecretBytes, appendingTo output: inout [UInt8]
    ) {
        Sodium.ensure()
        let start = output.count
        output.append(contentsOf: repeatElement(0, count: plaintext.count + tagSize))
        var written: UInt64 = 0
        key.withUnsafeBytes { k in
            output.withUnsafeMutableBytes { out in
                _ = crypto_aead_xchacha20poly1305_ietf_encrypt(
                    out.u8.advanced(by: start), &written, plaintext.u8, UInt64(plaintext.count),
                    additionalData.u8, UInt64(additionalData.count), nil, nonce.u8, k.u8)
            }
        }
    }

    /// Opens ciphertext‖tag; returns the plaintext, or nil if authentication fails or the input is too short.
    public static func open(
        ciphertext: UnsafeRawBufferPointer, additionalData: UnsafeRawBufferPointer,
        nonce: UnsafeRawBufferPointer, key: SecretBytes
    ) -> [UInt8]? {
        Sodium.ensure()
        guard ciphertext.count >= tagSize, nonce.count == nonceSize else { return nil }
        var plaintext = [UInt8](repeating: 0, count: ciphertext.count - tagSize)
        var length: UInt64 = 0
        let status = key.withUnsafeBytes { k in
            plaintext.withUnsafeMutableBytes { out in
                crypto_aead_xchacha20poly1305_ietf_decrypt(
                    out.u8, &length, nil, ciphertext.u8, UInt64(ciphertext.count),
                    additionalData.u8, UInt64(additionalData.count), nonce.u8, k.u8)
            }
        }
        guard status == 0 else { return nil }
        return plaintext
    }
}
