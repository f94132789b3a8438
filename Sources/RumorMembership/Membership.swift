#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import RumorWire

/// The membership protocol as a plain value: SWIM failure detection with the Lifeguard refinements,
/// infection-style gossip, and periodic full-state anti-entropy. It owns the peer table.
///
/// It never reads a clock, never sleeps and never touches a socket: each call takes `now`, appends what the
/// shell MUST do to `effects`, and `nextWake` says when to call `tick` again. A seeded random generator makes
/// every run reproducible. SeeAlso: SWIM (Das et al., 2002), Lifeguard (Dadgar et al., 2018).
public struct Membership: Sendable {
    public let settings: MembershipSettings
    public let me: NodeID
    /// The peer table, this node included.
    public var members: [NodeID: Member] { table.rows }
    var table = PeerTable()
    public private(set) var localHealth = 0
    public private(set) var isLeaving = false
    public private(set) var counters = MembershipCounters()

    var rng: SeededRandom
    /// Every other member, in the shuffled order that round-robin probing walks.
    var probeOrder: [NodeID] = []
    var probeCursor = 0
    var probe: ProbeInFlight?
    /// Pings this node sent on another member's behalf, by the sequence number it used.
    var relays: [UInt32: Relay] = [:]
    var suspicions: [NodeID: Suspicion] = [:]
    /// Pings the shell asked for, kept apart from the probe (see `ping(_:deadline:effects:)`).
    var userPings = UserPings()
    /// Suspects whose suspicion ran out unconfirmed, probed ahead of the round-robin order.
    var suspectsToCheck: [NodeID] = []
    var gossip = BroadcastQueue()
    var seeds: [PeerAddress] = []
    var sequence: UInt32 = 0

    var nextProbeAt: Instant
    var nextGossipAt: Instant
    /// When the last gossip round sent anything: eager rounds keep `eagerGossipSpacing` after it.
    var lastGossipRoundAt: Instant?
    var nextPushPullAt: Instant
    /// Catch-up exchanges (see `catchUp`): when the next may go, members first heard of since the last one, and
    /// how many in a row taught nothing.
    var nextCatchUpAt: Instant = .zero
    var learnedSinceCatchUp = 0
    var fruitlessCatchUps = 0
    var nextReconnectAt: Instant
    var nextJoinAt: Instant = .distantFuture
    var nextReapAt: Instant

    struct ProbeInFlight: Sendable {
        var target: NodeID
        var sequence: UInt32
        var indirectAt: Instant
        var indirectSent = false
        var expectedNacks = 0
        var nacks = 0
    }

    struct Relay: Sendable {
        var requester: PeerAddress
        var requesterSequence: UInt32
        var expiresAt: Instant
    }

    /// Lifeguard's dynamic suspicion: starts long and shrinks toward `minimum` as independent accusers
    /// confirm it. SeeAlso: Lifeguard §IV.B.
    struct Suspicion: Sendable {
        var incarnation: UInt64
        var start: Instant
        var accusers: Set<NodeID>
        var expected: Int
        var minimum: Duration
        var maximum: Duration
        /// Set when the suspicion ran out unconfirmed: this node probes the suspect once more before it spreads
        /// a death, and this is when it stops waiting for that probe.
        var checkBy: Instant?
        /// The suspect answered that probe.
        var answered = false

        /// Enough independent accusers that the suspicion ran its shortest course.
        var isConfirmed: Bool { accusers.count - 1 >= expected }

        var deadline: Instant {
            if let checkBy { return checkBy }
            let confirmations = Double(max(0, accusers.count - 1))
            guard expected > 0 else { return start + minimum }
            let fraction = log(confirmations + 1) / log(Double(expected) + 1)
            let span = Double(maximum.nanoseconds) - Double(maximum.nanoseconds - minimum.nanoseconds) * fraction
            return start + .nanoseconds(Int64(max(Double(minimum.nanoseconds), span)))
        }
    }

    /// - Parameters:
    ///   - me: this node's claim: its id, name, address, tags and starting incarnation.
    ///   - seed: the random seed (the shell takes it from the OS; the simulator from the test).
    public init(me claim: AliveClaim, settings: MembershipSettings, seed: UInt64, now: Instant) {
        self.settings = settings
        self.me = claim.id
        self.rng = SeededRandom(seed: seed)
        table[claim.id] = Member(id: claim.id, name: claim.name, address: claim.address, state: .alive,
                                 incarnation: claim.incarnation, tags: claim.tags, stateChangedAt: now, lastHeard: nil)
        // Spread the periodic work over the first period so a mesh started at once does not pulse.
        nextProbeAt = now + settings.probeInterval * Double.random(in: 0.1...1, using: &rng)
        nextGossipAt = now + settings.gossipInterval
        nextPushPullAt = now + settings.pushPullInterval * Double.random(in: 0.5...1, using: &rng)
        nextReconnectAt = now + settings.reconnectInterval
        nextReapAt = now + .seconds(1)
        nextWake = wakeTime()
    }

