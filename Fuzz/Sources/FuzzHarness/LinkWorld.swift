import RumorCrypto
import RumorLink
import RumorWire
import Synchronization

/// Two honest `Link`s, A and R, on a network the fuzz input controls, next to an adversary who holds the
/// network key and a mesh identity of its own (S), sees every datagram, and may drop, duplicate, reorder,
/// mutate, replay and inject. The handshake and transport targets differ only in where the world starts.
///
/// Invariants, checked on every `receive`:
/// - a body is delivered only if an honest link (or S) sealed exactly that body for this receiver, from that
///   sender's identity, and each transport datagram delivers at most once (no replay);
/// - handshake datagrams never deliver a body; one datagram yields at most one drop, and a drop nothing else;
/// - datagrams sent fit `PacketBody.maxDatagramSize` and carry version 1 and a known type;
/// - a pinned responder never makes a session with an identity outside its allow list.
/// And at the end: once the adversary stops and the network is reliable, both directions deliver again
/// within `healLimit` of simulated time.
struct LinkWorld: Sendable {
    static let key = Samples.networkKey(7)
    /// Another mesh's key: datagrams under it are `unknown_key`.
    static let foreignKey = Samples.networkKey(8)
    static let identities = [Samples.identity(1), Samples.identity(2)]
    static let ids = identities.map(Samples.nodeID(of:))
    static let adversaryIdentity = Samples.identity(3)
    static let adversaryID = Samples.nodeID(of: adversaryIdentity)
    /// The responder of an initiation sent to an address whose identity is unknown.
    static let anyone = Samples.id(0)
    /// A, R, S, and an address nobody listens on.
    static let addresses = [Samples.ipv4(1), Samples.ipv4(2), Samples.ipv4(3), Samples.ipv6]
    /// Session indices start here (A) and at twice this (R), counting up: seeds can name them.
    static let indexBase: UInt32 = 0x1000_0000
    static let healLimit: Duration = .seconds(60)
    static let maxOps = 64

    struct InFlight: Sendable {
        var datagram: [UInt8]
        var from: PeerAddress
        var to: Int
    }

    /// What the adversary S knows of one of its sessions.
    struct AdversarySession: Sendable {
        var victim: Int
        var remoteIndex: UInt32
        var send: SecretBytes
        var counter: UInt64 = 0
    }

    var links: [Link]
    let randomness: [LinkRandomness]
    var now = Instant(nanoseconds: 1_000_000_000)
    var wallClock: UInt64 = 1_800_000_000_000_000_000
    var wire: [InFlight] = []
    /// Every datagram that was on the wire, oldest first (bounded), for replays.
    var history: [InFlight] = []
    /// Plaintexts sealed for each receiver, by sender identity.
    var sealed: [Int: [NodeID: [[UInt8]]]] = [:]
    var deliveredDatagrams: Set<[UInt8]> = []
    var deliveredBodies: [Int: [(body: [UInt8], from: NodeID)]] = [:]
    var pinned: Bool
    var adversaryPending: [UInt32: EphemeralKey] = [:]
    var adversarySessions: [AdversarySession] = []
    var adversaryEphemeralSeed: UInt32 = 0x3000
    var nonceCounter: UInt64 = 0

    init(pinned: Bool) throws(Violation) {
        let sources = [LinkRandomness(indexBase: LinkWorld.indexBase, ephemeralBase: 0x1000),
                       LinkRandomness(indexBase: 2 * LinkWorld.indexBase, ephemeralBase: 0x2000)]
        randomness = sources
        do {
            links = try (0..<2).map { side in
                let source = sources[side]
                return try Link(identity: LinkWorld.identities[side], keyring: NetworkKeyring(primary: LinkWorld.key),
                                randomIndex: { source.nextIndex() }, makeEphemeral: { source.nextEphemeral() })
            }
        } catch {
            throw Violation(message: "Link.init refused a valid identity: \(error)", location: "\(#fileID):\(#line)")
        }
        self.pinned = pinned
        if pinned { links[1].allowed = [LinkWorld.ids[0]] }
    }

    /// Restores the deterministic index and key sources to where this world's copy left them.
    func rewindRandomness(to marks: [(UInt32, UInt32)]) {
        for (side, mark) in marks.enumerated() { randomness[side].rewind(index: mark.0, ephemeral: mark.1) }
    }

    var randomnessMarks: [(UInt32, UInt32)] { randomness.map(\.marks) }

    // MARK: - Honest actions

