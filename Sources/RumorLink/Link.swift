import RumorCrypto
import RumorWire

/// The link layer as a value: per-address sessions established by a one-round-trip handshake, transport
/// datagrams sealed under session keys with counter nonces and a replay window, rekeying with previous,
/// current and next sessions so no datagram is lost to a key change. No sockets and no clocks: calls take
/// `now` (monotonic) and `wallClock` (for handshake timestamps) and append effects.
///
/// Receive checks run cheapest first: length, version, type, then a table lookup (session index), the replay
/// window's test, and only then cryptography; the window moves only after authentication.
/// SeeAlso: WireGuard §5.4 (handshake), §5.4.6 (transport), RFC 6479 (anti-replay).
public struct Link: Sendable {
    public let me: NodeID
    public let settings: LinkSettings
    public private(set) var keyring: NetworkKeyring
    /// When set, only these identities may hold a session with this node (identity pinning).
    public var allowed: Set<NodeID>?
    public private(set) var counters = LinkCounters()

    let identity: IdentityKey
    var sessions: [UInt32: Session] = [:]
    var peers: [PeerAddress: PeerSlots] = [:]
    var pendingByIndex: [UInt32: PeerAddress] = [:]
    var lastInitiation: [NodeID: UInt64] = [:]
    var buckets: [PeerAddress: TokenBucket] = [:]
    /// Where transport datagrams are opened (see `receiveTransport`).
    var opened: [UInt8] = []
    var randomIndex: @Sendable () -> UInt32
    var makeEphemeral: @Sendable () -> EphemeralKey

    struct Session: Sendable {
        var localIndex: UInt32
        var remoteIndex: UInt32
        var peer: NodeID
        var address: PeerAddress
        var send: SecretBytes
        var receive: SecretBytes
        var sendCounter: UInt64 = 0
        var replay = ReplayWindow()
        var created: Instant
        var isInitiator: Bool
    }

    struct PeerSlots: Sendable {
        /// Sessions that send and receive at this address, oldest first: for each peer identity its newest
        /// (current) and the one before (previous, for datagrams still in flight under its keys). Another
        /// identity's sessions at the same address — a node restarted with a new identity, or a member spoofing
        /// the address — never displace them; at most `maxLivePerAddress` in all.
        var live: [UInt32] = []
        /// A responder's new sessions, each used to send once its initiator has shown it holds the keys: at most one
        /// per initiator identity, so a handshake from another identity claiming this address (a spoofed source)
        /// cannot discard the real peer's session before it is confirmed, and at most `maxUnconfirmedPerAddress`.
        var next: [UInt32] = []
        var pending: Pending?
        var queue: [[UInt8]] = []
    }

    struct Pending: Sendable {
        var ephemeral: EphemeralKey
        var initiation: HandshakeInitiation
        var expected: NodeID?
        var sentAt: Instant
        var attempts: Int
    }

    struct TokenBucket: Sendable {
        var tokens: Double
        var updated: Instant
    }

    public init(identity: IdentityKey, keyring: NetworkKeyring, settings: LinkSettings = LinkSettings(),
                randomIndex: @escaping @Sendable () -> UInt32 = { UInt32(truncatingIfNeeded: SecureRandom.uint64()) },
                makeEphemeral: @escaping @Sendable () -> EphemeralKey = { EphemeralKey.generate() }) throws {
        guard let me = NodeID(bytes: identity.publicKey) else { throw LinkError.badIdentity }
        self.me = me
        self.identity = identity
        self.keyring = keyring
        self.settings = settings
        self.randomIndex = randomIndex
        self.makeEphemeral = makeEphemeral
    }

    public enum LinkError: Error { case badIdentity }

    // MARK: - Keyring

    public mutating func replaceKeyring(_ keyring: NetworkKeyring) { self.keyring = keyring }

    /// Applies a change to the keyring; existing sessions are unaffected (they have their own keys), new
    /// handshakes use the new primary key, and handshakes under a removed key are refused from now on.
    public mutating func changeKeyring(_ change: (inout NetworkKeyring) -> Result<Void, NetworkKeyring.ChangeError>)
        -> Result<Void, NetworkKeyring.ChangeError> {
        change(&keyring)
    }

