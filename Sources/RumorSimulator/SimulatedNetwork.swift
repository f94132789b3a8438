import RumorMembership
import RumorWire

/// How one direction of a link treats datagrams: each is lost with probability `loss`, else arrives after
/// `delay` plus a uniform extra in `0 ... jitter` (so datagrams may overtake each other, as over UDP).
public struct LinkConditions: Sendable, Equatable {
    public var loss: Double
    public var delay: Duration
    public var jitter: Duration

    public init(loss: Double = 0, delay: Duration = .microseconds(500), jitter: Duration = .microseconds(500)) {
        precondition((0...1).contains(loss), "loss must be a probability")
        precondition(delay >= .zero && jitter >= .zero, "delay and jitter must not be negative")
        self.loss = loss
        self.delay = delay
        self.jitter = jitter
    }

    /// A data-centre network: about a millisecond, nothing lost.
    public static let lan = LinkConditions()
    /// Internet paths: tens of milliseconds with wide jitter.
    public static let wan = LinkConditions(delay: .milliseconds(40), jitter: .milliseconds(30))
    /// A link that carries nothing.
    public static let cut = LinkConditions(loss: 1)
}

/// The in-memory network between simulated nodes: default link conditions, per-direction overrides, and
/// partitions. It decides each datagram's fate; the simulation carries it.
public struct SimulatedNetwork: Sendable {
    /// Conditions of every link that has no override.
    public var conditions: LinkConditions
    private var overrides: [UInt64: LinkConditions] = [:]
    /// Nodes in different groups cannot reach each other. Everyone starts, and ends a heal, in group 0.
    private var groups: [Int] = []
    private var rng: SeededRandom

    init(conditions: LinkConditions, seed: UInt64) {
        self.conditions = conditions
        rng = SeededRandom(seed: seed)
    }

    mutating func addNode() { groups.append(0) }

    /// Overrides the link from `sender` to `receiver` (one direction); nil restores the default.
    public mutating func setConditions(_ link: LinkConditions?, from sender: Int, to receiver: Int) {
        overrides[Self.key(sender, receiver)] = link
    }

    public func conditions(from sender: Int, to receiver: Int) -> LinkConditions {
        overrides.isEmpty ? conditions : overrides[Self.key(sender, receiver)] ?? conditions
    }

    /// Splits the nodes: each listed group becomes a side of its own; nodes in no list form one more side.
    public mutating func partition(_ sides: [[Int]]) {
        for index in groups.indices { groups[index] = 0 }
        for (number, side) in sides.enumerated() {
            for node in side { groups[node] = number + 1 }
        }
    }

    /// Ends every partition.
    public mutating func heal() {
        for index in groups.indices { groups[index] = 0 }
    }

    public func canReach(_ sender: Int, _ receiver: Int) -> Bool { groups[sender] == groups[receiver] }

    /// The delay a datagram from `sender` to `receiver` takes, or nil when it is lost.
    mutating func transit(from sender: Int, to receiver: Int) -> Duration? {
        guard canReach(sender, receiver) else { return nil }
        let link = conditions(from: sender, to: receiver)
        if link.loss > 0, Double.random(in: 0..<1, using: &rng) < link.loss { return nil }
        guard link.jitter > .zero else { return link.delay }
        return link.delay + .nanoseconds(Int64.random(in: 0...link.jitter.nanoseconds, using: &rng))
    }

    private static func key(_ sender: Int, _ receiver: Int) -> UInt64 { UInt64(sender) << 32 | UInt64(receiver) }
}