    public var myself: Member { table[me] ?? Member(id: me, name: "", address: PeerAddress(ipv4: [0, 0, 0, 0], port: 0), state: .alive, incarnation: 0, tags: Tags(), stateChangedAt: .zero, lastHeard: nil) }

    /// Members alive or suspect, this node included: the n of every log(n) in the protocol.
    public var activeCount: Int { table.activeCount }
    /// Updates waiting in the gossip queue.
    public var gossipBacklog: Int { gossip.count }

    /// When `tick` must next be called. Stored, and worked out again at the end of every public mutating call,
    /// because the shell asks on every turn of its loop: a computed property of a struct held by a class is read
    /// through a copy of the whole core (issue 7: 7% of a round trip's instructions, with `Link`'s).
    public internal(set) var nextWake: Instant = .zero

    /// What `nextWake` is after a change.
    func wakeTime() -> Instant {
        var wake = min(nextProbeAt, nextGossipAt, nextPushPullAt, nextReconnectAt, nextJoinAt, nextReapAt)
        if let probe, !probe.indirectSent { wake = min(wake, probe.indirectAt) }
        for relay in relays.values { wake = min(wake, relay.expiresAt) }
        for suspicion in suspicions.values { wake = min(wake, suspicion.deadline) }
        if let ping = userPings.firstDeadline { wake = min(wake, ping) }
        return wake
    }

    // MARK: - Commands from the shell

    /// Contacts the seeds (push-pull with each) and keeps retrying until some member answers.
    public mutating func join(seeds addresses: [PeerAddress], now: Instant, effects: inout [MembershipEffect]) {
        defer { nextWake = wakeTime() }
        let own = myself.address
        seeds = addresses.filter { $0 != own }
        guard !seeds.isEmpty else { return }
        for seed in seeds { sendState(to: seed, requestReply: true, effects: &effects) }
        // The joiner spreads its own claim too, so the news of it has two sources, not only the seed's
        // gossip: in a small mesh the seed's few transmissions can all miss one member.
        spread(.alive(myself.claim), now: now)
        nextJoinAt = now + settings.joinRetryInterval
    }

    /// Joins through the addresses of members remembered from an earlier run, so a restarted node needs no
    /// --join; they stay reconnect candidates (as seeds) while none of them is a live member.
    ///
    /// Only where to look is restored, not what state: rows restored as dead at their old incarnations would
    /// go out in this node's state exchanges as `dead` claims that every peer accepts about live members, and
    /// would shadow those members' own `alive` claims at the same incarnation.
    public mutating func restore(_ remembered: [AliveClaim], now: Instant, effects: inout [MembershipEffect]) {
        defer { nextWake = wakeTime() }
        let addresses = remembered.filter { $0.id != me }.map(\.address)
        if !addresses.isEmpty { join(seeds: seeds + addresses, now: now, effects: &effects) }
    }

    /// Leaves gracefully: announces `left` at a higher incarnation to every active member and by gossip.
    public mutating func leave(now: Instant, effects: inout [MembershipEffect]) {
        defer { nextWake = wakeTime() }
        guard !isLeaving, var member = table[me] else { return }
        isLeaving = true
        member.incarnation = Membership.incarnation(above: member.incarnation)
        member.state = .left
        member.stateChangedAt = now
        table[me] = member
        // Unsigned here: the shell signs this node's own claims on their way out.
        let update = MemberUpdate.left(subject: me, incarnation: member.incarnation, signature: [])
        spread(update, now: now)
        for id in probeOrder {
            guard let other = table[id], other.state.isActive, other.isReachable else { continue }
            effects.append(.send(to: other.address, frames: [.member(update)]))
        }
    }

    /// Replaces this node's tags and gossips them at a new incarnation.
    public mutating func setTags(_ tags: Tags, now: Instant) {
        defer { nextWake = wakeTime() }
        guard var member = table[me], !isLeaving else { return }
        member.tags = tags
        member.incarnation = Membership.incarnation(above: member.incarnation)
        table[me] = member
        spread(.alive(member.claim), now: now)
    }

    // MARK: - Receiving