    mutating func send(_ body: [UInt8], from side: Int, expected: NodeID?) throws(Violation) {
        sealed[1 - side, default: [:]][LinkWorld.ids[side], default: []].append(body)
        var effects: [LinkEffect] = []
        links[side].send(body, to: LinkWorld.addresses[1 - side], expected: expected, now: now, wallClock: wallClock, effects: &effects)
        try perform(effects, at: side, cause: nil)
    }

    mutating func advance(_ duration: Duration) throws(Violation) {
        now = now + duration
        wallClock &+= UInt64(max(0, duration.nanoseconds))
        for side in links.indices {
            var effects: [LinkEffect] = []
            links[side].tick(now: now, wallClock: wallClock, effects: &effects)
            try perform(effects, at: side, cause: nil)
        }
    }

    // MARK: - The network

    mutating func deliver(_ item: InFlight) throws(Violation) {
        var effects: [LinkEffect] = []
        links[item.to].receive(item.datagram, from: item.from, now: now, wallClock: wallClock, effects: &effects)
        try perform(effects, at: item.to, cause: item.datagram)
    }

    mutating func deliverFirst(_ count: Int) throws(Violation) {
        for _ in 0..<min(count, wire.count) { try deliver(wire.removeFirst()) }
    }

    /// Delivers until nothing is in flight (bounded: links answer datagrams with datagrams).
    mutating func drain() throws(Violation) {
        var steps = 0
        while !wire.isEmpty, steps < 256 {
            try deliver(wire.removeFirst())
            steps += 1
        }
    }

    /// Carries out a link's effects and checks them. `cause` is the datagram it received, if any.
    mutating func perform(_ effects: [LinkEffect], at side: Int, cause: [UInt8]?) throws(Violation) {
        let me = LinkWorld.ids[side]
        let drops = effects.filter { if case .drop = $0 { return true } else { return false } }.count
        try require(drops <= 1, "one datagram caused \(drops) drops: \(effects)")
        if drops == 1 {
            try require(effects.count == 1, "a dropped datagram also caused \(effects)")
        }
        for effect in effects {
            switch effect {
            case .send(let datagram, let address):
                try require(datagram.count <= PacketBody.maxDatagramSize, "sent a datagram of \(datagram.count) bytes")
                try require(datagram.count >= 2 && datagram[0] == SealedPacket.version && [2, 3, 4].contains(datagram[1]),
                            "sent a datagram with header \(datagram.prefix(2))")
                let item = InFlight(datagram: datagram, from: LinkWorld.addresses[side], to: LinkWorld.addresses.firstIndex(of: address) ?? 3)
                record(item)
                learnFromSeen(item)
                if item.to < 2 { wire.append(item) }
            case .deliver(let body, let peer, _):
                guard let cause else { throw Violation(message: "delivered a body without receiving anything", location: "\(#fileID):\(#line)") }
                try require(cause[1] == TransportHeader.type, "a type \(cause[1]) datagram delivered a body")
                try require(peer != me, "delivered a body from itself")
                try require(deliveredDatagrams.insert(cause).inserted, "one transport datagram delivered twice (replay)")
                try require(sealed[side]?[peer]?.contains(body) == true,
                            "delivered \(body.count) bytes from \(peer.short) that it never sealed for this link")
                try require(!(pinned && side == 1 && peer != LinkWorld.ids[0]), "a pinned link delivered from \(peer.short)")
                deliveredBodies[side, default: []].append((body, peer))
            case .established(let peer, _):
                try require(peer != me, "a session with itself")
                try require(!(pinned && side == 1 && peer != LinkWorld.ids[0]), "a pinned link made a session with \(peer.short)")
            case .drop:
                continue
            }
        }
    }

    mutating func record(_ item: InFlight) {
        history.append(item)
        if history.count > 64 { history.removeFirst() }
    }

    // MARK: - The adversary

    mutating func nextNonce() -> [UInt8] {
        nonceCounter += 1
        return [UInt8](repeating: 0xA5, count: 16) + (0..<8).map { UInt8(truncatingIfNeeded: nonceCounter >> UInt64(8 * $0)) }
    }

    mutating func inject(_ datagram: [UInt8], to side: Int, from address: Int) throws(Violation) {
        let item = InFlight(datagram: datagram, from: LinkWorld.addresses[address], to: side)
        record(item)
        try deliver(item)
    }

    mutating func adversaryEphemeral() -> EphemeralKey {
        adversaryEphemeralSeed &+= 1
        return LinkRandomness.ephemeral(adversaryEphemeralSeed)
    }

