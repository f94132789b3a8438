#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
@testable import Rumor
import RumorCrypto
import RumorLink

/// Key files: `NetworkKey.parse` (network.key and each line of a keyring), `IdentityKey.parse` (identity.key),
/// and `NodeFiles.loadKeyring` on a real file holding the input.
///
/// Invariants: both parsers accept exactly the same texts (base64 of 32 bytes), a `wrongLength` error names a
/// length other than 32, a key's file text parses back to the same key; a keyring loads exactly when every
/// non-blank line is a key and the ids do not collide, its primary key is the first line, and it survives
/// `saveKeyring` and a second load unchanged.
public enum KeyFilesTarget: FuzzTarget {
    public static let name = "keyfiles"

    public static func run(_ input: [UInt8]) throws(Violation) {
        let text = String(decoding: input, as: UTF8.self)
        let identity = IdentityKey.parse(fileText: text)
        switch NetworkKey.parse(fileText: text) {
        case .success(let key):
            try require(identity != nil, "a network key the identity parser refuses")
            guard case .success(let again) = NetworkKey.parse(fileText: key.fileText) else {
                throw Violation(message: "a key's own file text does not parse", location: "\(#fileID):\(#line)")
            }
            try require(again.id == key.id && again.secret.isEqual(to: key.secret), "a key's file text parses to another key")
        case .failure(.wrongLength(let count)):
            try require(count != NetworkKey.byteCount, "wrongLength(\(count))")
            try require(identity == nil, "an identity key the network key parser refuses")
        case .failure(.notBase64):
            try require(identity == nil, "an identity key the network key parser calls not base64")
        }
        if let identity {
            try require(IdentityKey.parse(fileText: identity.fileText)?.publicKey == identity.publicKey, "an identity's file text parses to another")
        }
        try checkKeyring(input)
    }

    static func checkKeyring(_ input: [UInt8]) throws(Violation) {
        let files = NodeFiles(home: ScratchDirectory.path, name: "node")
        try ScratchDirectory.write(input, to: files.keyringPath)
        defer { unlink(files.keyringPath) }
        let lines = String(decoding: input, as: UTF8.self).split(separator: "\n").filter { !$0.allSatisfy(\.isWhitespace) }
        let keys = lines.map { NetworkKey.parse(fileText: String($0)) }
        var expected: [UInt32: NetworkKey] = [:]
        var collision = false
        for case .success(let key) in keys {
            if let other = expected.updateValue(key, forKey: key.id), !other.secret.isEqual(to: key.secret) { collision = true }
        }
        let loadable = !lines.isEmpty && !collision && keys.allSatisfy { if case .success = $0 { return true } else { return false } }
        let keyring: NetworkKeyring
        do {
            guard let loaded = try files.loadKeyring() else {
                throw Violation(message: "no keyring, though the file exists", location: "\(#fileID):\(#line)")
            }
            keyring = loaded
        } catch let violation as Violation {
            throw violation
        } catch {
            try require(!loadable, "refused a keyring of \(lines.count) good keys: \(error)")
            return
        }
        try require(loadable, "loaded a keyring from a file with a bad line, a collision or no key")
        guard case .success(let first) = keys.first else { return }
        try require(keyring.primary.id == first.id, "the primary key is not the first line")
        try require(Set(keyring.keyIDs) == Set(expected.keys), "the keyring holds \(keyring.keyIDs), the lines \(expected.keys.sorted())")
        do {
            try files.saveKeyring(keyring)
            guard let again = try files.loadKeyring() else { throw Violation(message: "a saved keyring vanished", location: "\(#fileID):\(#line)") }
            try require(again.primary.id == keyring.primary.id && again.keyIDs == keyring.keyIDs, "a saved keyring loads differently")
        } catch let violation as Violation {
            throw violation
        } catch {
            throw Violation(message: "a saved keyring does not load: \(error)", location: "\(#fileID):\(#line)")
        }
    }

    public static func seeds() -> [(name: String, bytes: [UInt8])] {
        let one = Samples.networkKey(7), two = Samples.networkKey(9)
        return [
            ("network-key", Array(one.fileText.utf8)),
            ("identity-key", Array(Samples.identity(1).fileText.utf8)),
            ("padded", Array("  \r\n\t\(one.fileText.dropLast())  \n\n".utf8)),
            ("keyring", Array((one.fileText + two.fileText).utf8)),
            ("keyring-blank-lines", Array(("\n" + one.fileText + "   \n" + two.fileText + "\n").utf8)),
            ("short-key", Array("AAAA\n".utf8)),
            ("not-base64", Array("not a key!\n".utf8)),
        ]
    }
}

/// A directory of this process for the files the targets write, removed at exit.
enum ScratchDirectory {
    static let path: String = {
        let base = getenv("TMPDIR").flatMap { String(validatingCString: $0) } ?? "/tmp"
        let path = "\(base)/rumor-fuzz-\(getpid())"
        mkdir(path, 0o700)
        mkdir(path + "/node", 0o700)
        atexit {
            unlink(ScratchDirectory.path + "/node/keyring")
            unlink(ScratchDirectory.path + "/node/keyring.tmp")
            rmdir(ScratchDirectory.path + "/node")
            rmdir(ScratchDirectory.path)
        }
        return path
    }()

    static func write(_ bytes: [UInt8], to path: String) throws(Violation) {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw Violation(message: "cannot create \(path): errno \(errno)", location: "\(#fileID):\(#line)") }
        defer { close(fd) }
        let written = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
        guard written == bytes.count else { throw Violation(message: "short write to \(path)", location: "\(#fileID):\(#line)") }
    }
}
