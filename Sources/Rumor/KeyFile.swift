import RumorCrypto

/// Network key files as `rumor keygen` writes them: base64 of 32 random bytes, mode 0600.
public enum KeyFile {
    /// Writes a new key to `path` and returns its key id; refuses to replace a file unless `overwrite`.
    public static func generate(at path: String, overwrite: Bool) throws -> String {
        let key = NetworkKey.generate()
        try FileIO.writeSecret(key.fileText, to: path, overwrite: overwrite)
        return key.idHex
    }
}
