#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import CRumorSys
import Dispatch
import Logging
import RumorCrypto
import RumorLink
import RumorMembership
import RumorMessaging
import RumorWire
import Synchronization

/// The node's shell: one thread that owns the UDP socket, the clock, the timers and the two protocol cores.
///
///     poll(socket, wake fd, next deadline)
///       → receive a batch: open (authenticate) → decode → Membership / DirectMessaging → effects
///       → run queued commands (from the API and the control server)
///       → tick the cores whose deadline passed
///       → perform effects: seal and sendto, emit events, complete sends
///
/// Everything below `// Loop-confined` is touched only by the loop thread; other threads talk to it through
/// `enqueue`, which appends to a mutex-guarded queue and signals an eventfd.
final class NodeLoop: @unchecked Sendable {
    typealias Command = @Sendable (NodeLoop) -> Void

    let identity: IdentityKey
    let me: NodeID
    let name: String
    let socket: UDPSocket
    let hub: EventHub
    let logger: Logger
    let files: NodeFiles
    let startedAt: Int64
    private let wakeDescriptor: Int32
    private let queue = Locked<(commands: [Command], cancels: [@Sendable () -> Void], stopped: Bool)>(([], [], false))
    private let finished = Locked<(stopped: Bool, next: UInt64, callbacks: [UInt64: @Sendable () -> Void])>((false, 0, [:]))
    /// Fire-and-forget datagrams handed over by other threads: no closure, no completion hop and no wake-up per
    /// datagram. The loop takes them all in one swap per turn (`sendPostedDatagrams`).
    private let posted = Locked(PostedDatagrams())
    /// Signalled once for each caller that waited for room in `posted`.
    private let postedRoom = DispatchSemaphore(value: 0)
    /// Names of the active members other than this node, readable from any thread: how a datagram's peer name is
    /// resolved on the caller's thread. Kept by the loop as members change.
    private let directory = Locked<[String: NodeID]>([:])

    /// The loop thread's kernel thread id (0 until it runs): a datagram posted from the loop itself (an event
    /// handler) must never wait for the loop.
    private let loopThread = Atomic<Int32>(0)

    struct PostedDatagrams {
        var items: [(peer: NodeID, payload: [UInt8])] = []
        var waiting = 0
        var stopped = false
        /// At most this many wait for the loop; a caller posting more waits for room, as a blocking `sendto` does.
        static let limit = 4096
    }

    // Loop-confined.
    var membership: Membership
    var messaging: DirectMessaging
    var broadcasts: Broadcasts
    var undecodableEnvelopes = 0
    var link: Link
    private var linkEffects: [LinkEffect] = []
    private var linkSpare: [LinkEffect] = []
    /// Frames grouped per peer in `performMessaging`, kept between calls.
    private var packing = PacketPacking()
    /// Where received packet bodies are decoded (`handleBody`).
    private var decodedFrames: [Frame] = []
    /// Every packet body this node sends is written here first (`send(_:to:expected:)`).
    private var bodyWriter = ByteWriter(capacity: PacketBody.maxDatagramSize)
    private var membershipSpare: [MembershipEffect] = []
    private var messagingSpare: [MessagingEffect] = []
    private var broadcastSpare: [BroadcastEffect] = []
    var traffic = TrafficCounters()
    var conflicts: [String] = []
    private var membershipEffects: [MembershipEffect] = []
    private var messagingEffects: [MessagingEffect] = []
    private var broadcastEffects: [BroadcastEffect] = []
    private var sendHandlers: [UInt64: (token: UInt64, peer: NodeID, name: String, bytes: Int, started: Int64,
                                        completion: @Sendable (Result<SendReceipt, RumorError>) -> Void)] = [:]
    /// Pings under way, by sequence number; `started` is the monotonic clock when the ping went to be sealed and sent.
    private var pingHandlers: [UInt32: (name: String, started: Int64, completion: @Sendable (Result<Duration, RumorError>) -> Void)] = [:]
    private var aliveWaiters: [(count: Int, deadline: Instant, completion: @Sendable (Result<Int, RumorError>) -> Void)] = []
    private var nextToken: UInt64 = 0
    private var lastSource: [NodeID: PeerAddress] = [:]
    private var stopAt: Instant?
    private var snapshotDirty = false
    private var nextSnapshotAt = Instant.zero
    /// recvmmsg slots: one larger than the largest valid datagram, so a longer one shows up as oversize.
    private let inbound = DatagramBatch(slotSize: 2048)
    /// Datagrams sealed during one turn of the loop, sent together (sendmmsg) before it waits again.
    private let outbound = DatagramBatch(slotSize: PacketBody.maxDatagramSize)
    private var nextLinkHousekeeping = Instant.zero
    private var keyOperations: [UInt64: KeyOperation] = [:]
    /// The other half of `posted.items`, swapped in and out so both keep their capacity.
    private var postedSpare: [(peer: NodeID, payload: [UInt8])] = []
    /// Signatures already checked, by member: a claim relayed again needs no second Ed25519 verification.
    private var verifiedClaims: [NodeID: (incarnation: UInt64, signature: [UInt8])] = [:]
    /// This node's own claims, signed once per content.
    private var ownSignatures: [[UInt8]: [UInt8]] = [:]

    /// A `rumor keys` request under way: the members asked, and what each answered.
    struct KeyOperation {
        var asked: [NodeID: String]
        var results: [NodeID: KeyResult]
        var deadline: Instant
        var completion: @Sendable (KeyReport) -> Void
    }

    /// Wall-clock nanoseconds: handshake timestamps must grow across restarts, which a monotonic clock does not.
    private var wallClock: UInt64 { UInt64(max(0, wallClockNanoseconds())) }

