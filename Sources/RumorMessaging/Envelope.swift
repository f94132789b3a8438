import RumorWire

/// What a direct message carries: the first byte says whether it is a user's direct message, a broadcast being
/// spread, or a broadcast digest (anti-entropy). See Docs/PROTOCOL.md, "Envelopes".
///
///     direct:    0x01 | data
///     broadcast: 0x02 | origin (32) | sequence (8) | sent at, ms since 1970 (8) | signature (64) | data
///     digest:    0x03 | flags (1; bit 0 = reply with yours, bit 1 = joining) | count (2) | count × (origin (32) | sequence (8))
///     key request:  0x04 | request id (8) | action (1) | key (32) for install, key id (4) for use and remove
///     key response: 0x05 | request id (8) | ok (1) | error length (1) | error | count (1) | count × (key id (4) | primary (1))
public enum Envelope: Equatable, Sendable {
    case direct([UInt8])
    case broadcast(BroadcastMessage)
    case digest(BroadcastDigest)
    case keyRequest(KeyRequest)
    case keyResponse(KeyResponse)

    /// The first byte of a user's direct message.
    static let directTag: UInt8 = 1

    /// True when `payload` is a user's direct message (`.direct`), without decoding the rest.
    public static func isUserMessage(_ payload: [UInt8]) -> Bool { payload.first == directTag }

    /// Bytes an envelope adds to the largest payload it can carry (a broadcast's header).
    public static let maxOverhead = 1 + 32 + 8 + 8 + Signature.size

    public func encode() -> [UInt8] {
        var writer = ByteWriter(capacity: 64)
        switch self {
        case .direct(let data):
            writer.write(Envelope.directTag)
            writer.write(contentsOf: data)
        case .broadcast(let message):
            writer.write(UInt8(2))
            message.origin.write(to: &writer)
            writer.write(message.sequence)
            writer.write(UInt64(bitPattern: message.sentAtMilliseconds))
            writer.write(contentsOf: message.signature.count == Signature.size ? message.signature : [UInt8](repeating: 0, count: Signature.size))
            writer.write(contentsOf: message.data)
        case .digest(let digest):
            writer.write(UInt8(3))
            writer.write((digest.wantsReply ? BroadcastDigest.wantsReplyFlag : 0) | (digest.joining ? BroadcastDigest.joiningFlag : 0))
            writer.write(UInt16(truncatingIfNeeded: digest.keys.count))
            for key in digest.keys {
                key.origin.write(to: &writer)
                writer.write(key.sequence)
            }
        case .keyRequest(let request):
            writer.write(UInt8(4))
            writer.write(request.id)
            switch request.action {
            case .list: writer.write(UInt8(1))
            case .install(let key):
                writer.write(UInt8(2))
                writer.write(contentsOf: key)
            case .use(let keyID):
                writer.write(UInt8(3))
                writer.write(keyID)
            case .remove(let keyID):
                writer.write(UInt8(4))
                writer.write(keyID)
            }
        case .keyResponse(let response):
            writer.write(UInt8(5))
            writer.write(response.id)
            writer.write(UInt8(response.ok ? 1 : 0))
            writer.writeShortString(response.error)
            writer.write(UInt8(truncatingIfNeeded: min(response.keys.count, 255)))
            for key in response.keys.prefix(255) {
                writer.write(key.id)
                writer.write(UInt8(key.primary ? 1 : 0))
            }
        }
        return writer.bytes
    }

    /// Total decoder: nil for anything malformed.
    public static func decode(_ bytes: [UInt8]) -> Envelope? {
        var reader = ByteReader(bytes)
        switch reader.readUInt8() {
        case Envelope.directTag:
            return .direct(Array(reader.readRest()))
        case 2:
            guard let origin = NodeID.read(from: &reader), let sequence = reader.readUInt64(), let sentAt = reader.readUInt64(),
                  let signature = reader.readBytes(Signature.size) else { return nil }
            return .broadcast(BroadcastMessage(origin: origin, sequence: sequence, sentAtMilliseconds: Int64(bitPattern: sentAt),
                                               data: Array(reader.readRest()), signature: Array(signature)))
        case 3:
            guard let flags = reader.readUInt8(), let count = reader.readUInt16() else { return nil }
            var keys: [BroadcastKey] = []
            keys.reserveCapacity(Int(count))
            for _ in 0..<count {
                guard let origin = NodeID.read(from: &reader), let sequence = reader.readUInt64() else { return nil }
                keys.append(BroadcastKey(origin: origin, sequence: sequence))
            }
            guard reader.isAtEnd else { return nil }
            return .digest(BroadcastDigest(wantsReply: flags & BroadcastDigest.wantsReplyFlag != 0, keys: keys,
                                           joining: flags & BroadcastDigest.joiningFlag != 0))
        case 4:
            guard let id = reader.readUInt64(), let action = reader.readUInt8() else { return nil }
            let decoded: KeyRequest.Action?
            switch action {
            case 1: decoded = .list
            case 2: decoded = reader.readBytes(32).map { .install(Array($0)) }
            case 3: decoded = reader.readUInt32().map { .use($0) }
            case 4: decoded = reader.readUInt32().map { .remove($0) }
            default: decoded = nil
            }
            guard let decoded, reader.isAtEnd else { return nil }
            return .keyRequest(KeyRequest(id: id, action: decoded))
        case 5:
            guard let id = reader.readUInt64(), let ok = reader.readUInt8(), let error = reader.readShortString(),
                  let count = reader.readUInt8() else { return nil }
            var keys: [KeyResponse.KeyState] = []
            for _ in 0..<count {
                guard let keyID = reader.readUInt32(), let primary = reader.readUInt8() else { return nil }
                keys.append(KeyResponse.KeyState(id: keyID, primary: primary != 0))
            }
            guard reader.isAtEnd else { return nil }
            return .keyResponse(KeyResponse(id: id, ok: ok != 0, error: error, keys: keys))
        default:
            return nil
        }
    }
}

