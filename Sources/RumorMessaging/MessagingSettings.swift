/// Limits and timings of direct messages. Docs/PROTOCOL.md ("Direct messages") explains each.
public struct MessagingSettings: Sendable, Equatable {
    /// The largest direct message: 64 KiB.
    /// (The core carries an envelope byte and, for broadcasts, a header on top of the user limit.)
    public static let maxMessageSize = 65_536 + Envelope.maxOverhead
    /// The largest direct message a user may send: 64 KiB.
    public static let maxUserMessageSize = 65_536
    /// The bytes of message carried by one fragment, so that a fragment's packet fits one datagram.
    public static let maxChunkSize = PacketBodyLimits.maxChunk

    /// First retransmission delay; doubled after each retransmission up to `maxRetransmitDelay`.
    public var initialRetransmitDelay: Duration = .milliseconds(200)
    public var maxRetransmitDelay: Duration = .seconds(2)
    /// How long a sender that gave messages up keeps telling the receiver its new floor (retransmitted like a
    /// message) before it leaves that to its next message.
    public var floorNoticeLifetime: Duration = .seconds(60)
    /// Messages per peer sent and not yet acknowledged; later ones wait their turn.
    public var maxInFlightPerPeer = 32
    /// Messages per peer queued behind the in-flight ones before `send` is refused.
    public var maxQueuedPerPeer = 4096
    /// A receiver accepts message ids at most this far ahead of the next one it will deliver.
    public var maxAheadPerPeer: UInt64 = 1024
    /// Bytes of incomplete or not-yet-deliverable messages held per sending peer, and in all. The next message to
    /// deliver is held even beyond the per-peer figure (so at most one message more), never beyond the total.
    public var maxReassemblyBytesPerPeer = 1 << 20
    public var maxReassemblyBytesTotal = 16 << 20

    public init() {}
}

import RumorWire

enum PacketBodyLimits {
    static let maxChunk = PacketBody.maxFramesSize - Frame.headerSize - MessageFragment.headerSize
}
