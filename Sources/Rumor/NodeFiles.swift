#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import RumorCrypto
import RumorLink
import RumorWire
import Synchronization

/// Where a node keeps its state: `HOME/NAME/` holds `identity.key` (0600), `control.sock` (0600), `node.lock`,
/// and `peers.snapshot`; `HOME/network.key` is the default network key shared by nodes of one home.
public struct NodeFiles: Sendable {
    public let home: String
    public let name: String

    public init(home: String, name: String) {
        self.home = home
        self.name = name
    }

    /// `--home`, else `$RUMOR_HOME`, else `~/.rumor`.
    public static func defaultHome(explicit: String?) -> String {
        if let explicit, !explicit.isEmpty { return explicit }
        if let env = getenv("RUMOR_HOME"), let text = String(validatingCString: env), !text.isEmpty { return text }
        if let env = getenv("HOME"), let text = String(validatingCString: env), !text.isEmpty { return text + "/.rumor" }
        return ".rumor"
    }

    public var directory: String { home + "/" + name }
    public var identityPath: String { directory + "/identity.key" }
    public var controlSocketPath: String { directory + "/control.sock" }
    public var lockPath: String { directory + "/node.lock" }
    public var snapshotPath: String { directory + "/peers.snapshot" }
    /// Written once `rumor keys` changes the node's keys; from then on it wins over `--network-key`.
    public var keyringPath: String { directory + "/keyring" }
    public var defaultNetworkKeyPath: String { home + "/network.key" }

    /// Creates the home and node folders (0700) if needed.
    func createDirectories() throws {
        for path in [home, directory] where mkdir(path, 0o700) != 0 && errno != EEXIST {
            throw RumorError.io("cannot create \(path): \(String(cString: strerror(errno)))")
        }
    }

    /// Loads the node's identity, creating it (mode 0600) on first start.
    func loadOrCreateIdentity() throws -> IdentityKey {
        switch FileIO.read(identityPath, limit: 4096) {
        case .success(let bytes):
            guard let key = IdentityKey.parse(fileText: String(decoding: bytes, as: UTF8.self)) else {
                throw RumorError.badKeyFile(path: identityPath, reason: "is not a Rumor identity key (expected a 32-byte seed in base64)")
            }
            return key
        case .failure(let error) where error.errno == ENOENT:
            let key = IdentityKey.generate()
            try FileIO.writeSecret(key.fileText, to: identityPath, overwrite: false)
            return key
        case .failure(let error):
            throw RumorError.badKeyFile(path: identityPath, reason: "cannot be read: \(error)")
        }
    }

    /// Loads the network key from `path`; when no path was given, uses `HOME/network.key`, creating it (0600).
    func loadNetworkKey(explicitPath: String?) throws -> NetworkKey {
        let path = explicitPath ?? defaultNetworkKeyPath
        switch FileIO.read(path, limit: 4096) {
        case .success(let bytes):
            switch NetworkKey.parse(fileText: String(decoding: bytes, as: UTF8.self)) {
            case .success(let key): return key
            case .failure(let error): throw RumorError.badKeyFile(path: path, reason: error.description)
            }
        case .failure(let error) where error.errno == ENOENT && explicitPath == nil:
            let key = NetworkKey.generate()
            do {
                try FileIO.writeSecret(key.fileText, to: path, overwrite: false)
                return key
            } catch RumorError.fileExists {
                // Another node of this home created it first: use theirs.
                return try loadNetworkKey(explicitPath: path)
            }
        case .failure(let error) where error.errno == ENOENT:
            throw RumorError.badKeyFile(path: path, reason: "does not exist")
        case .failure(let error):
            throw RumorError.badKeyFile(path: path, reason: "cannot be read: \(error)")
        }
    }
}

