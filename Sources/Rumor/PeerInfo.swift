import RumorLink
import RumorMembership
import RumorMessaging
import RumorWire

/// One row of `rumor peers`.
public struct PeerInfo: Sendable, Equatable {
    public var name: String
    public var id: NodeID
    public var address: PeerAddress
    public var state: MemberState
    public var incarnation: UInt64
    public var isSelf: Bool
    public var tags: [String: String]
    /// Time since an authenticated packet from this peer arrived; nil if never heard directly (or self).
    public var lastHeard: Duration?
}

/// What `rumor status` reports.
public struct NodeStatus: Sendable, Equatable {
    public var id: NodeID
    public var name: String
    public var listen: PeerAddress
    public var uptime: Duration
    public var incarnation: UInt64
    public var localHealth: Int
    public var members: [MemberState: Int]
    public var traffic: TrafficCounters
    public var messaging: MessagingCounters
    public var broadcasts: BroadcastCounters
    public var conflicts: [String]
    public var networkKeyID: String
    public var link: LinkCounters
    public var sessions: Int
    /// Messages waiting in the inbox, and how many were dropped because it was full.
    public var inbox: Int
    public var inboxDropped: Int
    /// The peer table's bound (`MembershipSettings.maxMembers`), and the members refused or forgotten early for it.
    public var peerTableLimit = 0
    public var peerTable = MembershipCounters()
}

/// Datagram counters of one node; `dropped` is by reason, and nothing dropped is uncounted.
public struct TrafficCounters: Sendable, Equatable {
    public var datagramsIn = 0
    public var datagramsOut = 0
    public var bytesIn = 0
    public var bytesOut = 0
    /// Datagrams the kernel refused to send (full buffer, unreachable network).
    public var sendFailures = 0
    public var dropped: [DropReason: Int] = [:]

    public var droppedTotal: Int { dropped.values.reduce(0, +) }
}

/// The outcome of an acknowledged send.
public struct SendReceipt: Sendable, Equatable {
    public var peer: String
    public var peerID: NodeID
    public var bytes: Int
    public var roundTrip: Duration
}