    // MARK: - Sending

    /// Sends one packet body to `address`: at once if a session is up, else after a handshake (the body waits).
    /// - Parameter expected: the identity expected at that address, when known; a different one is refused.
    public mutating func send(_ body: [UInt8], to address: PeerAddress, expected: NodeID? = nil, now: Instant, wallClock: UInt64,
                              effects: inout [LinkEffect]) {
        defer { nextWake = wakeTime() }
        if let index = currentSession(at: address, for: expected), var session = sessions[index], usable(session, now: now) {
            effects.append(.send(seal(body, with: &session), to: address))
            sessions[index] = session
            if needsRekey(session, now: now), peers[address]?.pending == nil {
                counters.rekeys += 1
                startHandshake(to: address, expected: session.peer, now: now, wallClock: wallClock, effects: &effects)
            }
            return
        }
        var slots = peers[address] ?? PeerSlots()
        slots.queue.append(body)
        if slots.queue.count > settings.maxQueuedPerAddress {
            slots.queue.removeFirst()
            counters.queueDropped += 1
        }
        peers[address] = slots
        if slots.pending == nil { startHandshake(to: address, expected: expected, now: now, wallClock: wallClock, effects: &effects) }
    }

    /// Seals `body` for `address` straight into `output` (a send slot of the shell) when a session with the
    /// `expected` peer is up and needs no rekey, and returns the datagram's length. Returns nil otherwise, or when
    /// `output` is too small: then `send` (which queues, handshakes and rekeys as needed) must take the body.
    public mutating func sealIfReady(_ body: UnsafeRawBufferPointer, to address: PeerAddress, expected: NodeID?, now: Instant,
                                     into output: UnsafeMutableRawBufferPointer) -> Int? {
        let total = TransportHeader.size + body.count + ChaCha20Poly1305.tagSize
        guard output.count >= total, let base = output.baseAddress, let index = currentSession(at: address, for: expected),
              let session = sessions[index], usable(session, now: now), !needsRekey(session, now: now) else { return nil }
        TransportHeader.write(receiverIndex: session.remoteIndex, counter: session.sendCounter, into: output)
        ChaCha20Poly1305.seal(plaintext: body, additionalData: UnsafeRawBufferPointer(rebasing: output[0..<TransportHeader.size]),
                              counter: session.sendCounter, key: session.send, into: base.advanced(by: TransportHeader.size))
        // Out of the table and back (a modify through the optional subscript allocates for a value this large).
        if var changed = sessions.removeValue(forKey: index) {
            changed.sendCounter += 1
            sessions[index] = changed
        }
        return total
    }

    /// The newest live session at `address` with the `expected` peer (with anyone when nil).
    func currentSession(at address: PeerAddress, for expected: NodeID?) -> UInt32? {
        guard let live = peers[address]?.live else { return nil }
        for index in live.reversed() where expected == nil || sessions[index]?.peer == expected { return index }
        return nil
    }

    /// Makes `index` its peer's current session at its address; that peer's older session becomes its previous,
    /// and anything older of the same peer is retired.
    mutating func promote(_ index: UInt32) {
        guard let session = sessions[index] else { return }
        var slots = peers[session.address] ?? PeerSlots()
        slots.live.removeAll { $0 == index }
        slots.live.append(index)
        let samePeer = slots.live.filter { sessions[$0]?.peer == session.peer }
        for old in samePeer.dropLast(2) { retire(old) }
        slots.live.removeAll { sessions[$0] == nil }
        while slots.live.count > LinkSettings.maxLivePerAddress { retire(slots.live.removeFirst()) }
        peers[session.address] = slots
    }

    func usable(_ session: Session, now: Instant) -> Bool {
        now - session.created < settings.rejectAfterTime && session.sendCounter < settings.rejectAfterMessages
    }

    func needsRekey(_ session: Session, now: Instant) -> Bool {
        now - session.created >= settings.rekeyAfterTime || session.sendCounter >= settings.rekeyAfterMessages
    }

    func seal(_ body: [UInt8], with session: inout Session) -> [UInt8] {
        body.withUnsafeBytes { seal($0, with: &session) }
    }