    init(identity: IdentityKey, name: String, socket: UDPSocket, advertise: PeerAddress, keyring: NetworkKeyring,
         linkSettings: LinkSettings, allowed: Set<NodeID>?,
         tags: Tags, incarnation: UInt64, membershipSettings: MembershipSettings, messagingSettings: MessagingSettings,
         broadcastSettings: BroadcastSettings,
         files: NodeFiles, inboxCapacity: Int, logger: Logger) throws {
        guard let me = NodeID(bytes: identity.publicKey) else { throw RumorError.io("identity key has no valid public key") }
        let wake = rumor_eventfd()
        guard wake >= 0 else { throw RumorError.io("eventfd: \(String(cString: strerror(errno)))") }
        self.identity = identity
        self.me = me
        self.name = name
        self.socket = socket
        var link = try Link(identity: identity, keyring: keyring, settings: linkSettings)
        link.allowed = allowed
        self.link = link
        self.hub = EventHub(inboxCapacity: inboxCapacity, inboxByteCapacity: 16 << 20)
        self.logger = logger
        self.files = files
        self.wakeDescriptor = wake
        let now = Instant(nanoseconds: monotonicNow())
        startedAt = now.nanoseconds
        let claim = AliveClaim(id: me, incarnation: incarnation, name: name, address: advertise, tags: tags)
        membership = Membership(me: claim, settings: membershipSettings, seed: SecureRandom.uint64(), now: now)
        messaging = DirectMessaging(me: me, epoch: UInt64(max(0, wallClockNanoseconds())), settings: messagingSettings)
        broadcasts = Broadcasts(me: me, firstSequence: UInt64(max(0, wallClockNanoseconds() / 1000)), seed: SecureRandom.uint64(),
                                settings: broadcastSettings, now: now)
    }

    deinit { close(wakeDescriptor) }

    // MARK: - Cross-thread

    /// Runs `command` on the loop thread; if the loop has stopped, runs `ifStopped` instead (on the caller).
    func enqueue(_ command: @escaping Command, ifStopped: @escaping @Sendable () -> Void) {
        // Only the first command of a batch wakes the loop: it drains the whole queue each time it wakes, so a
        // signal per command would cost a system call each for nothing.
        let outcome = queue.withLock { state -> (accepted: Bool, wake: Bool) in
            guard !state.stopped else { return (false, false) }
            let wasEmpty = state.commands.isEmpty
            state.commands.append(command)
            state.cancels.append(ifStopped)
            return (true, wasEmpty)
        }
        if !outcome.accepted { ifStopped() } else if outcome.wake { _ = rumor_eventfd_signal(wakeDescriptor) }
    }

    /// Calls `body` once the loop has stopped (at once if it already has). Returns a token for
    /// `cancelWhenStopped`, or nil when `body` already ran.
    @discardableResult
    func whenStopped(_ body: @escaping @Sendable () -> Void) -> UInt64? {
        let token = finished.withLock { state -> UInt64? in
            if state.stopped { return nil }
            state.next += 1
            state.callbacks[state.next] = body
            return state.next
        }
        if token == nil { body() }
        return token
    }

    /// Withdraws a `whenStopped` callback (its owner is gone and must not be called any more).
    func cancelWhenStopped(_ token: UInt64?) {
        guard let token else { return }
        _ = finished.withLock { $0.callbacks.removeValue(forKey: token) }
    }

    var isStopped: Bool { finished.withLock { $0.stopped } }

    /// Starts the loop thread and joins through `seeds` (the --join addresses, or the peers remembered from the
    /// last run: those are only addresses to try, never claims about anyone's state).
    func start(seeds: [PeerAddress]) throws {
        try spawnThread { [self] in
            loopThread.store(rumor_thread_id(), ordering: .relaxed)
            let now = Instant(nanoseconds: monotonicNow())
            if !seeds.isEmpty {
                membership.join(seeds: seeds, now: now, effects: &membershipEffects)
                // Joining a mesh (or rejoining it after a restart): broadcasts it had before are not delivered here.
                broadcasts.join()
            }
            performEffects()
            run()
        }
    }

    // MARK: - The loop

    private func run() {
        var fds = [pollfd(fd: socket.descriptor, events: Int16(POLLIN), revents: 0),
                   pollfd(fd: wakeDescriptor, events: Int16(POLLIN), revents: 0)]
        while true {
            flushOutbound()
            let now = Instant(nanoseconds: monotonicNow())
            if let stopAt, now >= stopAt { break }
            var wake = min(membership.nextWake, messaging.nextWake, broadcasts.nextWake, link.nextWake, nextLinkHousekeeping)
            if let stopAt { wake = min(wake, stopAt) }
            if let first = aliveWaiters.map(\.deadline).min() { wake = min(wake, first) }
            if let first = keyOperations.values.map(\.deadline).min() { wake = min(wake, first) }
            if snapshotDirty { wake = min(wake, nextSnapshotAt) }
            let timeout = wake <= now ? 0 : Int32(clamping: (wake.nanoseconds - now.nanoseconds + 999_999) / 1_000_000)
            fds[0].revents = 0
            fds[1].revents = 0
            let ready = poll(&fds, 2, timeout)
            if ready < 0 && errno != EINTR {
                logger.error("poll failed: \(String(cString: strerror(errno)))")
                break
            }
            if fds[1].revents != 0 {
                _ = rumor_eventfd_drain(wakeDescriptor)
                runCommands()
                sendPostedDatagrams()
            }
            if fds[0].revents != 0 { receiveBatch() }
            let after = Instant(nanoseconds: monotonicNow())
            if after >= link.nextWake || after >= nextLinkHousekeeping {
                link.tick(now: after, wallClock: wallClock, effects: &linkEffects)
                nextLinkHousekeeping = after + .seconds(1)
                performLink(now: after)
            }
            if after >= membership.nextWake {
                membership.tick(now: after, effects: &membershipEffects)
                completePings()
            }
            if after >= messaging.nextWake { messaging.tick(now: after, effects: &messagingEffects) }
            if after >= broadcasts.nextWake { broadcasts.tick(members: aliveOthers, now: after, effects: &broadcastEffects) }
            expireWaiters(now: after)
            expireKeyOperations(now: after)
            performEffects()
            if snapshotDirty, after >= nextSnapshotAt { saveSnapshot(now: after) }
        }
        shutdown()
    }