    /// Handles the membership frames of one authenticated packet that arrived from `source`.
    public mutating func receive(_ packet: PacketBody, from source: PeerAddress, now: Instant, effects: inout [MembershipEffect]) {
        defer { nextWake = wakeTime() }
        let sender = packet.sender
        guard sender != me else { return }
        let senderWasKnown = table.heard(sender, at: now, from: source)
        var syncRequested = false
        var sawState = false
        for frame in packet.frames {
            switch frame {
            case .ping(let sequence, let target):
                // A ping meant for another identity (a restarted node on a reused port) gets no answer.
                guard target == me else { continue }
                sendWithGossip(to: source, frames: [.ack(sequence: sequence)], effects: &effects)
            case .ack(let sequence):
                if userPings.answer(sequence, from: sender) { continue }
                handleAck(sequence, now: now, effects: &effects)
            case .nack(let sequence):
                if probe?.sequence == sequence { probe?.nacks += 1 }
            case .pingRequest(let sequence, let target, let address):
                guard target != me else {
                    sendWithGossip(to: source, frames: [.ack(sequence: sequence)], effects: &effects)
                    continue
                }
                // The requester may know no better address than the unspecified one: use ours, if we know one.
                let known = table[target].flatMap { $0.isReachable ? $0.address : nil }
                guard !source.isUnspecified, let targetAddress = address.isUnspecified ? known : address else { continue }
                let relaySequence = nextSequence()
                relays[relaySequence] = Relay(requester: source, requesterSequence: sequence, expiresAt: now + settings.probeTimeout)
                sendWithGossip(to: targetAddress, frames: [.ping(sequence: relaySequence, target: target)], effects: &effects)
            case .member(let update):
                sawState = true
                apply(update, from: sender, source: source, now: now, effects: &effects)
            case .syncRequest:
                syncRequested = true
            case .message, .messageAck, .datagram:
                continue
            }
        }
        if sawState || syncRequested, nextJoinAt != .distantFuture, activeCount > 1 {
            nextJoinAt = .distantFuture
        }
        if syncRequested { sendState(to: source, requestReply: false, effects: &effects) }
        // A sync request from a member this node did not know: a join (or a node forgotten since it last spoke).
        if syncRequested, !senderWasKnown { announceJoiner(sender, effects: &effects) }
    }

    // MARK: - Timers

    /// Runs whatever is due at `now`.
    public mutating func tick(now: Instant, effects: inout [MembershipEffect]) {
        defer { nextWake = wakeTime() }
        userPings.expire(now: now)
        expireRelays(now: now, effects: &effects)
        if var current = probe, !current.indirectSent, now >= current.indirectAt {
            current.indirectSent = true
            current.expectedNacks = sendIndirectProbes(for: current, effects: &effects)
            probe = current
        }
        if now >= nextProbeAt {
            if let failed = probe { probeFailed(failed, now: now, effects: &effects) }
            startProbe(now: now, effects: &effects)
            nextProbeAt = now + settings.probeInterval * Double(localHealth + 1)
        }
        expireSuspicions(now: now, effects: &effects)
        if now >= nextGossipAt {
            gossipRound(now: now, effects: &effects)
            nextGossipAt = now + settings.gossipInterval
        }
        catchUp(now: now, effects: &effects)
        if now >= nextPushPullAt {
            if let peer = randomMembers(1, where: { $0.state == .alive }).first {
                sendState(to: peer.address, requestReply: true, effects: &effects)
            }
            nextPushPullAt = now + settings.pushPullInterval * pushPullScale
        }
        if now >= nextJoinAt {
            for seed in seeds { sendState(to: seed, requestReply: true, effects: &effects) }
            nextJoinAt = now + settings.joinRetryInterval
        }
        if now >= nextReconnectAt {
            reconnect(now: now, effects: &effects)
            nextReconnectAt = now + settings.reconnectInterval
        }
        if now >= nextReapAt {
            reap(now: now)
            nextReapAt = now + .seconds(1)
        }
    }

    // MARK: - Probing (SWIM §4, Lifeguard §IV.A)

    mutating func startProbe(now: Instant, effects: inout [MembershipEffect]) {
        probe = nil
        guard let target = nextProbeTarget(), let member = table[target] else { return }
        let sequence = nextSequence()
        probe = ProbeInFlight(target: target, sequence: sequence,
                              indirectAt: now + settings.probeTimeout * Double(localHealth + 1))
        var frames: [Frame] = [.ping(sequence: sequence, target: target)]
        // Lifeguard's buddy rule: a suspect learns at once, in the probe itself, that it is suspected.
        if member.state == .suspect, let accuser = suspicions[target]?.accusers.min() {
            frames.append(.member(.suspect(subject: target, incarnation: member.incarnation, accuser: accuser)))
        }
        sendWithGossip(to: member.address, frames: frames, effects: &effects)
    }

    mutating func nextProbeTarget() -> NodeID? {
        while !suspectsToCheck.isEmpty {
            let id = suspectsToCheck.removeFirst()
            if let member = table[id], member.state == .suspect, member.isReachable { return id }
        }
        for _ in 0..<(probeOrder.count + 1) {
            if probeCursor >= probeOrder.count {
                probeOrder.shuffle(using: &rng)
                probeCursor = 0
                if probeOrder.isEmpty { return nil }
            }
            let candidate = probeOrder[probeCursor]
            probeCursor += 1
            if let member = table[candidate], member.state.isActive, member.isReachable { return candidate }
        }
        return nil
    }