    /// One allocation, the datagram: header written in place, then the body sealed right behind it.
    func seal(_ body: UnsafeRawBufferPointer, with session: inout Session) -> [UInt8] {
        let total = TransportHeader.size + body.count + ChaCha20Poly1305.tagSize
        let counter = session.sendCounter
        let datagram = [UInt8](unsafeUninitializedCapacity: total) { out, count in
            let raw = UnsafeMutableRawBufferPointer(out)
            guard let base = raw.baseAddress else { return }
            TransportHeader.write(receiverIndex: session.remoteIndex, counter: counter, into: raw)
            ChaCha20Poly1305.seal(plaintext: body, additionalData: UnsafeRawBufferPointer(rebasing: raw[0..<TransportHeader.size]),
                                  counter: counter, key: session.send, into: base.advanced(by: TransportHeader.size))
            count = total
        }
        session.sendCounter += 1
        return datagram
    }

    mutating func startHandshake(to address: PeerAddress, expected: NodeID?, now: Instant, wallClock: UInt64, effects: inout [LinkEffect]) {
        guard pendingByIndex.count < settings.maxPendingHandshakes else {
            counters.handshakesAbandoned += 1
            peers[address]?.queue.removeAll()
            return
        }
        let ephemeral = makeEphemeral()
        let index = freshIndex()
        let initiation = HandshakeInitiation.make(identity: identity, initiator: me, ephemeral: ephemeral, senderIndex: index,
                                                  timestamp: wallClock, responder: expected ?? Link.anyone)
        if let old = peers[address]?.pending { pendingByIndex[old.initiation.senderIndex] = nil }
        peers[address, default: PeerSlots()].pending = Pending(ephemeral: ephemeral, initiation: initiation, expected: expected,
                                                                sentAt: now, attempts: 1)
        pendingByIndex[index] = address
        counters.handshakesInitiated += 1
        effects.append(.send(SealedPacket.seal(body: initiation.encode(), key: keyring.primary, type: Link.typeInitiation), to: address))
    }

    static let anyone = NodeID(words: 0, 0, 0, 0)
    public static let typeInitiation: UInt8 = 2
    public static let typeResponse: UInt8 = 3

    mutating func freshIndex() -> UInt32 {
        for _ in 0..<64 {
            let index = randomIndex()
            if index != 0, sessions[index] == nil, pendingByIndex[index] == nil { return index }
        }
        // 2^32 indices and at most a few thousand in use: 64 misses in a row do not happen; stay correct anyway.
        var index: UInt32 = 1
        while sessions[index] != nil || pendingByIndex[index] != nil { index &+= 1 }
        return index
    }

    // MARK: - Receiving

    /// Handles one datagram from `address`.
    public mutating func receive(_ datagram: [UInt8], from address: PeerAddress, now: Instant, wallClock: UInt64,
                                 effects: inout [LinkEffect]) {
        defer { nextWake = wakeTime() }
        datagram.withUnsafeBytes { receive($0, from: address, now: now, wallClock: wallClock, effects: &effects) }
    }

    /// Handles one datagram from `address`, read where it lies (the shell's receive buffer): no copy.
    public mutating func receive(_ datagram: UnsafeRawBufferPointer, from address: PeerAddress, now: Instant, wallClock: UInt64,
                                 effects: inout [LinkEffect]) {
        defer { nextWake = wakeTime() }
        guard datagram.count >= 2 else { return effects.append(.drop(.short)) }
        guard datagram.count <= PacketBody.maxDatagramSize else { return effects.append(.drop(.oversize)) }
        guard datagram[0] == SealedPacket.version else { return effects.append(.drop(.badVersion)) }
        switch datagram[1] {
        case TransportHeader.type: receiveTransport(datagram, from: address, now: now, effects: &effects)
        case Link.typeInitiation: receiveInitiation(datagram, from: address, now: now, wallClock: wallClock, effects: &effects)
        case Link.typeResponse: receiveResponse(datagram, from: address, now: now, wallClock: wallClock, effects: &effects)
        default: effects.append(.drop(.badType))
        }
    }

