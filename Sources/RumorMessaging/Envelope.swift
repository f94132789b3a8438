import RumorWire

/// What a direct message carries: the first byte says whether it is a user's direct message, a broadcast being
/// spread, or a broadcast digest (anti-entropy). See Docs/PROTOCOL.md, "Envelopes".
///
///     direct:    0x01 | data
///     broadcast: 0x02 | origin (32) | sequence (8) | sent at, ms since 1970 (8) | data
///     digest:    0x03 | flags (1; bit 0 = reply with yours) | count (2) | count × (origin (32) | sequence (8))
public enum Envelope: Equatable, Sendable {
    case direct([UInt8])
    case broadcast(BroadcastMessage)
    case digest(BroadcastDigest)

    /// Bytes an envelope adds to the largest payload it can carry.
    public static let maxOverhead = 1 + 32 + 8 + 8

    public func encode() -> [UInt8] {
        var writer = ByteWriter(capacity: 64)
        switch self {
        case .direct(let data):
            writer.write(UInt8(1))
            writer.write(contentsOf: data)
        case .broadcast(let message):
            writer.write(UInt8(2))
            message.origin.write(to: &writer)
            writer.write(message.sequence)
            writer.write(UInt64(bitPattern: message.sentAtMilliseconds))
            writer.write(contentsOf: message.data)
        case .digest(let digest):
            writer.write(UInt8(3))
            writer.write(UInt8(digest.wantsReply ? 1 : 0))
            writer.write(UInt16(truncatingIfNeeded: digest.keys.count))
            for key in digest.keys {
                key.origin.write(to: &writer)
                writer.write(key.sequence)
            }
        }
        return writer.bytes
    }

    /// Total decoder: nil for anything malformed.
    public static func decode(_ bytes: [UInt8]) -> Envelope? {
        var reader = ByteReader(bytes)
        switch reader.readUInt8() {
        case 1:
            return .direct(Array(reader.readRest()))
        case 2:
            guard let origin = NodeID.read(from: &reader), let sequence = reader.readUInt64(), let sentAt = reader.readUInt64() else { return nil }
            return .broadcast(BroadcastMessage(origin: origin, sequence: sequence, sentAtMilliseconds: Int64(bitPattern: sentAt),
                                               data: Array(reader.readRest())))
        case 3:
            guard let flags = reader.readUInt8(), let count = reader.readUInt16() else { return nil }
            var keys: [BroadcastKey] = []
            keys.reserveCapacity(Int(count))
            for _ in 0..<count {
                guard let origin = NodeID.read(from: &reader), let sequence = reader.readUInt64() else { return nil }
                keys.append(BroadcastKey(origin: origin, sequence: sequence))
            }
            guard reader.isAtEnd else { return nil }
            return .digest(BroadcastDigest(wantsReply: flags & 1 != 0, keys: keys))
        default:
            return nil
        }
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

    public init(origin: NodeID, sequence: UInt64, sentAtMilliseconds: Int64, data: [UInt8]) {
        self.origin = origin
        self.sequence = sequence
        self.sentAtMilliseconds = sentAtMilliseconds
        self.data = data
    }

    public var key: BroadcastKey { BroadcastKey(origin: origin, sequence: sequence) }
}

public struct BroadcastDigest: Equatable, Sendable {
    /// Digests list at most this many keys (the newest): 40 bytes each, well inside one message.
    public static let maxKeys = 1500
    public var wantsReply: Bool
    public var keys: [BroadcastKey]

    public init(wantsReply: Bool, keys: [BroadcastKey]) {
        self.wantsReply = wantsReply
        self.keys = keys
    }
}