    mutating func sendIndirectProbes(for probe: ProbeInFlight, effects: inout [MembershipEffect]) -> Int {
        guard let target = table[probe.target] else { return 0 }
        let helpers = randomMembers(settings.indirectChecks) { $0.state == .alive && $0.id != probe.target }
        for helper in helpers {
            effects.append(.send(to: helper.address, frames: [
                .pingRequest(sequence: probe.sequence, target: probe.target, address: target.address),
            ]))
        }
        return helpers.count
    }

    mutating func handleAck(_ sequence: UInt32, now: Instant, effects: inout [MembershipEffect]) {
        if let current = probe, current.sequence == sequence {
            probe = nil
            adjustHealth(-1)
            if suspicions[current.target]?.checkBy != nil { suspicions[current.target]?.answered = true }
            if let target = table[current.target] { table[current.target]?.lastHeard = now; _ = target }
        } else if let relay = relays.removeValue(forKey: sequence) {
            effects.append(.send(to: relay.requester, frames: [.ack(sequence: relay.requesterSequence)]))
        }
    }

    mutating func probeFailed(_ failed: ProbeInFlight, now: Instant, effects: inout [MembershipEffect]) {
        probe = nil
        // Lifeguard: missing nacks mean our own links or CPU are the problem, not only the target.
        let missingNacks = failed.indirectSent ? max(0, failed.expectedNacks - failed.nacks) : 0
        adjustHealth(missingNacks > 0 ? missingNacks : 1)
        guard let member = table[failed.target], member.state.isActive else { return }
        suspect(failed.target, incarnation: member.incarnation, accuser: me, now: now, effects: &effects)
    }

    mutating func expireRelays(now: Instant, effects: inout [MembershipEffect]) {
        guard !relays.isEmpty else { return }
        for (sequence, relay) in relays.filter({ $0.value.expiresAt <= now }).sorted(by: { $0.key < $1.key }) {
            relays[sequence] = nil
            effects.append(.send(to: relay.requester, frames: [.nack(sequence: relay.requesterSequence)]))
        }
    }

    mutating func adjustHealth(_ delta: Int) {
        localHealth = min(settings.maxLocalHealth, max(0, localHealth + delta))
    }

    // MARK: - Applying news (SWIM §4.2 with incarnation numbers)

    mutating func apply(_ update: MemberUpdate, from sender: NodeID, source: PeerAddress, now: Instant,
                        effects: inout [MembershipEffect]) {
        switch update {
        case .suspect(_, .max, _), .dead(_, .max, _):
            // An accusation at 2^64-1 can never be out-numbered: its subject could not refute it, so one unsigned
            // frame would end a live member for good. Every node refuses it (Docs/PROTOCOL.md, "Incarnations at the top of the range").
            return
        case .alive(let claim):
            applyAlive(claim, observedAt: sender == claim.id ? source : nil, now: now, effects: &effects)
        case .suspect(let subject, let incarnation, let accuser):
            suspect(subject, incarnation: incarnation, accuser: accuser, now: now, effects: &effects)
        case .dead(let subject, let incarnation, let accuser):
            declare(subject, .dead, incarnation: incarnation, update: .dead(subject: subject, incarnation: incarnation, accuser: accuser),
                    now: now, effects: &effects)
        case .left(let subject, let incarnation, _):
            declare(subject, .left, incarnation: incarnation, update: update, now: now, effects: &effects)
        }
    }