    mutating func receiveTransport(_ datagram: UnsafeRawBufferPointer, from address: PeerAddress, now: Instant, effects: inout [LinkEffect]) {
        guard datagram.count >= TransportHeader.size + ChaCha20Poly1305.tagSize else { return effects.append(.drop(.short)) }
        guard let (index, counter) = TransportHeader.read(datagram) else { return effects.append(.drop(.badType)) }
        // Checked and opened on a copy, then changed out of the table: a copy alive while the table's value changes
        // would make the change copy the replay window's ring (512 bytes) for every datagram.
        let checked: (body: [UInt8], peer: NodeID, address: PeerAddress)
        do {
            guard let session = sessions[index] else { return effects.append(.drop(.unknownSession)) }
            guard now - session.created < settings.rejectAfterTime else { return effects.append(.drop(.expiredSession)) }
            guard session.replay.wouldAccept(counter) else { return effects.append(.drop(.replay)) }
            // Opened into storage kept between datagrams: the body handed on shares it, and once the shell lets that
            // go (before the next datagram, normally) the next one is opened there again without allocating.
            guard ChaCha20Poly1305.open(ciphertext: UnsafeRawBufferPointer(rebasing: datagram[TransportHeader.size...]),
                                        additionalData: UnsafeRawBufferPointer(rebasing: datagram[0..<TransportHeader.size]),
                                        counter: counter, key: session.receive, into: &opened) else {
                return effects.append(.drop(.authFailed))
            }
            checked = (opened, session.peer, session.address)
        }
        // Only now, authenticated, may the datagram move the window.
        if var session = sessions.removeValue(forKey: index) {
            _ = session.replay.accept(counter)
            sessions[index] = session
        }
        if peers[checked.address]?.next.contains(index) == true { confirm(index, now: now, effects: &effects) }
        if !checked.body.isEmpty { effects.append(.deliver(checked.body, from: checked.peer, address: address)) }
    }

    /// The initiator used the responder's new session: it holds the keys, so the responder sends with it now.
    mutating func confirm(_ index: UInt32, now: Instant, effects: inout [LinkEffect]) {
        guard let session = sessions[index], peers[session.address] != nil else { return }
        peers[session.address]?.next.removeAll { $0 == index }
        promote(index)
        flushQueue(into: index, now: now, effects: &effects)
    }

    mutating func receiveInitiation(_ datagram: UnsafeRawBufferPointer, from address: PeerAddress, now: Instant, wallClock: UInt64,
                                    effects: inout [LinkEffect]) {
        let opened = SealedPacket.open(datagram, keyring: keyring, type: Link.typeInitiation, minimumBody: HandshakeInitiation.size)
        guard case .success(let plaintext) = opened else {
            if case .failure(let reason) = opened { effects.append(.drop(reason)) }
            return
        }
        // Only a datagram sealed under one of our network keys spends its sender's handshake budget, so junk
        // with a forged source cannot use up someone else's; the costly signature check comes after.
        guard admitHandshake(from: address, now: now) else { return effects.append(.drop(.rateLimited)) }
        guard let initiation = HandshakeInitiation.decode(plaintext) else { return effects.append(.drop(.malformed)) }
        guard initiation.initiator != me else { return effects.append(.drop(.fromSelf)) }
        guard initiation.responder == me || initiation.responder == Link.anyone else { return effects.append(.drop(.misdirected)) }
        guard initiation.isSignatureValid else { return effects.append(.drop(.badSignature)) }
        guard allowed?.contains(initiation.initiator) ?? true else { return effects.append(.drop(.notAllowed)) }
        guard initiation.timestamp > lastInitiation[initiation.initiator] ?? 0 else { return effects.append(.drop(.staleHandshake)) }
        guard sessions.count < settings.maxSessions else { return effects.append(.drop(.tooManySessions)) }
        let ephemeral = makeEphemeral()
        guard let keys = ephemeral.sessionKeys(peerPublicKey: initiation.ephemeral, initiator: false) else {
            return effects.append(.drop(.badSignature))
        }
        if lastInitiation.count > settings.maxSessions * 2 { lastInitiation.removeAll(keepingCapacity: true) }
        lastInitiation[initiation.initiator] = initiation.timestamp
        let index = freshIndex()
        sessions[index] = Session(localIndex: index, remoteIndex: initiation.senderIndex, peer: initiation.initiator, address: address,
                                  send: keys.send, receive: keys.receive, created: now, isInitiator: false)
        var slots = peers[address] ?? PeerSlots()
        for older in slots.next where sessions[older]?.peer == initiation.initiator { retire(older) }
        slots.next.removeAll { sessions[$0] == nil }
        slots.next.append(index)
        if slots.next.count > LinkSettings.maxUnconfirmedPerAddress { retire(slots.next.removeFirst()) }
        peers[address] = slots
        counters.handshakesAnswered += 1
        let response = HandshakeResponse.make(identity: identity, responder: me, ephemeral: ephemeral, senderIndex: index,
                                              answering: initiation)
        // Answer under the key the initiator used, which it surely holds (during a rotation it may not hold our
        // primary yet). The response (136 bytes + seal) is smaller than the initiation: no amplification.
        let keyID = UInt32(datagram[2]) << 24 | UInt32(datagram[3]) << 16 | UInt32(datagram[4]) << 8 | UInt32(datagram[5])
        let key = keyring.key(id: keyID) ?? keyring.primary
        effects.append(.send(SealedPacket.seal(body: response.encode(), key: key, type: Link.typeResponse), to: address))
        effects.append(.established(peer: initiation.initiator, address: address))
    }

