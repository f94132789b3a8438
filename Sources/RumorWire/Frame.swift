/// One unit of meaning inside an authenticated packet. A packet carries one or more frames, each
/// `type (1 byte) | length (2 bytes) | body`, so that membership gossip can ride along with anything.
/// See Docs/PROTOCOL.md, "Frames".
public enum Frame: Equatable, Sendable {
    /// The largest fire-and-forget payload: what is left of a datagram after the seal, the sender id and
    /// the frame header.
    public static let maxDatagramPayload = PacketBody.maxFramesSize - headerSize

    /// SWIM probe: "are you `target`? answer with `sequence`".
    case ping(sequence: UInt32, target: NodeID)
    /// Answer to a ping, direct or relayed.
    case ack(sequence: UInt32)
    /// SWIM indirect probe: "please ping `target` at `address` for me and relay its ack with `sequence`".
    case pingRequest(sequence: UInt32, target: NodeID, address: PeerAddress)
    /// Lifeguard: the relay did not hear from the target (a negative ack).
    case nack(sequence: UInt32)
    /// Gossip or state exchange about one member.
    case member(MemberUpdate)
    /// Anti-entropy: the sender asks for the receiver's full member list (and sends its own alongside).
    case syncRequest
    /// One fragment of a direct message.
    case message(MessageFragment)
    /// Which fragments of one direct message the receiver holds.
    case messageAck(MessageAck)
    /// A fire-and-forget message: one datagram, no acknowledgement, no retransmission (`send --unreliable`).
    case datagram(ArraySlice<UInt8>)

    public enum Kind: UInt8, Sendable {
        case ping = 1, ack = 2, pingRequest = 3, nack = 4
        case member = 16, syncRequest = 17
        case message = 32, messageAck = 33, datagram = 34
    }

    public var kind: Kind {
        switch self {
        case .ping: return .ping
        case .ack: return .ack
        case .pingRequest: return .pingRequest
        case .nack: return .nack
        case .member: return .member
        case .syncRequest: return .syncRequest
        case .message: return .message
        case .messageAck: return .messageAck
        case .datagram: return .datagram
        }
    }

    /// Frame header: type (1) and body length (2).
    public static let headerSize = 3

    public var bodySize: Int {
        switch self {
        case .ping: return 4 + 32
        case .ack, .nack: return 4
        case .pingRequest(_, _, let address): return 4 + 32 + address.encodedSize
        case .member(let update): return update.encodedSize
        case .syncRequest: return 0
        case .message(let fragment): return MessageFragment.headerSize + fragment.chunk.count
        case .messageAck: return MessageAck.size
        case .datagram(let payload): return payload.count
        }
    }

    public var encodedSize: Int { Frame.headerSize + bodySize }

    public func write(to writer: inout ByteWriter) {
        writer.write(kind.rawValue)
        writer.write(UInt16(truncatingIfNeeded: bodySize))
        switch self {
        case .ping(let sequence, let target):
            writer.write(sequence)
            target.write(to: &writer)
        case .ack(let sequence), .nack(let sequence):
            writer.write(sequence)
        case .pingRequest(let sequence, let target, let address):
            writer.write(sequence)
            target.write(to: &writer)
            address.write(to: &writer)
        case .member(let update):
            update.write(to: &writer)
        case .syncRequest:
            break
        case .message(let fragment):
            fragment.write(to: &writer)
        case .messageAck(let ack):
            ack.write(to: &writer)
        case .datagram(let payload):
            writer.write(contentsOf: payload)
        }
    }