    /// Applies an alive claim, kept as its subject signed it (`Member.signedClaim`).
    ///
    /// - Parameters:
    ///   - observedAt: the packet's source address when the subject sent the claim itself, nil when relayed. A
    ///     claim of the unspecified address (its subject listens on 0.0.0.0 or ::) is reached there; relayed, it
    ///     keeps the address known already, or none until the subject's own packets arrive (see `receive`).
    mutating func applyAlive(_ claim: AliveClaim, observedAt source: PeerAddress?, now: Instant, effects: inout [MembershipEffect]) {
        if claim.id == me {
            // Someone holds news of us newer than ours (an earlier run of this identity): out-number it.
            if claim.incarnation >= myself.incarnation, !isLeaving, !claim.sameContent(as: myself.claim) { refute(above: claim.incarnation, now: now) }
            return
        }
        guard let existing = table[claim.id] else {
            if let holder = liveHolder(of: claim.name, other: claim.id) {
                effects.append(.conflict(NameConflict(name: claim.name, holder: holder, claimant: claim.id, claimantAddress: claim.address)))
                return
            }
            forgetInactive(named: claim.name)
            guard makeRoom() else {
                counters.membersRefused += 1
                return
            }
            table[claim.id] = Member(id: claim.id, name: claim.name, address: Membership.address(of: claim, observedAt: source, known: nil),
                                     state: .alive, incarnation: claim.incarnation, tags: claim.tags, stateChangedAt: now, lastHeard: nil,
                                     signature: claim.signature, signedClaim: claim)
            insertIntoProbeOrder(claim.id)
            learnedSinceCatchUp += 1
            spread(.alive(claim), now: now)
            effects.append(.changed(MemberChange(member: table[claim.id] ?? existingPlaceholder(claim, now), previousState: nil)))
            return
        }
        guard claim.incarnation > existing.incarnation else { return }
        // Checked on every newer claim, not only on a rename: a dead member that comes back under its old name
        // may find the name taken meanwhile by another identity, which then holds it.
        if let holder = liveHolder(of: claim.name, other: claim.id) {
            effects.append(.conflict(NameConflict(name: claim.name, holder: holder, claimant: claim.id, claimantAddress: claim.address)))
            return
        }
        if existing.name != claim.name { forgetInactive(named: claim.name) }
        var member = existing
        member.name = claim.name
        member.address = Membership.address(of: claim, observedAt: source, known: existing.address)
        member.tags = claim.tags
        member.signature = claim.signature
        member.signedClaim = claim
        member.incarnation = claim.incarnation
        if member.state != .alive {
            member.state = .alive
            member.stateChangedAt = now
        }
        table[claim.id] = member
        suspicions[claim.id] = nil
        spread(.alive(claim), now: now)
        if existing.state != .alive { effects.append(.changed(MemberChange(member: member, previousState: existing.state))) }
    }

    mutating func suspect(_ subject: NodeID, incarnation: UInt64, accuser: NodeID, now: Instant, effects: inout [MembershipEffect]) {
        if subject == me {
            guard !isLeaving else { return }
            if incarnation >= myself.incarnation {
                refute(above: incarnation, now: now)
                adjustHealth(1)
            } else {
                reannounce(now: now)
            }
            return
        }
        guard var member = table[subject], incarnation >= member.incarnation else { return }
        if member.state == .suspect, incarnation == member.incarnation {
            // Lifeguard: an independent accuser confirms the suspicion and shortens it.
            if var suspicion = suspicions[subject], !suspicion.accusers.contains(accuser) {
                suspicion.accusers.insert(accuser)
                suspicions[subject] = suspicion
                spread(.suspect(subject: subject, incarnation: incarnation, accuser: accuser), now: now)
            }
            return
        }
        guard member.state == .alive || incarnation > member.incarnation, member.state != .left else { return }
        let previous = member.state
        member.state = .suspect
        member.incarnation = incarnation
        member.stateChangedAt = now
        table[subject] = member
        let n = Double(max(1, activeCount))
        let minimum = settings.probeInterval * (settings.suspicionMultiplier * max(1, log10(n)))
        let expected = activeCount - 2 < Int(settings.suspicionMultiplier) - 2 ? 0 : Int(settings.suspicionMultiplier) - 2
        suspicions[subject] = Suspicion(incarnation: incarnation, start: now, accusers: [accuser], expected: expected,
                                        minimum: minimum, maximum: minimum * settings.suspicionMaxMultiplier)
        spread(.suspect(subject: subject, incarnation: incarnation, accuser: accuser), now: now)
        effects.append(.changed(MemberChange(member: member, previousState: previous)))
    }

    mutating func declare(_ subject: NodeID, _ state: MemberState, incarnation: UInt64, update: MemberUpdate, now: Instant,
                          effects: inout [MembershipEffect]) {
        if subject == me {
            guard !isLeaving else { return }
            if incarnation >= myself.incarnation { refute(above: incarnation, now: now) } else { reannounce(now: now) }
            return
        }
        guard var member = table[subject], incarnation >= member.incarnation else { return }
        guard member.state != state, member.state != .left || incarnation > member.incarnation else { return }
        if member.state == .dead, state == .dead { return }
        let previous = member.state
        member.state = state
        member.incarnation = incarnation
        member.stateChangedAt = now
        if case .left(_, _, let signature) = update { member.signature = signature }
        table[subject] = member
        suspicions[subject] = nil
        spread(update, now: now)
        effects.append(.changed(MemberChange(member: member, previousState: previous)))
    }