    // MARK: - Fire-and-forget datagrams from other threads

    /// The id of the active member (not this node) named exactly `name`, from any thread.
    func lookUp(_ name: String) -> NodeID? { directory.withLock { $0[name] } }

    enum PostOutcome { case queued, full, stopped }

    /// Hands a fire-and-forget datagram to the loop, from any thread. Waits while `PostedDatagrams.limit` wait
    /// already, except on the loop's own thread (an event handler), where it answers `full` instead.
    func post(_ payload: [UInt8], to peer: NodeID) -> PostOutcome {
        let onLoop = loopThread.load(ordering: .relaxed) == rumor_thread_id()
        // Each pass either queues the datagram, returns, or waits for the loop to take the queue; the loop signals
        // every waiter each time it does, and when it stops.
        while true {
            let outcome = posted.withLock { state -> (outcome: PostOutcome, wake: Bool) in
                if state.stopped { return (.stopped, false) }
                guard state.items.count < PostedDatagrams.limit else {
                    if !onLoop { state.waiting += 1 }
                    return (.full, false)
                }
                state.items.append((peer, payload))
                return (.queued, state.items.count == 1)
            }
            switch outcome.outcome {
            case .stopped: return .stopped
            case .full where onLoop: return .full
            case .full: postedRoom.wait()
            case .queued:
                // Only the first datagram of a batch wakes the loop: it takes them all when it wakes.
                if outcome.wake { _ = rumor_eventfd_signal(wakeDescriptor) }
                return .queued
            }
        }
    }

    /// Seals and queues for sending every datagram other threads posted since the last turn.
    private func sendPostedDatagrams() {
        let waiting = posted.withLock { state -> Int in
            swap(&state.items, &postedSpare)
            defer { state.waiting = 0 }
            return state.waiting
        }
        for _ in 0..<waiting { postedRoom.signal() }
        guard !postedSpare.isEmpty else { return }
        for item in postedSpare { send([.datagram(item.payload[...])], toPeer: item.peer) }
        postedSpare.removeAll(keepingCapacity: true)
    }

    /// Keeps `directory` true to the member that just changed: names of active members other than this one.
    private func updateDirectory(_ member: Member) {
        guard member.id != me else { return }
        directory.withLock { names in
            if member.state.isActive {
                names[member.name] = member.id
            } else if names[member.name] == member.id {
                // Another active member may hold the name too (a conflict being resolved): it takes over.
                names[member.name] = membership.members.values.first { $0.name == member.name && $0.state.isActive && $0.id != me }?.id
            }
        }
    }

    private func runCommands() {
        let commands = queue.withLock { state -> [Command] in
            defer { state.commands.removeAll(); state.cancels.removeAll() }
            return state.commands
        }
        for command in commands { command(self) }
    }

    private func shutdown() {
        saveSnapshot(now: Instant(nanoseconds: monotonicNow()))
        flushOutbound()
        socket.close()
        let cancels = queue.withLock { state -> [@Sendable () -> Void] in
            state.stopped = true
            defer { state.commands.removeAll(); state.cancels.removeAll() }
            return state.cancels
        }
        for cancel in cancels { cancel() }
        let waiting = posted.withLock { state -> Int in
            state.stopped = true
            traffic.sendFailures += state.items.count
            state.items.removeAll()
            defer { state.waiting = 0 }
            return state.waiting
        }
        for _ in 0..<waiting { postedRoom.signal() }
        for (_, handler) in sendHandlers { handler.completion(.failure(.stopped)) }
        sendHandlers.removeAll()
        for (_, handler) in pingHandlers { handler.completion(.failure(.stopped)) }
        pingHandlers.removeAll()
        for waiter in aliveWaiters { waiter.completion(.failure(.stopped)) }
        aliveWaiters.removeAll()
        let callbacks = finished.withLock { state -> [@Sendable () -> Void] in
            state.stopped = true
            defer { state.callbacks.removeAll() }
            return state.callbacks.sorted { $0.key < $1.key }.map(\.value)
        }
        for callback in callbacks { callback() }
    }

    /// Receives until the socket is empty or 256 datagrams are done (4 recvmmsg of 64), then lets timers and
    /// commands run. A short batch means the socket is empty: no further call to find that out.
    private func receiveBatch() {
        let now = Instant(nanoseconds: monotonicNow())
        for _ in 0..<4 {
            let received = inbound.receive(on: socket.descriptor)
            // -1: an earlier send's ICMP error (ECONNREFUSED) reported on this receive; not fatal for UDP.
            if received < 0 { continue }
            for index in 0..<received {
                guard let source = inbound.source(index) else { continue }
                let datagram = inbound.bytes(index)
                traffic.datagramsIn += 1
                traffic.bytesIn += datagram.count
                link.receive(datagram, from: source, now: now, wallClock: wallClock, effects: &linkEffects)
                performLink(now: now)
            }
            if received < DatagramBatch.capacity { return }
        }
    }

    /// Carries out what the link layer asked: datagrams to send, authenticated bodies to hand on, drops to count.
    private func performLink(now: Instant) {
        guard !linkEffects.isEmpty else { return }
        var effects = Self.take(&linkEffects, reusing: &linkSpare)
        defer { Self.recycle(&effects, into: &linkSpare) }
        for effect in effects {
            switch effect {
            case .send(let datagram, let address): transmit(datagram, to: address)
            case .drop(let reason): drop(reason)
            case .established(let peer, let address): logger.debug("session with \(peer.short) at \(address)")
            case .deliver(let body, let peer, let address): handleBody(body, from: peer, address: address, now: now)
            }
        }
    }