    /// Decodes one frame body of a known kind. The body MUST be consumed exactly; trailing bytes are an error.
    static func decode(kind: Kind, body: ArraySlice<UInt8>) -> Frame? {
        var reader = ByteReader(body)
        let frame: Frame?
        switch kind {
        case .ping:
            guard let sequence = reader.readUInt32(), let target = NodeID.read(from: &reader) else { return nil }
            frame = .ping(sequence: sequence, target: target)
        case .ack:
            frame = reader.readUInt32().map { .ack(sequence: $0) }
        case .nack:
            frame = reader.readUInt32().map { .nack(sequence: $0) }
        case .pingRequest:
            guard let sequence = reader.readUInt32(), let target = NodeID.read(from: &reader),
                  let address = PeerAddress.read(from: &reader) else { return nil }
            frame = .pingRequest(sequence: sequence, target: target, address: address)
        case .member:
            frame = MemberUpdate.read(from: &reader).map { .member($0) }
        case .syncRequest:
            frame = .syncRequest
        case .message:
            frame = MessageFragment.read(from: &reader).map { .message($0) }
        case .messageAck:
            frame = MessageAck.read(from: &reader).map { .messageAck($0) }
        case .datagram:
            frame = .datagram(reader.readRest())
        }
        return reader.isAtEnd ? frame : nil
    }
}

/// One piece of a direct message. Messages from one sender to one receiver are numbered 1, 2, 3… within the
/// sender's `epoch` (its start time), so the receiver can deliver them once and in order.
public struct MessageFragment: Equatable, Sendable {
    /// epoch (8) | message id (8) | floor (8) | total length (4) | index (1) | count (1)
    public static let headerSize = 30
    /// A message splits into at most this many fragments (the ack is a 64-bit map of them).
    public static let maxFragments = 64

    public var epoch: UInt64
    public var messageID: UInt64
    /// Every message id below `floor` is finished at the sender (acknowledged or given up): the receiver
    /// need not wait for any of them.
    public var floor: UInt64
    public var totalLength: UInt32
    public var index: UInt8
    public var count: UInt8
    public var chunk: ArraySlice<UInt8>

    public init(epoch: UInt64, messageID: UInt64, floor: UInt64, totalLength: UInt32, index: UInt8, count: UInt8, chunk: ArraySlice<UInt8>) {
        self.epoch = epoch
        self.messageID = messageID
        self.floor = floor
        self.totalLength = totalLength
        self.index = index
        self.count = count
        self.chunk = chunk
    }

    public static func == (lhs: MessageFragment, rhs: MessageFragment) -> Bool {
        lhs.epoch == rhs.epoch && lhs.messageID == rhs.messageID && lhs.floor == rhs.floor
            && lhs.totalLength == rhs.totalLength && lhs.index == rhs.index && lhs.count == rhs.count
            && lhs.chunk.elementsEqual(rhs.chunk)
    }

    func write(to writer: inout ByteWriter) {
        writer.write(epoch)
        writer.write(messageID)
        writer.write(floor)
        writer.write(totalLength)
        writer.write(index)
        writer.write(count)
        writer.write(contentsOf: chunk)
    }

    static func read(from reader: inout ByteReader) -> MessageFragment? {
        guard let epoch = reader.readUInt64(), let messageID = reader.readUInt64(), let floor = reader.readUInt64(),
              let total = reader.readUInt32(), let index = reader.readUInt8(), let count = reader.readUInt8(),
              count >= 1, Int(count) <= maxFragments, index < count else { return nil }
        return MessageFragment(epoch: epoch, messageID: messageID, floor: floor, totalLength: total,
                               index: index, count: count, chunk: reader.readRest())
    }
}

/// The receiver's answer to fragments of one message: bit i of `received` is set when fragment i is held.
public struct MessageAck: Equatable, Sendable {
    public static let size = 24
    public var epoch: UInt64
    public var messageID: UInt64
    public var received: UInt64

    public init(epoch: UInt64, messageID: UInt64, received: UInt64) {
        self.epoch = epoch
        self.messageID = messageID
        self.received = received
    }

    func write(to writer: inout ByteWriter) {
        writer.write(epoch)
        writer.write(messageID)
        writer.write(received)
    }

    static func read(from reader: inout ByteReader) -> MessageAck? {
        guard let epoch = reader.readUInt64(), let messageID = reader.readUInt64(), let received = reader.readUInt64() else { return nil }
        return MessageAck(epoch: epoch, messageID: messageID, received: received)
    }
}
