import RumorMembership
import RumorWire

/// Many `Membership` cores in one process, on an in-memory network and a virtual clock: a discrete-event
/// simulation whose every run is a function of its seed.
///
///     event queue ──► delivery: decode ─► core.receive ─┐
///        ▲        └─► wake:            core.tick    ──┤
///        │                                            ▼
///        └── network (loss, delay, partition) ◄─ encode ◄─ .send effects;  .changed / .conflict ─► records
///
/// Each datagram goes through `PacketBody.encode` and `decode`, so the wire codec runs and sizes are honest.
/// Nothing here reads the real clock or iterates a hashed collection where order matters; `digest` proves it.
public final class Simulation {
    public let settings: MembershipSettings
    public let seed: UInt64
    /// The virtual clock.
    public private(set) var now: Instant = .zero
    public private(set) var nodes: [SimulatedNode] = []
    /// Each node's core while its process runs, by index; kept apart from `nodes` so a core mutates in place.
    private var cores: [Membership?] = []
    public var network: SimulatedNetwork
    /// FNV-1a over every delivered datagram: time, sender, receiver and bytes.
    public private(set) var digest = TraceDigest()
    public private(set) var eventsProcessed = 0
    /// Datagrams larger than `PacketBody.maxFramesSize` plus the sender id, which a sealed datagram cannot hold.
    public private(set) var oversizedPackets = 0
    /// Datagrams whose bytes did not decode back to a packet body.
    public private(set) var undecodablePackets = 0
    public private(set) var largestPacket = 0
    /// Called for each `.changed` effect a core emits: observer index, change, virtual time.
    public var onChange: ((Int, MemberChange, Instant) -> Void)?
    /// Called for each datagram handed to a running core, after decoding: sender, receiver, packet, time.
    public var onDelivery: ((Int, Int, PacketBody, Instant) -> Void)?

    var records = ObservationRecords()
    private var queue = EventQueue()
    private var indexByID: [NodeID: Int] = [:]
    /// What a real node's snapshot file holds when it crashes: its incarnation and its active peers.
    private var snapshots: [Int: (incarnation: UInt64, peers: [AliveClaim])] = [:]
    private var effectsBuffer: [MembershipEffect] = []

    /// - Parameters:
    ///   - nodeCount: nodes created and started at time zero (not yet joined; see `joinAll(through:)`).
    ///   - seed: every random choice of the network and of each core derives from it.
    ///   - link: the conditions of every link until overridden through `network`.
    public init(nodeCount: Int = 0, settings: MembershipSettings, seed: UInt64, link: LinkConditions = .lan) {
        precondition(settings.validationError() == nil, settings.validationError() ?? "")
        self.settings = settings
        self.seed = seed
        var networkSeed = seed ^ 0x6E65_7477_6F72_6B00
        network = SimulatedNetwork(conditions: link, seed: SimulatedIdentity.splitMix(&networkSeed))
        for _ in 0..<nodeCount { addNode() }
    }

    // MARK: - Nodes

    /// Creates node number `nodes.count` and, unless `start` is false, starts its process now.
    /// - Parameter name: defaults to `node-N`; give another node's name to simulate a name conflict.
    /// - Returns: the new node's index.
    @discardableResult
    public func addNode(name: String? = nil, start: Bool = true) -> Int {
        let index = nodes.count
        let node = SimulatedNode(index: index, name: name ?? SimulatedIdentity.name(of: index))
        nodes.append(node)
        cores.append(nil)
        indexByID[node.id] = index
        network.addNode()
        records.addNode()
        if start { self.start(index) }
        return index
    }

    /// Starts node `index`'s process: a fresh core, with nothing known but itself.
    /// - Parameter incarnation: a fresh process that persists no incarnation starts at 0 again.
    public func start(_ index: Int, incarnation: UInt64 = 0) {
        precondition(cores[index] == nil, "node \(index) is already running")
        nodes[index].starts += 1
        nodes[index].isRunning = true
        nodes[index].hasLeft = false
        nodes[index].lastLaggedDelivery = .zero
        cores[index] = Membership(me: nodes[index].claim(incarnation: incarnation), settings: settings,
                                  seed: coreSeed(index), now: now)
        drive(index) { _, _ in }
    }