extension NodeFiles {
    /// The keyring saved by an earlier key rotation, or nil when there is none. One key per line in base64,
    /// the primary key first.
    func loadKeyring() throws -> NetworkKeyring? {
        switch FileIO.read(keyringPath, limit: 64 * 1024) {
        case .failure(let error) where error.errno == ENOENT:
            return nil
        case .failure(let error):
            throw RumorError.badKeyFile(path: keyringPath, reason: "cannot be read: \(error)")
        case .success(let bytes):
            var keyring: NetworkKeyring?
            for line in String(decoding: bytes, as: UTF8.self).split(separator: "\n") where !line.allSatisfy(\.isWhitespace) {
                guard case .success(let key) = NetworkKey.parse(fileText: String(line)) else {
                    throw RumorError.badKeyFile(path: keyringPath, reason: "holds a line that is not a network key")
                }
                if keyring == nil {
                    keyring = NetworkKeyring(primary: key)
                } else if case .failure(let error) = keyring?.install(key) {
                    throw RumorError.badKeyFile(path: keyringPath, reason: error.description)
                }
            }
            guard let keyring else { throw RumorError.badKeyFile(path: keyringPath, reason: "holds no key") }
            return keyring
        }
    }

    func saveKeyring(_ keyring: NetworkKeyring) throws {
        let others = keyring.keys.filter { $0.id != keyring.primary.id }
        try FileIO.replace(([keyring.primary] + others).map(\.fileText).joined(), at: keyringPath, mode: 0o600)
    }
}

/// Small file helpers over POSIX calls, total: every failure is a thrown or returned error.
enum FileIO {
    static func read(_ path: String, limit: Int) -> Result<[UInt8], SystemError> {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return .failure(SystemError(call: "open", errno: errno)) }
        defer { close(fd) }
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while out.count <= limit {
            let count = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                return .failure(SystemError(call: "read", errno: errno))
            }
            if count == 0 { break }
            out.append(contentsOf: chunk.prefix(count))
        }
        guard out.count <= limit else { return .failure(SystemError(call: "read", errno: EFBIG)) }
        return .success(out)
    }

    /// Writes a secret file with mode 0600, created exclusively unless `overwrite`.
    static func writeSecret(_ text: String, to path: String, overwrite: Bool) throws {
        try write(text, to: path, mode: 0o600, overwrite: overwrite)
    }

    static func write(_ text: String, to path: String, mode: mode_t, overwrite: Bool) throws {
        let flags = O_WRONLY | O_CREAT | O_CLOEXEC | (overwrite ? O_TRUNC : O_EXCL)
        let fd = open(path, flags, mode)
        guard fd >= 0 else {
            if errno == EEXIST { throw RumorError.fileExists(path) }
            throw RumorError.io("cannot create \(path): \(String(cString: strerror(errno)))")
        }
        defer { close(fd) }
        fchmod(fd, mode)
        let bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            if written < 0 {
                if errno == EINTR { continue }
                throw RumorError.io("cannot write \(path): \(String(cString: strerror(errno)))")
            }
            offset += written
        }
    }

    /// Replaces `path` atomically (write to a temporary file, then rename).
    static func replace(_ text: String, at path: String, mode: mode_t) throws {
        let temporary = path + ".tmp"
        unlink(temporary)
        try write(text, to: temporary, mode: mode, overwrite: true)
        guard rename(temporary, path) == 0 else {
            throw RumorError.io("cannot rename \(temporary): \(String(cString: strerror(errno)))")
        }
    }
}

/// An exclusive advisory lock on `HOME/NAME/node.lock`, held while the node runs; the kernel releases it
/// when the process dies, so a crashed node never blocks its own restart.
final class NodeLock: Sendable {
    private let descriptor: Atomic<Int32>

    init(path: String, name: String) throws {
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw RumorError.io("cannot open \(path): \(String(cString: strerror(errno)))") }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            close(fd)
            throw RumorError.alreadyRunning(name)
        }
        _ = ftruncate(fd, 0)
        let pid = Array("\(getpid())\n".utf8)
        _ = pid.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
        descriptor = Atomic(fd)
    }

    /// Releases the lock (once); the node calls this as soon as it stops.
    func release() {
        let fd = descriptor.exchange(-1, ordering: .acquiringAndReleasing)
        if fd >= 0 { close(fd) }
    }

    deinit { release() }
}