    private func handleBody(_ bytes: [UInt8], from peer: NodeID, address source: PeerAddress, now: Instant) {
        // Frames go into an array kept between packets; a nested call (none is expected) would make its own. The
        // packet is gone by the end of the switch, so the array is unshared again when it is put back.
        var frames: [Frame] = []
        swap(&frames, &decodedFrames)
        switch PacketBody.decode(bytes[...], reusing: &frames) {
        case .failure: drop(.malformed)
        case .success(let packet): handle(packet, from: peer, address: source, now: now)
        }
        frames.removeAll(keepingCapacity: true)
        swap(&frames, &decodedFrames)
    }

    private func handle(_ packet: PacketBody, from peer: NodeID, address source: PeerAddress, now: Instant) {
        // The session proved who sent this: a packet claiming another sender is a forgery.
        guard packet.sender == peer else {
            drop(.identityMismatch)
            return
        }
        guard packet.sender != me else {
            drop(.fromSelf)
            return
        }
        if lastSource.count > 8192 { lastSource.removeAll(keepingCapacity: true) }
        lastSource[packet.sender] = source
        membership.receive(verifiedClaims(in: packet), from: source, now: now, effects: &membershipEffects)
        completePings()
        for frame in packet.frames {
            switch frame {
            case .message(let fragment): messaging.receive(fragment, from: packet.sender, now: now, effects: &messagingEffects)
            case .messageAck(let ack): messaging.receive(ack, from: packet.sender, now: now, effects: &messagingEffects)
            case .datagram(let payload):
                let fromName = membership.members[packet.sender]?.name ?? packet.sender.short
                hub.emit(.message(ReceivedMessage(from: fromName, fromID: packet.sender, kind: .datagram, data: Array(payload),
                                                  receivedAt: wallClockNanoseconds())))
            default: continue
            }
        }
    }

    // MARK: - Origin signatures

    /// The packet with every member claim whose origin signature does not verify taken out (each one counted
    /// as `forged`): relayed gossip cannot speak for a member that did not sign it.
    private func verifiedClaims(in packet: PacketBody) -> PacketBody {
        guard packet.frames.contains(where: { if case .member(.alive) = $0 { return true }; if case .member(.left) = $0 { return true }; return false })
        else { return packet }
        var verified = packet
        verified.frames = packet.frames.filter { frame in
            switch frame {
            case .member(.alive(let claim)):
                // Identity pinning: a node that is not on the list never enters the table, whoever vouches for it.
                if let allowed = link.allowed, claim.id != me, !allowed.contains(claim.id) {
                    drop(.notAllowed)
                    return false
                }
                return checkSignature(claim.signature, by: claim.id, incarnation: claim.incarnation) { claim.signedBytes }
            case .member(.left(let subject, let incarnation, let signature)):
                return checkSignature(signature, by: subject, incarnation: incarnation) { Signature.leftBytes(subject: subject, incarnation: incarnation) }
            default:
                return true
            }
        }
        return verified
    }

    private func checkSignature(_ signature: [UInt8], by signer: NodeID, incarnation: UInt64, message: () -> [UInt8]) -> Bool {
        if let known = verifiedClaims[signer], known.incarnation == incarnation, known.signature == signature { return true }
        guard !signature.isEmpty, IdentityKey.verify(signature: signature, message: message(), publicKey: signer.bytes) else {
            drop(.forged)
            return false
        }
        if verifiedClaims.count > 65_536 { verifiedClaims.removeAll(keepingCapacity: true) }
        verifiedClaims[signer] = (incarnation, signature)
        return true
    }

    /// Signs this node's own alive and left claims (the core leaves them unsigned).
    private func signOwnClaims(_ frames: [Frame]) -> [Frame] {
        guard frames.contains(where: { if case .member = $0 { return true } else { return false } }) else { return frames }
        return frames.map { frame in
            switch frame {
            case .member(.alive(var claim)) where claim.id == me && claim.signature.isEmpty:
                claim.signature = ownSignature(claim.signedBytes)
                return .member(.alive(claim))
            case .member(.left(let subject, let incarnation, let signature)) where subject == me && signature.isEmpty:
                return .member(.left(subject: subject, incarnation: incarnation,
                                     signature: ownSignature(Signature.leftBytes(subject: subject, incarnation: incarnation))))
            default:
                return frame
            }
        }
    }

    private func ownSignature(_ bytes: [UInt8]) -> [UInt8] {
        if let signature = ownSignatures[bytes] { return signature }
        let signature = identity.sign(bytes)
        if ownSignatures.count > 16 { ownSignatures.removeAll() }
        ownSignatures[bytes] = signature
        return signature
    }

    private func drop(_ reason: DropReason) {
        traffic.dropped[reason, default: 0] += 1
    }

    // MARK: - Effects

    private func performEffects() {
        // Membership first: its changes may give messaging the address it needs.
        while !membershipEffects.isEmpty || !messagingEffects.isEmpty || !broadcastEffects.isEmpty {
            var membershipBatch = Self.take(&membershipEffects, reusing: &membershipSpare)
            for effect in membershipBatch { perform(effect) }
            Self.recycle(&membershipBatch, into: &membershipSpare)
            var broadcastBatch = Self.take(&broadcastEffects, reusing: &broadcastSpare)
            for effect in broadcastBatch { perform(effect) }
            Self.recycle(&broadcastBatch, into: &broadcastSpare)
            var messagingBatch = Self.take(&messagingEffects, reusing: &messagingSpare)
            performMessaging(messagingBatch)
            Self.recycle(&messagingBatch, into: &messagingSpare)
        }
    }