    mutating func expireSuspicions(now: Instant, effects: inout [MembershipEffect]) {
        let expired = suspicions.filter { $0.value.deadline <= now }.sorted { $0.key < $1.key }
        for (subject, suspicion) in expired {
            guard let member = table[subject], member.state == .suspect, member.incarnation == suspicion.incarnation else {
                suspicions[subject] = nil
                continue
            }
            if suspicion.checkBy == nil, !suspicion.isConfirmed {
                // Nobody confirmed it: maybe the rest of the mesh heard the refutation and every copy of it was lost
                // on the way here. Probe the suspect first (the probe carries the suspicion, so a live suspect's
                // ack carries its refutation); if that probe fails too, the suspect is dead.
                suspicions[subject]?.checkBy = nextProbeAt + settings.probeInterval * Double(2 * (localHealth + 1))
                suspectsToCheck.append(subject)
                continue
            }
            if suspicion.answered {
                // It answered, but its refutation has not arrived: suspect it afresh rather than call it dead.
                suspicions[subject]?.start = now
                suspicions[subject]?.checkBy = nil
                suspicions[subject]?.answered = false
                continue
            }
            suspicions[subject] = nil
            declare(subject, .dead, incarnation: member.incarnation,
                    update: .dead(subject: subject, incarnation: member.incarnation, accuser: me), now: now, effects: &effects)
        }
    }

    /// SWIM refutation: claim alive at an incarnation above the accusation.
    mutating func refute(above incarnation: UInt64, now: Instant) {
        guard var member = table[me] else { return }
        member.incarnation = Membership.incarnation(above: max(member.incarnation, incarnation))
        table[me] = member
        spread(.alive(member.claim), now: now)
    }

    /// An accusation older than our incarnation means the accuser missed the refutation (every transmission of
    /// it may have been lost): gossip the current claim again rather than let the stale suspicion run out.
    mutating func reannounce(now: Instant) {
        spread(.alive(myself.claim), now: now)
    }

    func liveHolder(of name: String, other id: NodeID) -> NodeID? {
        table.ids(named: name).first { $0 != id && ($0 == me || table[$0]?.state.isActive == true) }
    }

    /// A name freed by a dead or departed member may be taken by a new identity; forget the old one.
    mutating func forgetInactive(named name: String) {
        for id in table.ids(named: name) where id != me && table[id]?.state.isActive == false {
            remove(id)
        }
    }

    /// Where to reach the subject of `claim`: the address it claims, else where it sent the claim from, else the
    /// address known already (unspecified when there is none).
    static func address(of claim: AliveClaim, observedAt source: PeerAddress?, known: PeerAddress?) -> PeerAddress {
        guard claim.address.isUnspecified else { return claim.address }
        if let source, !source.isUnspecified { return source.withPort(claim.address.port) }
        return known ?? claim.address
    }

    /// Whether the table has room for one more member, after forgetting a dead or departed one if it is full:
    /// a live member is worth more than the memory of a gone one. Departed ones go first (they said goodbye), then
    /// dead ones, the longest gone first.
    mutating func makeRoom() -> Bool {
        guard table.count >= settings.maxMembers else { return true }
        // All active: nothing to forget, and no scan of a full table for each refused claim.
        guard table.count > table.activeCount else { return false }
        let victim = table.rows.values.filter { $0.id != me && !$0.state.isActive }.min { a, b in
            if (a.state == .left) != (b.state == .left) { return a.state == .left }
            return a.stateChangedAt != b.stateChangedAt ? a.stateChangedAt < b.stateChangedAt : a.id < b.id
        }
        guard let victim else { return false }
        remove(victim.id)
        counters.membersEvicted += 1
        return table.count < settings.maxMembers
    }

    func existingPlaceholder(_ claim: AliveClaim, _ now: Instant) -> Member {
        Member(id: claim.id, name: claim.name, address: claim.address, state: .alive, incarnation: claim.incarnation,
               tags: claim.tags, stateChangedAt: now, lastHeard: nil)
    }

    // MARK: - Dissemination and anti-entropy

    /// λ·⌈log10(n + 1)⌉, but never fewer than 2λ: in a mesh of under ten members λ transmissions to random
    /// members leave one member unreached too often (seen as a 5-node mesh not converged in 5 s).
    var retransmitLimit: Int {
        settings.retransmitMultiplier * max(2, Int(log10(Double(activeCount + 1)).rounded(.up)))
    }

    /// Sends `frames` to `address` with as much queued gossip as fits in the packet.
    mutating func sendWithGossip(to address: PeerAddress, frames: [Frame], effects: inout [MembershipEffect]) {
        // Nothing is ever sent to 0.0.0.0 or ::, which the kernel routes to this very host.
        guard !address.isUnspecified else { return }
        var all = frames
        let used = frames.reduce(0) { $0 + $1.encodedSize }
        if !gossip.isEmpty {
            for update in gossip.take(budget: PacketBody.maxFramesSize - used, limit: retransmitLimit) { all.append(.member(update)) }
        }
        effects.append(.send(to: address, frames: all))
    }

    /// Eager rounds per `gossipInterval`, at most: a node that keeps learning news (a mass join) gossips at most
    /// this many times as often as an idle one, and no update is sent more than `retransmitLimit` times either way.
    static let eagerRoundsPerInterval = 4

    var eagerGossipSpacing: Duration { settings.gossipInterval * (1 / Double(Membership.eagerRoundsPerInterval)) }