    /// S reads handshake responses it sees (it holds the network key) and keeps the sessions they complete.
    mutating func learnFromSeen(_ item: InFlight) {
        guard item.datagram.count >= 2, item.datagram[1] == Link.typeResponse else { return }
        let opened = item.datagram.withUnsafeBytes {
            SealedPacket.open($0, keyring: NetworkKeyring(primary: LinkWorld.key), type: Link.typeResponse, minimumBody: HandshakeResponse.size)
        }
        guard case .success(let body) = opened, let response = HandshakeResponse.decode(body),
              let ephemeral = adversaryPending.removeValue(forKey: response.receiverIndex),
              let victim = LinkWorld.ids.firstIndex(of: response.responder),
              let keys = ephemeral.sessionKeys(peerPublicKey: response.ephemeral, initiator: true) else { return }
        adversarySessions.append(AdversarySession(victim: victim, remoteIndex: response.senderIndex, send: keys.send))
    }

    /// The initiations a link has sent that S can read, newest first.
    func initiations(from side: Int) -> [HandshakeInitiation] {
        history.reversed().compactMap { item in
            guard item.from == LinkWorld.addresses[side], item.datagram.count >= 2, item.datagram[1] == Link.typeInitiation else { return nil }
            let opened = item.datagram.withUnsafeBytes {
                SealedPacket.open($0, keyring: NetworkKeyring(primary: LinkWorld.key), type: Link.typeInitiation, minimumBody: HandshakeInitiation.size)
            }
            guard case .success(let body) = opened else { return nil }
            return HandshakeInitiation.decode(body)
        }
    }

    /// S seals a body in one of its sessions and sends it to the victim.
    mutating func adversaryTransport(_ body: [UInt8], session choice: Int, from address: Int) throws(Violation) {
        guard !adversarySessions.isEmpty else { return }
        let index = choice % adversarySessions.count
        var session = adversarySessions[index]
        let header = TransportHeader.make(receiverIndex: session.remoteIndex, counter: session.counter)
        var datagram = header
        header.withUnsafeBytes { aad in
            body.withUnsafeBytes { plaintext in
                ChaCha20Poly1305.seal(plaintext: plaintext, additionalData: aad, counter: session.counter, key: session.send, appendingTo: &datagram)
            }
        }
        session.counter += 1
        adversarySessions[index] = session
        sealed[session.victim, default: [:]][LinkWorld.adversaryID, default: []].append(body)
        try inject(datagram, to: session.victim, from: address)
    }

    // MARK: - Healing

    /// With the adversary gone and a reliable network, each side sends a fresh body every second until both
    /// directions have delivered one.
    mutating func heal() throws(Violation) {
        try drain()
        let start = now
        var round = 0
        var reached = [false, false]
        while !(reached[0] && reached[1]) {
            try require(now - start <= LinkWorld.healLimit, "no delivery \(reached[1] ? "" : "A→R ")\(reached[0] ? "" : "R→A ")within \(LinkWorld.healLimit) of a reliable network")
            round += 1
            for side in 0..<2 where !reached[1 - side] {
                let probe = Array("heal \(side) \(round)".utf8)
                try send(probe, from: side, expected: LinkWorld.ids[1 - side])
                try drain()
                if deliveredBodies[1 - side]?.contains(where: { $0.body == probe && $0.from == LinkWorld.ids[side] }) == true {
                    reached[1 - side] = true
                }
            }
            try advance(.seconds(1))
            try drain()
        }
    }
}

/// Session indices and ephemeral keys that count up from a base, so one input always runs the same way.
final class LinkRandomness: Sendable {
    private let index: Atomic<UInt32>
    private let ephemeral: Atomic<UInt32>

    init(indexBase: UInt32, ephemeralBase: UInt32) {
        index = Atomic(indexBase)
        ephemeral = Atomic(ephemeralBase)
    }

    func nextIndex() -> UInt32 { index.wrappingAdd(1, ordering: .relaxed).newValue }

    func nextEphemeral() -> EphemeralKey {
        LinkRandomness.ephemeral(ephemeral.wrappingAdd(1, ordering: .relaxed).newValue)
    }

    /// A key pair derived from a number: distinct numbers give distinct keys.
    static func ephemeral(_ number: UInt32) -> EphemeralKey {
        let seed = [UInt8](repeating: 0x5A, count: 28) + (0..<4).map { UInt8(truncatingIfNeeded: number >> UInt32(24 - 8 * $0)) }
        guard let key = EphemeralKey(seed: seed) else { preconditionFailure("32-byte seed") }
        return key
    }

    var marks: (UInt32, UInt32) { (index.load(ordering: .relaxed), ephemeral.load(ordering: .relaxed)) }

    func rewind(index value: UInt32, ephemeral seed: UInt32) {
        index.store(value, ordering: .relaxed)
        ephemeral.store(seed, ordering: .relaxed)
    }
}