    mutating func receiveResponse(_ datagram: UnsafeRawBufferPointer, from address: PeerAddress, now: Instant, wallClock: UInt64,
                                  effects: inout [LinkEffect]) {
        let opened = SealedPacket.open(datagram, keyring: keyring, type: Link.typeResponse, minimumBody: HandshakeResponse.size)
        guard case .success(let plaintext) = opened else {
            if case .failure(let reason) = opened { effects.append(.drop(reason)) }
            return
        }
        guard let response = HandshakeResponse.decode(plaintext) else { return effects.append(.drop(.malformed)) }
        guard let target = pendingByIndex[response.receiverIndex], let pending = peers[target]?.pending,
              pending.initiation.senderIndex == response.receiverIndex else { return effects.append(.drop(.unknownSession)) }
        guard pending.expected == nil || pending.expected == response.responder, response.responder != me else {
            return effects.append(.drop(.misdirected))
        }
        guard response.isSignatureValid(answering: pending.initiation) else { return effects.append(.drop(.badSignature)) }
        guard allowed?.contains(response.responder) ?? true else { return effects.append(.drop(.notAllowed)) }
        guard let keys = pending.ephemeral.sessionKeys(peerPublicKey: response.ephemeral, initiator: true) else {
            return effects.append(.drop(.badSignature))
        }
        pendingByIndex[response.receiverIndex] = nil
        let index = response.receiverIndex
        sessions[index] = Session(localIndex: index, remoteIndex: response.senderIndex, peer: response.responder, address: target,
                                  send: keys.send, receive: keys.receive, created: now, isInitiator: true)
        peers[target, default: PeerSlots()].pending = nil
        promote(index)
        let slots = peers[target] ?? PeerSlots()
        counters.handshakesCompleted += 1
        effects.append(.established(peer: response.responder, address: target))
        // The first datagram under the new keys confirms them to the responder; send a keepalive if nothing waits.
        if slots.queue.isEmpty, var session = sessions[index] {
            effects.append(.send(seal([], with: &session), to: target))
            sessions[index] = session
        }
        flushQueue(into: index, now: now, effects: &effects)
    }

    /// Sends the bodies queued for the session's address under it — only if it is with the peer they wait for
    /// (the pending handshake's expected identity): bodies meant for one identity never go out under another's
    /// keys because that other confirmed a session at the same address.
    mutating func flushQueue(into index: UInt32, now: Instant, effects: inout [LinkEffect]) {
        guard var session = sessions[index], var slots = peers[session.address], !slots.queue.isEmpty else { return }
        if let expected = slots.pending?.expected, expected != session.peer { return }
        let address = session.address
        for body in slots.queue { effects.append(.send(seal(body, with: &session), to: address)) }
        slots.queue.removeAll()
        sessions[index] = session
        peers[address] = slots
    }

    mutating func retire(_ index: UInt32?) {
        guard let index else { return }
        // Dropping the session drops the last reference to its keys, which SecretBytes wipes.
        sessions[index] = nil
    }