    /// Node `index` joins through the nodes `seeds` (their addresses, as `--join` would give them).
    public func join(_ index: Int, through seeds: [Int]) {
        let addresses = seeds.map { nodes[$0].address }
        drive(index) { core, effects in core.join(seeds: addresses, now: now, effects: &effects) }
    }

    /// Every running node other than `seed` joins through it, now.
    public func joinAll(through seed: Int) {
        for index in nodes.indices where index != seed && nodes[index].isRunning { join(index, through: [seed]) }
    }

    // MARK: - Faults and commands

    /// Node `index` leaves gracefully. Its process keeps running until `crash` (the process exiting).
    public func leave(_ index: Int) {
        drive(index) { core, effects in core.leave(now: now, effects: &effects) }
        nodes[index].hasLeft = true
    }

    /// Stops node `index` at once: its timers stop and datagrams to it are dropped. Its incarnation and active
    /// peers are kept as the snapshot a restart with `.restore` gives back.
    public func crash(_ index: Int) {
        guard let core = cores[index] else { return }
        let peers = core.members.values
            .filter { $0.id != core.me && $0.state.isActive }
            .sorted { $0.id < $1.id }
            .map(\.claim)
        snapshots[index] = (core.myself.incarnation, peers)
        cores[index] = nil
        nodes[index].isRunning = false
        nodes[index].wakeGeneration += 1
        nodes[index].plannedWake = .distantFuture
    }

    /// How a restarted process finds the mesh again.
    public enum Rejoin: Sendable {
        /// As the node shell does: the snapshot's incarnation + 1, and the peers it remembers as seeds.
        case restore
        /// A node that lost its snapshot: incarnation 0, joining through these nodes as `--join` would.
        case join(through: [Int])
        /// Incarnation 0, waiting to be found.
        case none
    }

    /// Restarts a crashed node: the same identity, a fresh core. Whatever incarnation it starts at, the mesh
    /// may remember a higher one (the node may have refuted since the snapshot), so the core MUST out-number it.
    public func restart(_ index: Int, rejoin: Rejoin) {
        switch rejoin {
        case .restore:
            let snapshot = snapshots[index] ?? (0, [])
            start(index, incarnation: snapshot.incarnation + 1)
            drive(index) { core, effects in core.restore(snapshot.peers, now: now, effects: &effects) }
        case .join(let seeds):
            start(index)
            join(index, through: seeds)
        case .none:
            start(index)
        }
    }

    /// Makes node `index` slow (see `SimulatedNode.receiveLag`); `.zero` makes it healthy again.
    public func setReceiveLag(_ lag: Duration, for index: Int) {
        nodes[index].receiveLag = lag
    }

    /// Hands `to` a datagram of `frames` as though `from` had sent it, now, past loss and partitions.
    public func inject(_ frames: [Frame], from sender: Int, to receiver: Int) {
        let bytes = PacketBody(sender: nodes[sender].id, frames: frames).encode()
        queue.schedule(.delivery(from: sender, to: receiver, bytes: bytes), at: now)
    }

    // MARK: - Running

    /// Runs every event up to and including `deadline`, then sets the clock to it.
    public func run(until deadline: Instant) {
        while let next = queue.nextTime, next <= deadline, let event = queue.popFirst() {
            now = event.time
            eventsProcessed += 1
            switch event.kind {
            case .delivery(let sender, let receiver, let bytes):
                deliver(bytes, from: sender, to: receiver)
            case .wake(let index, let generation):
                guard nodes[index].wakeGeneration == generation else { continue }
                nodes[index].plannedWake = .distantFuture
                drive(index) { core, effects in core.tick(now: now, effects: &effects) }
            }
        }
        if deadline > now { now = deadline }
    }

    public func run(for duration: Duration) { run(until: now + duration) }

    /// Runs until `condition` holds, checking it every `interval` of virtual time, or until `deadline`.
    /// - Returns: the virtual time at which the condition was first seen to hold, or nil if it did not by
    ///   `deadline`.
    @discardableResult
    public func run(until condition: (Simulation) -> Bool, deadline: Instant,
                    checkEvery interval: Duration = .milliseconds(100)) -> Instant? {
        while true {
            if condition(self) { return now }
            guard now < deadline else { return nil }
            run(until: min(deadline, now + interval))
        }
    }

    // MARK: - Inside

