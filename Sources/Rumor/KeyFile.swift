import RumorCrypto
import RumorWire

/// Network key files as `rumor keygen` writes them: base64 of 32 random bytes, mode 0600.
public enum KeyFile {
    /// Writes a new key to `path` and returns its key id; refuses to replace a file unless `overwrite`.
    public static func generate(at path: String, overwrite: Bool) throws -> String {
        let key = NetworkKey.generate()
        try FileIO.writeSecret(key.fileText, to: path, overwrite: overwrite)
        return key.idHex
    }
}

/// What `rumor keys` asks of each member.
public enum KeyAction: Sendable, Equatable {
    case list
    case install(NetworkKey)
    case use(keyID: UInt32)
    case remove(keyID: UInt32)

    public static func == (lhs: KeyAction, rhs: KeyAction) -> Bool {
        switch (lhs, rhs) {
        case (.list, .list): return true
        case (.install(let a), .install(let b)): return a.id == b.id && a.secret.isEqual(to: b.secret)
        case (.use(let a), .use(let b)), (.remove(let a), .remove(let b)): return a == b
        default: return false
        }
    }

    public var name: String {
        switch self {
        case .list: return "list"
        case .install: return "install"
        case .use: return "use"
        case .remove: return "remove"
        }
    }
}

/// One member's answer to a key operation.
public struct KeyResult: Sendable, Equatable {
    public var name: String
    public var id: NodeID
    /// False when the member answered with an error, or did not answer in time (`answered` is false then).
    public var ok: Bool
    public var answered: Bool
    public var error: String?
    /// Its key ids afterwards, and which one is primary.
    public var keys: [(id: String, primary: Bool)]

    public static func == (lhs: KeyResult, rhs: KeyResult) -> Bool {
        lhs.name == rhs.name && lhs.id == rhs.id && lhs.ok == rhs.ok && lhs.answered == rhs.answered && lhs.error == rhs.error
            && lhs.keys.map(\.id) == rhs.keys.map(\.id) && lhs.keys.map(\.primary) == rhs.keys.map(\.primary)
    }
}

public struct KeyReport: Sendable, Equatable {
    public var results: [KeyResult]
    public var allOK: Bool { !results.isEmpty && results.allSatisfy(\.ok) }
}