    /// Queues `update` for gossip and brings the next round forward to now, or to `eagerGossipSpacing` after the
    /// last round that sent anything (eager gossip).
    ///
    /// Waiting for the regular round costs up to a whole `gossipInterval` at every hop of the infection, and an
    /// epidemic in n members takes about log n hops: 64 real processes took 1.3 s to converge. News goes out
    /// as soon as it is learned instead; the spacing bounds the rate (at most `gossipFanout` datagrams per
    /// spacing, only while there is news), and `retransmitLimit` still bounds the total.
    mutating func spread(_ update: MemberUpdate, now: Instant) {
        gossip.enqueue(update)
        let earliest = lastGossipRoundAt.map { $0 + eagerGossipSpacing } ?? now
        nextGossipAt = min(nextGossipAt, max(now, earliest))
    }

    /// Join announce: the seed of a join sends the joiner's claim, as the joiner signed it, straight to
    /// `joinAnnounceFanout` random active members, rather than leave the news of it to gossip alone.
    ///
    /// The seed learns each joiner from the first datagram of its push and answers with its table, so of two nodes
    /// joining through one seed, the later finds the earlier in that answer, and the earlier hears of the later from
    /// the seed: without loss, every pair has met one round trip after the last join, where gossip left an
    /// infection's slow tail (64 real processes: 1.7 s, and 20 s when a pair waited for a push-pull). The seed
    /// speaks to its members over sessions it holds already; a joiner announcing itself would first need a
    /// handshake with each. The announce is the bare claim, without piggybacked gossip, so no retransmit count
    /// changes, and the claim is gossiped as before.
    mutating func announceJoiner(_ joiner: NodeID, effects: inout [MembershipEffect]) {
        guard settings.joinAnnounceFanout > 0, let claim = table[joiner]?.signedClaim else { return }
        for member in randomMembers(settings.joinAnnounceFanout, where: { $0.state.isActive && $0.id != joiner }) {
            effects.append(.send(to: member.address, frames: [.member(.alive(claim))]))
        }
    }

    mutating func gossipRound(now: Instant, effects: inout [MembershipEffect]) {
        guard !gossip.isEmpty else { return }
        let toTheDead = settings.gossipToTheDead
        let targets = randomMembers(settings.gossipFanout) { member in
            member.state.isActive || (member.state == .dead && now - member.stateChangedAt < toTheDead)
        }
        for target in targets {
            let updates = gossip.take(budget: PacketBody.maxFramesSize, limit: retransmitLimit)
            guard !updates.isEmpty else { break }
            effects.append(.send(to: target.address, frames: updates.map { .member($0) }))
            lastGossipRoundAt = now
        }
    }

    /// After a catch-up that taught nothing, the next waits twice as long; after this many in a row, none goes until
    /// a new member is heard of.
    static let fruitlessCatchUpLimit = 1

    /// Catch-up exchange: a full-state push-pull with a random member, early, while news arrives faster than gossip
    /// spreads it. A gossip queue of `catchUpBacklog` updates or more is that sign: a round carries about 9 updates
    /// per target, and every update is sent `retransmitLimit` times, so a queue that long takes many seconds to
    /// drain while each update waits its turn. Until it does, the last members to hear of each newcomer hear of
    /// it late: in the simulator, 1,000 nodes joining at once saw 95% of each other after 5 s and all of each
    /// other only after the first periodic push-pull, at 30 s. One exchange fetches a whole table instead.
    ///
    /// Exchanges go every `catchUpInterval` while they (or gossip) bring news of new members; after one that
    /// brought none, the next waits twice as long, and after `fruitlessCatchUpLimit` in a row none go until news
    /// comes, so a converged mesh whose queues are still draining goes quiet. In a steady mesh queues stay short
    /// and none of this runs. Docs/MEMBERSHIP.md, "Catch-up exchange".
    mutating func catchUp(now: Instant, effects: inout [MembershipEffect]) {
        guard settings.catchUpBacklog > 0, gossip.count >= settings.catchUpBacklog, now >= nextCatchUpAt else { return }
        if learnedSinceCatchUp > 0 {
            fruitlessCatchUps = 0
        } else {
            guard fruitlessCatchUps < Membership.fruitlessCatchUpLimit else { return }
            fruitlessCatchUps += 1
        }
        learnedSinceCatchUp = 0
        nextCatchUpAt = now + settings.catchUpInterval * Double(1 << fruitlessCatchUps)
        guard let peer = randomMembers(1, where: { $0.state == .alive }).first else { return }
        counters.catchUps += 1
        sendState(to: peer.address, requestReply: true, effects: &effects)
    }