    /// Takes the effects waiting in `pending` and leaves it empty, with `spare`'s storage: a copy followed by
    /// `removeAll(keepingCapacity:)` would allocate a new buffer every time (the copy still holds the old one).
    /// Effects appended while the batch is carried out go to `pending` and are taken next.
    private static func take<Effect>(_ pending: inout [Effect], reusing spare: inout [Effect]) -> [Effect] {
        var batch: [Effect] = []
        swap(&batch, &spare)
        swap(&batch, &pending)
        return batch
    }

    /// Gives a carried-out batch's storage back as the next spare. (A nested call that found no spare made its own.)
    private static func recycle<Effect>(_ batch: inout [Effect], into spare: inout [Effect]) {
        batch.removeAll(keepingCapacity: true)
        if spare.capacity < batch.capacity { swap(&batch, &spare) }
    }

    private func perform(_ effect: BroadcastEffect) {
        switch effect {
        case .send(let peer, let envelope):
            // Token 0 has no handler: forwarding is best effort, retried by anti-entropy.
            let now = Instant(nanoseconds: monotonicNow())
            _ = messaging.send(envelope.encode(), to: peer, token: 0, deadline: now + broadcasts.settings.retention, now: now,
                               effects: &messagingEffects)
        case .deliver(let message):
            let origin = membership.members[message.origin]?.name ?? (message.origin == me ? name : message.origin.short)
            hub.emit(.message(ReceivedMessage(from: origin, fromID: message.origin, kind: .broadcast, data: message.data,
                                              receivedAt: wallClockNanoseconds())))
        }
    }

    /// Ids of the other members that are alive: where broadcasts go.
    var aliveOthers: [NodeID] {
        membership.members.values.compactMap { $0.state == .alive && $0.id != me ? $0.id : nil }
    }

    /// A direct message's payload arrived whole: open its envelope.
    private func deliver(_ payload: [UInt8], from sender: NodeID) {
        let now = Instant(nanoseconds: monotonicNow())
        switch Envelope.decode(payload) {
        case .direct(let data)?:
            let fromName = membership.members[sender]?.name ?? sender.short
            hub.emit(.message(ReceivedMessage(from: fromName, fromID: sender, kind: .direct, data: data, receivedAt: wallClockNanoseconds())))
        case .broadcast(let message)?:
            // A broadcast is checked once, when first seen: no relay can forge or alter one.
            guard broadcasts.knows(message.key)
                || IdentityKey.verify(signature: message.signature, message: message.signedBytes, publicKey: message.origin.bytes) else {
                drop(.forged)
                return
            }
            broadcasts.receive(message, from: sender, members: aliveOthers, wallClockMilliseconds: wallClockNanoseconds() / 1_000_000,
                               now: now, effects: &broadcastEffects)
        case .digest(let digest)?:
            broadcasts.receive(digest, from: sender, now: now, effects: &broadcastEffects)
        case .keyRequest(let request)?:
            var response = applyKeyRequest(request.action)
            response.id = request.id
            logger.info("key \(Self.describe(request.action)) asked by \(membership.members[sender]?.name ?? sender.short): \(response.ok ? "done" : response.error)")
            sendEnvelope(.keyResponse(response), to: sender, now: now)
        case .keyResponse(let response)?:
            recordKeyResponse(response, from: sender)
        case nil:
            undecodableEnvelopes += 1
        }
    }

    private func perform(_ effect: MembershipEffect) {
        switch effect {
        case .send(let address, let frames):
            send(frames, to: address)
        case .changed(let change):
            let member = change.member
            logger.info("member \(member.name) \(member.id.short) is \(member.state.rawValue)",
                        metadata: ["address": "\(member.address)", "incarnation": "\(member.incarnation)"])
            hub.emit(.member(MemberEvent(name: member.name, id: member.id, state: member.state,
                                         previous: change.previousState, address: member.address)))
            // Only a goodbye frees a sender's stream: a member wrongly declared dead may still retransmit, and
            // forgetting what it already delivered would deliver it twice.
            if member.state == .left { messaging.forget(member.id) }
            updateDirectory(member)
            snapshotDirty = true
            checkWaiters()
        case .conflict(let conflict):
            let text = "name '\(conflict.name)' is held by \(conflict.holder.short); refused \(conflict.claimant.short) at \(conflict.claimantAddress)"
            if !conflicts.contains(text) {
                conflicts.append(text)
                if conflicts.count > 32 { conflicts.removeFirst() }
                logger.warning("name conflict: \(text)")
            }
        }
    }

    private func performMessaging(_ effects: [MessagingEffect]) {
        // Taken out while in use: a send below could, in principle, come back here.
        var packing = self.packing
        self.packing = PacketPacking()
        for effect in effects {
            switch effect {
            case .send(let peer, let frame):
                let size = frame.encodedSize
                let slot = packing.slot(for: peer)
                if packing.slots[slot].size + size > PacketBody.maxFramesSize, !packing.slots[slot].frames.isEmpty {
                    send(packing.slots[slot].frames, toPeer: peer)
                    packing.slots[slot].frames.removeAll(keepingCapacity: true)
                    packing.slots[slot].size = 0
                }
                packing.slots[slot].frames.append(frame)
                packing.slots[slot].size += size
            case .deliver(let from, let payload):
                deliver(payload, from: from)
            case .completed(let token, let outcome):
                guard let handler = sendHandlers.removeValue(forKey: token) else { continue }
                switch outcome {
                case .acknowledged:
                    let rtt = Duration.nanoseconds(monotonicNow() - handler.started)
                    handler.completion(.success(SendReceipt(peer: handler.name, peerID: handler.peer, bytes: handler.bytes, roundTrip: rtt)))
                case .timedOut:
                    handler.completion(.failure(.timedOut("no acknowledgement from \(handler.name)")))
                }
            }
        }
        for slot in 0..<packing.used where !packing.slots[slot].frames.isEmpty { send(packing.slots[slot].frames, toPeer: packing.slots[slot].peer) }
        packing.reset()
        self.packing = packing
    }