    private func deliver(_ bytes: [UInt8], from sender: Int, to receiver: Int) {
        guard nodes[receiver].isRunning else {
            nodes[receiver].counters.packetsDroppedWhileDown += 1
            return
        }
        digest.combine(UInt64(bitPattern: now.nanoseconds))
        digest.combine(UInt64(sender) << 32 | UInt64(receiver))
        digest.combine(bytes)
        nodes[receiver].counters.packetsReceived += 1
        nodes[receiver].counters.bytesReceived += bytes.count
        guard case .success(let packet) = PacketBody.decode(bytes[...]) else {
            undecodablePackets += 1
            return
        }
        onDelivery?(sender, receiver, packet, now)
        let source = nodes[sender].address
        drive(receiver) { core, effects in core.receive(packet, from: source, now: now, effects: &effects) }
    }

    /// Runs `body` on node `index`'s core, performs the effects, and plans the node's next wake.
    private func drive(_ index: Int, _ body: (inout Membership, inout [MembershipEffect]) -> Void) {
        guard cores[index] != nil else { return }
        var effects: [MembershipEffect] = []
        swap(&effects, &effectsBuffer)
        // Mutated through the array element, never copied out, so the core's tables stay uniquely referenced.
        cores[index]?.mutate { core in body(&core, &effects) }
        let wake = max(cores[index]?.nextWake ?? .distantFuture, now)
        perform(effects, at: index)
        effects.removeAll(keepingCapacity: true)
        swap(&effects, &effectsBuffer)
        if wake < nodes[index].plannedWake {
            nodes[index].wakeGeneration += 1
            nodes[index].plannedWake = wake
            queue.schedule(.wake(node: index, generation: nodes[index].wakeGeneration), at: wake)
        }
    }

    private func perform(_ effects: [MembershipEffect], at index: Int) {
        for effect in effects {
            switch effect {
            case .send(let address, let frames):
                send(frames, from: index, to: address)
            case .changed(let change):
                observe(change, at: index)
            case .conflict(let conflict):
                records.conflicts.append(ObservedConflict(time: now, observer: index, conflict: conflict))
            }
        }
    }

    private func send(_ frames: [Frame], from sender: Int, to address: PeerAddress) {
        let bytes = PacketBody(sender: nodes[sender].id, frames: frames).encode()
        nodes[sender].counters.packetsSent += 1
        nodes[sender].counters.bytesSent += bytes.count
        largestPacket = max(largestPacket, bytes.count)
        if bytes.count > PacketBody.maxFramesSize + NodeID.byteCount { oversizedPackets += 1 }
        guard let receiver = SimulatedIdentity.index(of: address), receiver < nodes.count,
              let delay = network.transit(from: sender, to: receiver) else {
            nodes[sender].counters.packetsLost += 1
            return
        }
        var arrival = now + delay
        let lag = nodes[receiver].receiveLag
        if lag > .zero {
            arrival = max(arrival + lag, nodes[receiver].lastLaggedDelivery)
            nodes[receiver].lastLaggedDelivery = arrival
        }
        queue.schedule(.delivery(from: sender, to: receiver, bytes: bytes), at: arrival)
    }

    private func observe(_ change: MemberChange, at observer: Int) {
        onChange?(observer, change, now)
        if change.previousState == nil { records.rowsAdded += 1 }
        guard change.member.state == .dead, let subject = indexByID[change.member.id] else { return }
        records.deathMarks[subject] += 1
        let node = nodes[subject]
        if node.isRunning, !node.hasLeft, network.canReach(observer, subject) {
            records.falseDeaths.append(FalseDeath(time: now, observer: observer, subject: subject))
        }
    }

    /// Node `index`'s core, or nil while its process is down.
    public func core(of index: Int) -> Membership? { cores[index] }

    private func coreSeed(_ index: Int) -> UInt64 {
        var state = seed &+ UInt64(index) &* 0x9E37_79B9_7F4A_7C15 &+ UInt64(nodes[index].starts) &* 0xD1B5_4A32_D192_ED03
        return SimulatedIdentity.splitMix(&state)
    }
}

extension Membership {
    /// Runs `body` on this core in place (through optional chaining on an array element, with no copy).
    fileprivate mutating func mutate(_ body: (inout Membership) -> Void) { body(&self) }
}