    /// Per source address (a flood from one address cannot crowd out the others), and in all (a flood from
    /// many spoofed addresses cannot take all the CPU).
    mutating func admitHandshake(from address: PeerAddress, now: Instant) -> Bool {
        func refill(_ bucket: inout TokenBucket, rate: Double, burst: Double) {
            bucket.tokens = min(burst, bucket.tokens + (now - bucket.updated).seconds * rate)
            bucket.updated = now
        }
        var bucket = buckets[address] ?? TokenBucket(tokens: settings.handshakeBurst, updated: now)
        refill(&bucket, rate: settings.handshakesPerSecond, burst: settings.handshakeBurst)
        refill(&globalBucket, rate: settings.handshakesPerSecondTotal, burst: settings.handshakesPerSecondTotal)
        let admitted = bucket.tokens >= 1 && globalBucket.tokens >= 1
        if admitted {
            bucket.tokens -= 1
            globalBucket.tokens -= 1
        }
        if buckets.count > 4096 { buckets.removeAll(keepingCapacity: true) }
        buckets[address] = bucket
        return admitted
    }

    /// Starts full, like every per-address bucket.
    lazy var globalBucket = TokenBucket(tokens: settings.handshakesPerSecondTotal, updated: .zero)

    // MARK: - Timers

    /// When `tick` must next be called: the earliest retry of an unanswered handshake. Stored, and worked out
    /// again at the end of every public mutating call, because the shell asks on every turn of its loop and a
    /// computed property of a struct held by a class is read through a copy of the whole `Link`.
    public private(set) var nextWake: Instant = .distantFuture

    /// What `nextWake` is after a change.
    func wakeTime() -> Instant {
        guard !pendingByIndex.isEmpty else { return .distantFuture }
        var wake = Instant.distantFuture
        for address in pendingByIndex.values {
            if let pending = peers[address]?.pending { wake = min(wake, pending.sentAt + settings.handshakeRetry) }
        }
        return wake
    }

    /// Retries unanswered handshakes, and forgets sessions past `rejectAfterTime`.
    public mutating func tick(now: Instant, wallClock: UInt64, effects: inout [LinkEffect]) {
        defer { nextWake = wakeTime() }
        for (index, address) in pendingByIndex.sorted(by: { $0.key < $1.key }) {
            guard let pending = peers[address]?.pending, now - pending.sentAt >= settings.handshakeRetry else { continue }
            pendingByIndex[index] = nil
            if pending.attempts >= settings.maxHandshakeAttempts {
                peers[address]?.pending = nil
                counters.queueDropped += peers[address]?.queue.count ?? 0
                peers[address]?.queue.removeAll()
                counters.handshakesAbandoned += 1
                continue
            }
            let attempts = pending.attempts
            startHandshake(to: address, expected: pending.expected, now: now, wallClock: max(wallClock, pending.initiation.timestamp + 1),
                           effects: &effects)
            peers[address]?.pending?.attempts = attempts + 1
        }
        expireSessions(now: now)
    }

    var nextExpiryCheck = Instant.zero

    mutating func expireSessions(now: Instant) {
        guard now >= nextExpiryCheck else { return }
        nextExpiryCheck = now + .seconds(1)
        for (index, session) in sessions where now - session.created >= settings.rejectAfterTime {
            sessions[index] = nil
            counters.sessionsExpired += 1
            if var slots = peers[session.address] {
                slots.live.removeAll { $0 == index }
                slots.next.removeAll { $0 == index }
                peers[session.address] = slots.live.isEmpty && slots.next.isEmpty
                    && slots.pending == nil && slots.queue.isEmpty ? nil : slots
            }
        }
    }

    /// Sessions currently held (for `rumor status`).
    public var sessionCount: Int { sessions.count }
}

/// What the link layer asks its shell to do.
public enum LinkEffect: Sendable, Equatable {
    case send([UInt8], to: PeerAddress)
    /// An authenticated packet body from `from` (a session-verified identity).
    case deliver([UInt8], from: NodeID, address: PeerAddress)
    case drop(DropReason)
    case established(peer: NodeID, address: PeerAddress)
}