    private func send(_ frames: [Frame], toPeer peer: NodeID) {
        guard let address = membership.members[peer].flatMap({ $0.isReachable ? $0.address : nil }) ?? lastSource[peer] else {
            traffic.sendFailures += 1
            return
        }
        send(frames, to: address, expected: peer)
    }

    /// Sends frames in one packet through the link (a session, or a handshake first).
    private func send(_ frames: [Frame], to address: PeerAddress, expected: NodeID? = nil) {
        // Encoded into a writer kept between packets and, with a session up, sealed straight into the send batch:
        // no array per packet. Otherwise the link queues the body behind a handshake (or a rekey).
        bodyWriter.removeAll()
        PacketBody(sender: me, frames: signOwnClaims(frames)).write(to: &bodyWriter)
        let now = Instant(nanoseconds: monotonicNow())
        if outbound.isFull { flushOutbound() }
        let sealed = bodyWriter.withUnsafeBytes { body in
            outbound.append(to: address) { slot in link.sealIfReady(body, to: address, expected: expected, now: now, into: slot) }
        }
        if sealed { return }
        link.send(bodyWriter.bytes, to: address, expected: expected, now: now, wallClock: wallClock, effects: &linkEffects)
        performLink(now: now)
    }

    /// Queues a sealed datagram for this turn's sendmmsg (sending the batch first when it is full).
    private func transmit(_ datagram: [UInt8], to address: PeerAddress) {
        if outbound.isFull { flushOutbound() }
        let queued = datagram.withUnsafeBytes { outbound.append($0, to: address) }
        guard !queued else { return }
        // Larger than a slot (never, for datagrams the link seals): send it alone.
        if datagram.withUnsafeBytes({ socket.send($0, to: address) }) {
            traffic.datagramsOut += 1
            traffic.bytesOut += datagram.count
        } else {
            traffic.sendFailures += 1
        }
    }

    /// Sends what this turn of the loop sealed.
    private func flushOutbound() {
        guard outbound.count > 0 else { return }
        let (sent, bytes, failed) = socket.send(outbound)
        traffic.datagramsOut += sent
        traffic.bytesOut += bytes
        traffic.sendFailures += failed
    }

    // MARK: - Commands (run on the loop thread)

    func peers(now: Instant) -> [PeerInfo] {
        membership.members.values.sorted { ($0.id == me ? 0 : 1, $0.name, $0.id) < ($1.id == me ? 0 : 1, $1.name, $1.id) }.map { member in
            PeerInfo(name: member.name, id: member.id, address: member.address, state: member.state,
                     incarnation: member.incarnation, isSelf: member.id == me, tags: member.tags.dictionary,
                     lastHeard: member.lastHeard.map { now - $0 })
        }
    }

    func status(now: Instant) -> NodeStatus {
        var counts: [MemberState: Int] = [:]
        for state in MemberState.allCases { counts[state] = 0 }
        for member in membership.members.values { counts[member.state, default: 0] += 1 }
        var status = NodeStatus(id: me, name: name, listen: socket.localAddress, uptime: .nanoseconds(now.nanoseconds - startedAt),
                          incarnation: membership.myself.incarnation, localHealth: membership.localHealth, members: counts,
                          traffic: traffic, messaging: messaging.counters, broadcasts: broadcasts.counters, conflicts: conflicts,
                          networkKeyID: link.keyring.primary.idHex, link: link.counters, sessions: link.sessionCount, inbox: hub.inboxStatus.count, inboxDropped: hub.inboxStatus.dropped)
        status.peerTableLimit = membership.settings.maxMembers
        status.peerTable = membership.counters
        return status
    }

    /// Finds a member by exact name (live ones first) or by a unique id prefix of at least 8 hex characters.
    func resolve(_ peer: String) -> Result<Member, RumorError> {
        guard !peer.isEmpty else { return .failure(.emptyPeer) }
        // The directory holds the active member of each name: one lookup instead of a scan of the table.
        if let id = lookUp(peer), let member = membership.members[id], member.state.isActive { return .success(member) }
        let named = membership.members.values.filter { $0.name == peer }
        if let live = named.first(where: { $0.state.isActive }) ?? named.first { return .success(live) }
        let prefix = peer.lowercased()
        if prefix.count >= 8, prefix.count <= 64, Hex.decode(prefix.count % 2 == 0 ? prefix : prefix + "0") != nil {
            let matches = membership.members.values.filter { $0.id.hex.hasPrefix(prefix) }
            if matches.count == 1, let only = matches.first { return .success(only) }
            if matches.count > 1 { return .failure(.ambiguousPeer(peer, matches.map { "\($0.name) (\($0.id.short))" }.sorted())) }
        }
        return .failure(.unknownPeer(peer))
    }

    func send(_ payload: [UInt8], to peer: String, timeout: Duration,
              completion: @escaping @Sendable (Result<SendReceipt, RumorError>) -> Void) {
        let target: Member
        switch resolve(peer) {
        case .failure(let error): return completion(.failure(error))
        case .success(let member): target = member
        }
        guard payload.count <= MessagingSettings.maxUserMessageSize else {
            return completion(.failure(.messageTooLarge(payload.count, limit: MessagingSettings.maxUserMessageSize)))
        }
        let started = monotonicNow()
        if target.id == me {
            hub.emit(.message(ReceivedMessage(from: name, fromID: me, kind: .direct, data: payload, receivedAt: wallClockNanoseconds())))
            return completion(.success(SendReceipt(peer: name, peerID: me, bytes: payload.count, roundTrip: .zero)))
        }
        nextToken += 1
        let now = Instant(nanoseconds: started)
        switch messaging.send(Envelope.direct(payload).encode(), to: target.id, token: nextToken, deadline: now + timeout, now: now,
                              effects: &messagingEffects) {
        case .failure(.tooLarge):
            completion(.failure(.messageTooLarge(payload.count, limit: MessagingSettings.maxUserMessageSize)))
        case .failure(.queueFull):
            completion(.failure(.queueFull(target.name)))
        case .success:
            sendHandlers[nextToken] = (nextToken, target.id, target.name, payload.count, started, completion)
        }
        performEffects()
    }