    /// The full member list, as updates, split into packets that each fit a datagram.
    mutating func sendState(to address: PeerAddress, requestReply: Bool, effects: inout [MembershipEffect]) {
        guard !address.isUnspecified else { return }
        var packets: [[Frame]] = []
        var current: [Frame] = requestReply ? [.syncRequest] : []
        var size = current.reduce(0) { $0 + $1.encodedSize }
        // This node's own claim goes first so a seed learns the joiner from the first datagram.
        let ordered = [myself] + probeOrder.compactMap { table[$0] }
        for member in ordered {
            let frame = Frame.member(stateUpdate(for: member))
            if size + frame.encodedSize > PacketBody.maxFramesSize {
                packets.append(current)
                current = []
                size = 0
            }
            current.append(frame)
            size += frame.encodedSize
        }
        if !current.isEmpty { packets.append(current) }
        for frames in packets { effects.append(.send(to: address, frames: frames)) }
    }

    func stateUpdate(for member: Member) -> MemberUpdate {
        switch member.state {
        case .alive: return .alive(member.claim)
        // A suspect is sent as its own signed claim, so a receiver that never heard of it can add it. Not at the
        // suspicion's incarnation: the signature covers the claim's own, and a receiver would drop it as forged.
        case .suspect: return .alive(member.claim)
        case .dead: return .dead(subject: member.id, incarnation: member.incarnation, accuser: me)
        case .left: return .left(subject: member.id, incarnation: member.incarnation, signature: member.signature)
        }
    }

    /// memberlist's pushPullScale: above 32 members the interval grows with log2(n) so the load per node stays flat.
    var pushPullScale: Double {
        let n = Double(activeCount)
        guard n > 32 else { return 1 }
        return (log2(n) - log2(32)).rounded(.up) + 1
    }

    /// Contacts one dead member, or a seed no live member is known at, so that a healed partition merges.
    mutating func reconnect(now: Instant, effects: inout [MembershipEffect]) {
        let deadTargets = probeOrder.compactMap { table[$0] }.filter { $0.state == .dead && $0.isReachable }
        let liveAddresses = Set(members.values.filter { $0.state.isActive }.map(\.address))
        let lostSeeds = seeds.filter { !liveAddresses.contains($0) }
        let candidates = deadTargets.map(\.address) + lostSeeds
        guard !candidates.isEmpty else { return }
        let address = candidates[Int.random(in: 0..<candidates.count, using: &rng)]
        var frames: [Frame] = [.syncRequest, .member(.alive(myself.claim))]
        // Tell the member what we believe about it, so that if it is alive it refutes at once.
        if let target = deadTargets.first(where: { $0.address == address }) {
            frames.append(.member(.dead(subject: target.id, incarnation: target.incarnation, accuser: me)))
        }
        effects.append(.send(to: address, frames: frames))
    }

    mutating func reap(now: Instant) {
        for member in members.values where member.id != me {
            let age = now - member.stateChangedAt
            if (member.state == .dead && age > settings.reconnectTimeout) || (member.state == .left && age > settings.leftRetention) {
                remove(member.id)
            }
        }
    }

    mutating func remove(_ id: NodeID) {
        table[id] = nil
        suspicions[id] = nil
        if let index = probeOrder.firstIndex(of: id) {
            probeOrder.remove(at: index)
            if index < probeCursor { probeCursor -= 1 }
        }
    }

    // MARK: - Helpers

    mutating func insertIntoProbeOrder(_ id: NodeID) {
        // SWIM §4.3: new members go in at a random place so each is probed within one round.
        let index = Int.random(in: 0...probeOrder.count, using: &rng)
        probeOrder.insert(id, at: index)
        if index < probeCursor { probeCursor += 1 }
    }

    mutating func randomMembers(_ count: Int, where predicate: (Member) -> Bool) -> [Member] {
        guard count > 0, !probeOrder.isEmpty else { return [] }
        var chosen: [Member] = []
        var seen = Set<NodeID>()
        // Sampling with a bounded number of tries keeps this O(count) even in a 10,000-member table.
        for _ in 0..<(count * 4) {
            let id = probeOrder[Int.random(in: 0..<probeOrder.count, using: &rng)]
            // Every caller sends to the members chosen: only those with a known address qualify.
            guard seen.insert(id).inserted, let member = table[id], member.isReachable, predicate(member) else { continue }
            chosen.append(member)
            if chosen.count == count { return chosen }
        }
        for id in probeOrder.shuffled(using: &rng) where chosen.count < count && !seen.contains(id) {
            if let member = table[id], member.isReachable, predicate(member) { chosen.append(member) }
        }
        return chosen
    }

    /// The next incarnation, saturating at 2^64-1: no trap on a number a peer chose. Accusations at 2^64-1 are
    /// refused, so a node held there still wins against every accusation it accepts.
    static func incarnation(above incarnation: UInt64) -> UInt64 {
        incarnation == .max ? .max : incarnation + 1
    }

    mutating func nextSequence() -> UInt32 {
        sequence &+= 1
        return sequence
    }
}

