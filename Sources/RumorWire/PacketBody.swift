/// The plaintext of an authenticated packet: the sender's node id, then one or more frames.
///
///     sender id (32) | frame | frame | …        frame = type (1) | length (2, big-endian) | body
///
/// Unknown frame types are skipped by their length, so a newer node can add frames an older one ignores.
public struct PacketBody: Equatable, Sendable {
    /// The largest datagram Rumor sends: fits the IPv6 minimum MTU (1,280) with room for IP and UDP headers.
    public static let maxDatagramSize = 1200

    public var sender: NodeID
    public var frames: [Frame]

    public init(sender: NodeID, frames: [Frame]) {
        self.sender = sender
        self.frames = frames
    }

    public var encodedSize: Int { NodeID.byteCount + frames.reduce(0) { $0 + $1.encodedSize } }

    public func encode() -> [UInt8] {
        var writer = ByteWriter(capacity: encodedSize)
        write(to: &writer)
        return writer.bytes
    }

    /// Appends the encoded body to `writer` (the shell reuses one writer for every packet it sends).
    public func write(to writer: inout ByteWriter) {
        sender.write(to: &writer)
        for frame in frames { frame.write(to: &writer) }
    }

    public enum DecodeError: Error, Equatable, Sendable {
        case truncated
        case malformedFrame(Frame.Kind)
        case noFrames
    }

    /// Total decoder: every input yields a body or an error, never a trap.
    public static func decode(_ bytes: ArraySlice<UInt8>) -> Result<PacketBody, DecodeError> {
        var frames: [Frame] = []
        return decode(bytes, reusing: &frames)
    }

    /// The same, with the frames decoded into `frames`' storage (emptied first): a shell that keeps one such array
    /// and lets each decoded body go before the next decode allocates no frame array per packet.
    public static func decode(_ bytes: ArraySlice<UInt8>, reusing frames: inout [Frame]) -> Result<PacketBody, DecodeError> {
        frames.removeAll(keepingCapacity: true)
        var reader = ByteReader(bytes)
        guard let sender = NodeID.read(from: &reader) else { return .failure(.truncated) }
        while !reader.isAtEnd {
            guard let type = reader.readUInt8(), let length = reader.readUInt16(),
                  let body = reader.readBytes(Int(length)) else { return .failure(.truncated) }
            guard let kind = Frame.Kind(rawValue: type) else { continue }
            guard let frame = Frame.decode(kind: kind, body: body) else { return .failure(.malformedFrame(kind)) }
            frames.append(frame)
        }
        guard !frames.isEmpty else { return .failure(.noFrames) }
        return .success(PacketBody(sender: sender, frames: frames))
    }
}

extension PacketBody {
    /// The most any datagram type adds around a body: 46 bytes (a 30-byte header and a 16-byte tag, as the
    /// network-key seal has; a transport datagram adds 32). Link layers MUST NOT add more, so a body that fits
    /// here fits any datagram Rumor sends (Docs/PROTOCOL.md).
    public static let sealOverhead = 46
    /// The room for frames in one packet, after the seal and the sender id.
    public static let maxFramesSize = maxDatagramSize - sealOverhead - NodeID.byteCount
}