    /// Pings a member (memberlist's `Ping(node)`): a SWIM ping with its own sequence number, apart from the
    /// failure detector. Completes with the round trip measured on this thread, from just before the ping is
    /// sealed and handed to the socket to just after its ack was opened and matched: the wire, the crypto and
    /// both event loops, not the caller's hand-off to this thread and back.
    func ping(_ peer: String, timeout: Duration, completion: @escaping @Sendable (Result<Duration, RumorError>) -> Void) {
        let target: Member
        switch resolve(peer) {
        case .failure(let error): return completion(.failure(error))
        case .success(let member): target = member
        }
        if target.id == me { return completion(.success(.zero)) }
        let now = Instant(nanoseconds: monotonicNow())
        switch membership.ping(target.id, deadline: now + max(.zero, timeout), effects: &membershipEffects) {
        case .failure(.tooMany):
            completion(.failure(.queueFull(target.name)))
        case .failure(.notAMember), .failure(.unreachable):
            completion(.failure(.unknownPeer(peer)))
        case .success(let sequence):
            // Nothing else is pending between commands, so the next step seals and sends this very ping.
            pingHandlers[sequence] = (target.name, monotonicNow(), completion)
            performEffects()
        }
    }

    /// Completes the pings the membership core matched to an ack or expired; the clock is read as the ack is read.
    private func completePings() {
        guard membership.hasPingResults else { return }
        let answeredAt = monotonicNow()
        for result in membership.takePingResults() {
            switch result {
            case .answered(_, let sequence):
                guard let handler = pingHandlers.removeValue(forKey: sequence) else { continue }
                handler.completion(.success(.nanoseconds(answeredAt - handler.started)))
            case .expired(_, let sequence):
                guard let handler = pingHandlers.removeValue(forKey: sequence) else { continue }
                handler.completion(.failure(.timedOut("no answer to the ping from \(handler.name)")))
            }
        }
    }

    /// Sends one fire-and-forget datagram: authenticated and replay-protected like everything else, never
    /// acknowledged nor retransmitted. Completes once it is handed to the socket (or queued behind a handshake).
    func sendUnreliable(_ payload: [UInt8], to peer: String) -> Result<SendReceipt, RumorError> {
        let target: Member
        switch resolve(peer) {
        case .failure(let error): return .failure(error)
        case .success(let member): target = member
        }
        guard payload.count <= Frame.maxDatagramPayload else { return .failure(.messageTooLarge(payload.count, limit: Frame.maxDatagramPayload)) }
        if target.id == me {
            hub.emit(.message(ReceivedMessage(from: name, fromID: me, kind: .datagram, data: payload, receivedAt: wallClockNanoseconds())))
        } else {
            send([.datagram(payload[...])], toPeer: target.id)
        }
        return .success(SendReceipt(peer: target.name, peerID: target.id, bytes: payload.count, roundTrip: .zero))
    }

    /// Starts a broadcast: delivered here at once and spread to every member.
    func broadcast(_ data: [UInt8], completion: @escaping @Sendable (Result<BroadcastKey, RumorError>) -> Void) {
        let now = Instant(nanoseconds: monotonicNow())
        let identity = identity
        let result = broadcasts.broadcast(data, members: aliveOthers, wallClockMilliseconds: wallClockNanoseconds() / 1_000_000,
                                          now: now, sign: { identity.sign($0) }, effects: &broadcastEffects)
        performEffects()
        switch result {
        case .success(let key): completion(.success(key))
        case .failure(.tooLarge(let size)): completion(.failure(.messageTooLarge(size, limit: BroadcastSettings.maxSize)))
        }
    }

    // MARK: - Network keys

    /// Applies a key request to this node's keyring (saving it when it changed) and says how it went.
    func applyKeyRequest(_ action: KeyRequest.Action) -> KeyResponse {
        let result: Result<Void, NetworkKeyring.ChangeError>
        switch action {
        case .list:
            result = .success(())
        case .install(let bytes):
            guard let key = NetworkKey(bytes: bytes) else { return keyResponse(ok: false, error: "not a 32-byte key") }
            result = link.changeKeyring { $0.install(key) }
        case .use(let id):
            result = link.changeKeyring { $0.use(id) }
        case .remove(let id):
            result = link.changeKeyring { $0.remove(id) }
        }
        if case .failure(let error) = result { return keyResponse(ok: false, error: error.description) }
        if action != .list {
            do {
                try files.saveKeyring(link.keyring)
            } catch {
                return keyResponse(ok: false, error: "changed in memory but not saved: \(error)")
            }
        }
        return keyResponse(ok: true, error: "")
    }

    func keyResponse(ok: Bool, error: String) -> KeyResponse {
        KeyResponse(id: 0, ok: ok, error: error,
                    keys: link.keyring.keys.map { KeyResponse.KeyState(id: $0.id, primary: $0.id == link.keyring.primary.id) })
    }

    static func describe(_ action: KeyRequest.Action) -> String {
        switch action {
        case .list: return "list"
        case .install(let bytes): return "install \(NetworkKey(bytes: bytes)?.idHex ?? "?")"
        case .use(let id): return "use \(NetworkKey.hex(id))"
        case .remove(let id): return "remove \(NetworkKey.hex(id))"
        }
    }