/// A request to change or list a member's network keys (`rumor keys`), sent over an authenticated session.
public struct KeyRequest: Equatable, Sendable {
    public enum Action: Equatable, Sendable {
        case list
        /// The 32 key bytes: they travel only inside session-encrypted datagrams.
        case install([UInt8])
        case use(UInt32)
        case remove(UInt32)
    }

    public var id: UInt64
    public var action: Action

    public init(id: UInt64, action: Action) {
        self.id = id
        self.action = action
    }
}

/// A member's answer to a `KeyRequest`: whether it applied it, and its keyring afterwards.
public struct KeyResponse: Equatable, Sendable {
    public struct KeyState: Equatable, Sendable {
        public var id: UInt32
        public var primary: Bool

        public init(id: UInt32, primary: Bool) {
            self.id = id
            self.primary = primary
        }
    }

    public var id: UInt64
    public var ok: Bool
    public var error: String
    public var keys: [KeyState]

    public init(id: UInt64, ok: Bool, error: String, keys: [KeyState]) {
        self.id = id
        self.ok = ok
        self.error = error
        self.keys = keys
    }
}

/// A broadcast is known by its origin and the origin's sequence number.
public struct BroadcastKey: Hashable, Sendable {
    public var origin: NodeID
    public var sequence: UInt64

    public init(origin: NodeID, sequence: UInt64) {
        self.origin = origin
        self.sequence = sequence
    }
}

public struct BroadcastMessage: Equatable, Sendable {
    public var origin: NodeID
    public var sequence: UInt64
    /// The origin's wall clock when it sent the broadcast; broadcasts older than the retention window are refused,
    /// so one can never be delivered twice after every node has forgotten it.
    public var sentAtMilliseconds: Int64
    public var data: [UInt8]
    /// The origin's Ed25519 signature over `signedBytes`: relays cannot forge or alter a broadcast.
    public var signature: [UInt8]

    public init(origin: NodeID, sequence: UInt64, sentAtMilliseconds: Int64, data: [UInt8], signature: [UInt8] = []) {
        self.origin = origin
        self.sequence = sequence
        self.sentAtMilliseconds = sentAtMilliseconds
        self.data = data
        self.signature = signature
    }

    /// "rumor-broadcast-v1" ‖ origin ‖ sequence ‖ sent at ‖ data.
    public var signedBytes: [UInt8] {
        var writer = ByteWriter(capacity: 64 + data.count)
        writer.write(contentsOf: Array("rumor-broadcast-v1".utf8))
        origin.write(to: &writer)
        writer.write(sequence)
        writer.write(UInt64(bitPattern: sentAtMilliseconds))
        writer.write(contentsOf: data)
        return writer.bytes
    }

    public var key: BroadcastKey { BroadcastKey(origin: origin, sequence: sequence) }
}

public struct BroadcastDigest: Equatable, Sendable {
    /// Digests list at most this many keys (the newest): 40 bytes each, well inside one message.
    public static let maxKeys = 1500
    /// Flag bits. Receivers ignore bits they do not know, so a newer sender's flag costs an older receiver nothing.
    static let wantsReplyFlag: UInt8 = 1
    static let joiningFlag: UInt8 = 2

    public var wantsReply: Bool
    public var keys: [BroadcastKey]
    /// The sender joined the mesh and has not yet learned which broadcasts the mesh had before: the receiver
    /// answers with its own digest, ahead of any broadcast it pushes (`Broadcasts.receive(_:from:now:effects:)`).
    public var joining: Bool

    public init(wantsReply: Bool, keys: [BroadcastKey], joining: Bool = false) {
        self.wantsReply = wantsReply
        self.keys = keys
        self.joining = joining
    }
}
