import RumorMembership
import RumorWire

/// Traffic one simulated node sent and received.
public struct NodeCounters: Sendable, Equatable {
    public var packetsSent = 0
    public var bytesSent = 0
    public var packetsReceived = 0
    public var bytesReceived = 0
    /// Sent by this node and lost in transit (loss, partition) or addressed to no node.
    public var packetsLost = 0
    /// Addressed to this node and dropped because it was down when they arrived.
    public var packetsDroppedWhileDown = 0

    public init() {}
}

/// One simulated process: its identity, its state as a process, and its traffic. Its core is `Simulation.core(of:)`.
public struct SimulatedNode: Sendable {
    public let index: Int
    public let id: NodeID
    public let name: String
    public let address: PeerAddress
    /// False while the process is down (crashed, or not started yet).
    public internal(set) var isRunning = false
    /// How many times the process was started; part of each run's random seed.
    public internal(set) var starts = 0
    /// Set by `leave` and cleared by a restart: a node that left is not expected to be seen alive.
    public internal(set) var hasLeft = false
    /// A slow node's receive path lags: each datagram reaches its core this much later than it reached the
    /// host, as when a CPU-starved process's socket buffer backs up. Its timers still fire on time, which is
    /// what makes it blame healthy peers for acks it has not read yet. SeeAlso: Lifeguard §I.
    public internal(set) var receiveLag: Duration = .zero
    public internal(set) var counters = NodeCounters()

    /// The wake the event queue holds for this node, and the generation that marks it current.
    var plannedWake: Instant = .distantFuture
    var wakeGeneration: UInt64 = 0
    /// No datagram is handed to a lagging core before the previous one: the backlog stays in order.
    var lastLaggedDelivery: Instant = .zero

    init(index: Int, name: String) {
        self.index = index
        id = SimulatedIdentity.id(of: index)
        self.name = name
        address = SimulatedIdentity.address(of: index)
    }

    func claim(incarnation: UInt64) -> AliveClaim {
        AliveClaim(id: id, incarnation: incarnation, name: name, address: address, tags: Tags())
    }
}