    func result(from response: KeyResponse, name: String, id: NodeID) -> KeyResult {
        KeyResult(name: name, id: id, ok: response.ok, answered: true, error: response.ok ? nil : response.error,
                  keys: response.keys.map { (NetworkKey.hex($0.id), $0.primary) })
    }

    /// Applies `action` here and asks every alive member to apply it too (unless `local`).
    func keys(_ action: KeyAction, local: Bool, timeout: Duration, completion: @escaping @Sendable (KeyReport) -> Void) {
        let request: KeyRequest.Action
        switch action {
        case .list: request = .list
        case .install(let key): request = .install(key.secret.withUnsafeBytes { Array($0) })
        case .use(let id): request = .use(id)
        case .remove(let id): request = .remove(id)
        }
        let own = result(from: applyKeyRequest(request), name: name, id: me)
        let targets = local ? [] : membership.members.values.filter { $0.state == .alive && $0.id != me }
        guard !targets.isEmpty else { return completion(KeyReport(results: [own])) }
        let now = Instant(nanoseconds: monotonicNow())
        let id = SecureRandom.uint64()
        keyOperations[id] = KeyOperation(asked: Dictionary(targets.map { ($0.id, $0.name) }, uniquingKeysWith: { first, _ in first }),
                                         results: [me: own], deadline: now + timeout, completion: completion)
        for target in targets { sendEnvelope(.keyRequest(KeyRequest(id: id, action: request)), to: target.id, now: now) }
        performEffects()
    }

    func recordKeyResponse(_ response: KeyResponse, from sender: NodeID) {
        guard var operation = keyOperations[response.id], let name = operation.asked[sender] else { return }
        operation.results[sender] = result(from: response, name: name, id: sender)
        if operation.results.count == operation.asked.count + 1 {
            keyOperations[response.id] = nil
            operation.completion(report(operation))
        } else {
            keyOperations[response.id] = operation
        }
    }

    func expireKeyOperations(now: Instant) {
        guard !keyOperations.isEmpty else { return }
        for (id, operation) in keyOperations where operation.deadline <= now {
            keyOperations[id] = nil
            var results = operation.results
            for (member, name) in operation.asked where results[member] == nil {
                results[member] = KeyResult(name: name, id: member, ok: false, answered: false, error: "no answer in time", keys: [])
            }
            operation.completion(report(KeyOperation(asked: operation.asked, results: results, deadline: now, completion: operation.completion)))
        }
    }

    func report(_ operation: KeyOperation) -> KeyReport {
        KeyReport(results: operation.results.values.sorted { ($0.id == me ? 0 : 1, $0.name) < ($1.id == me ? 0 : 1, $1.name) })
    }

    /// Sends an envelope reliably (token 0: nobody waits on this particular message).
    func sendEnvelope(_ envelope: Envelope, to peer: NodeID, now: Instant) {
        _ = messaging.send(envelope.encode(), to: peer, token: 0, deadline: now + .seconds(10), now: now, effects: &messagingEffects)
    }

    func waitForAlive(_ count: Int, timeout: Duration, completion: @escaping @Sendable (Result<Int, RumorError>) -> Void) {
        let alive = aliveCount
        if alive >= count { return completion(.success(alive)) }
        aliveWaiters.append((count, Instant(nanoseconds: monotonicNow()) + timeout, completion))
    }

    var aliveCount: Int { membership.members.values.reduce(0) { $0 + ($1.state == .alive ? 1 : 0) } }

    private func checkWaiters() {
        guard !aliveWaiters.isEmpty else { return }
        let alive = aliveCount
        aliveWaiters.removeAll { waiter in
            guard alive >= waiter.count else { return false }
            waiter.completion(.success(alive))
            return true
        }
    }

    private func expireWaiters(now: Instant) {
        guard !aliveWaiters.isEmpty else { return }
        let alive = aliveCount
        aliveWaiters.removeAll { waiter in
            guard waiter.deadline <= now else { return false }
            waiter.completion(.failure(.timedOut("\(alive) of \(waiter.count) members alive")))
            return true
        }
    }

    /// Leaves gracefully: the goodbye goes out at once, gossip carries it for a short linger, then the loop stops.
    func leave() {
        let now = Instant(nanoseconds: monotonicNow())
        membership.leave(now: now, effects: &membershipEffects)
        performEffects()
        let linger = max(membership.settings.gossipInterval * 3, .milliseconds(200))
        stopAt = min(stopAt ?? .distantFuture, now + linger)
    }

    /// Stops without a goodbye (peers will detect the failure).
    func stopNow() {
        stopAt = Instant(nanoseconds: monotonicNow())
    }

    /// Applies `set` then `delete` to this node's tags and gossips the result; returns it, or nil if invalid.
    func updateTags(set: [String: String], delete: [String]) -> [String: String]? {
        let current = membership.myself.tags.dictionary
        var tags = current
        tags.merge(set) { _, new in new }
        for key in delete { tags[key] = nil }
        guard let valid = Tags(tags) else { return nil }
        // Only a real change is worth a new incarnation and a round of gossip.
        if tags != current { membership.setTags(valid, now: Instant(nanoseconds: monotonicNow())) }
        return valid.dictionary
    }

    // MARK: - Snapshot

    private func saveSnapshot(now: Instant) {
        snapshotDirty = false
        nextSnapshotAt = now + .seconds(2)
        let snapshot = PeerSnapshot(incarnation: membership.myself.incarnation,
                                    // Where each member is reached, not what it claims (0.0.0.0 for a node on every interface).
                                    peers: membership.members.values.filter { $0.id != me && $0.state != .left && $0.isReachable }
                                        .map { AliveClaim(id: $0.id, incarnation: $0.incarnation, name: $0.name, address: $0.address, tags: $0.tags) })
        do {
            try FileIO.replace(snapshot.text, at: files.snapshotPath, mode: 0o600)
        } catch {
            logger.warning("could not save the peer snapshot: \(error)")
        }
    }
}
