import Dispatch
import Logging
import RumorCrypto
import RumorLink
import RumorMembership
import RumorMessaging
import RumorWire

/// How to start a node. Only `name` and `home` are required; the rest has the CLI's defaults.
public struct NodeConfiguration: Sendable {
    public var name: String
    /// The home directory; the node keeps its files in `home/name/`.
    public var home: String
    public var listen: Endpoint
    /// Seeds to join through. Empty: rejoin the peers remembered from the last run, if any.
    public var join: [Endpoint]
    /// nil: `home/network.key`, created on first use.
    public var networkKeyPath: String?
    public var tags: [String: String]
    public var profile: MembershipSettings.Profile
    /// Overrides the profile's timings (tests use this).
    public var membershipSettings: MembershipSettings?
    public var messagingSettings: MessagingSettings
    public var broadcastSettings: BroadcastSettings
    public var linkSettings: LinkSettings
    /// Identity pinning: when set, only these node ids may hold a session with this node.
    public var allowed: Set<NodeID>?
    /// Messages kept for later (`rumor inbox`) while no one subscribes to events; the oldest go first.
    public var inboxCapacity = 1024
    public var logger: Logger

    public init(name: String, home: String, listen: Endpoint = Endpoint(host: "127.0.0.1", port: 0), join: [Endpoint] = [],
                networkKeyPath: String? = nil, tags: [String: String] = [:], profile: MembershipSettings.Profile = .lan,
                logger: Logger = Logger(label: "rumor")) {
        self.name = name
        self.home = home
        self.listen = listen
        self.join = join
        self.networkKeyPath = networkKeyPath
        self.tags = tags
        self.profile = profile
        self.messagingSettings = MessagingSettings()
        self.broadcastSettings = BroadcastSettings()
        self.linkSettings = LinkSettings()
        self.logger = logger
    }
}

/// A running Rumor node: the library API that the `rumor` CLI and its control socket are built on.
///
///     let node = try RumorNode.start(NodeConfiguration(name: "a", home: "/tmp/mesh"))
///     for await event in node.events() { … }
///     try await node.send(Array("hello".utf8), to: "b")
///     await node.leave()
///
/// Every method is safe to call from any thread or task; the work happens on the node's own event loop.
public final class RumorNode: Sendable {
    public let id: NodeID
    public let name: String
    /// The address the socket is bound to (with the real port when 0 was asked for).
    public let listenAddress: PeerAddress
    public let files: NodeFiles
    public let networkKeyID: String
    let loop: NodeLoop
    let lock: NodeLock

    private init(loop: NodeLoop, lock: NodeLock, files: NodeFiles, networkKeyID: String) {
        self.loop = loop
        self.lock = lock
        self.files = files
        self.networkKeyID = networkKeyID
        id = loop.me
        name = loop.name
        listenAddress = loop.socket.localAddress
    }

    /// Starts a node: takes its folder's lock, loads or creates its identity and network key, binds the UDP
    /// socket, and begins joining. Throws `RumorError` with a one-line description on any failure.
    public static func start(_ configuration: NodeConfiguration) throws -> RumorNode {
        guard NodeName.isValid(configuration.name) else { throw RumorError.invalidName(configuration.name) }
        guard let tags = Tags(configuration.tags) else {
            throw RumorError.invalidConfiguration("tags must have non-empty keys, keys and values of at most 255 bytes, at most \(Tags.maxCount) tags and \(Tags.maxEncodedSize) bytes in all")
        }
        let settings = configuration.membershipSettings ?? .profile(configuration.profile)
        if let problem = settings.validationError() { throw RumorError.invalidConfiguration(problem) }
        let files = NodeFiles(home: configuration.home, name: configuration.name)
        try files.createDirectories()
        let lock = try NodeLock(path: files.lockPath, name: configuration.name)
        // The network key first: a bad key file must not leave a fresh identity behind.
        let networkKey = try files.loadNetworkKey(explicitPath: configuration.networkKeyPath)
        // A keyring saved by `rumor keys` wins over the key file: it is where rotations left this node.
        let keyring = try files.loadKeyring() ?? NetworkKeyring(primary: networkKey)
        if keyring.key(id: networkKey.id) == nil {
            configuration.logger.warning("\(files.keyringPath) does not hold network key \(networkKey.idHex); using the keyring (primary \(keyring.primary.idHex))")
        }
        let identity = try files.loadOrCreateIdentity()
        guard let listen = Resolver.resolve(configuration.listen) else { throw RumorError.cannotResolve(configuration.listen.description) }
        let socket: UDPSocket
        do {
            socket = try UDPSocket(binding: listen)
        } catch {
            throw RumorError.cannotListen(configuration.listen.description, "\(error)")
        }
        var seeds: [PeerAddress] = []
        for endpoint in configuration.join {
            guard let address = Resolver.resolve(endpoint, preferring: listen.family) else { throw RumorError.cannotResolve(endpoint.description) }
            guard address.family == listen.family else {
                throw RumorError.invalidConfiguration("cannot join \(endpoint) (IPv\(address.family.rawValue)) from a node listening on IPv\(listen.family.rawValue)")
            }
            seeds.append(address)
        }
        let snapshot = FileIO.read(files.snapshotPath, limit: 64 << 20).map { PeerSnapshot.parse(String(decoding: $0, as: UTF8.self)) }
        let remembered = (try? snapshot.get()) ?? PeerSnapshot(incarnation: 0, peers: [])
        // A pinned node always allows itself.
        let allowed = configuration.allowed.map { $0.union([NodeID(bytes: identity.publicKey)].compactMap { $0 }) }
        let loop = try NodeLoop(identity: identity, name: configuration.name, socket: socket, advertise: socket.localAddress,
                                keyring: keyring, linkSettings: configuration.linkSettings,
                                allowed: allowed, tags: tags, incarnation: remembered.incarnation + 1,
                                membershipSettings: settings, messagingSettings: configuration.messagingSettings,
                                broadcastSettings: configuration.broadcastSettings,
                                files: files, inboxCapacity: max(0, configuration.inboxCapacity), logger: configuration.logger)
        // A stopped node gives its name back at once, not when the last reference to it goes away.
        loop.whenStopped { lock.release() }
        // Without --join, the peers remembered from the last run are the seeds.
        let rememberedAddresses = remembered.peers.map(\.address).filter { $0.family == listen.family }
        do {
            try loop.start(seeds: seeds.isEmpty ? Array(Set(rememberedAddresses)).sorted { $0.description < $1.description } : seeds)
        } catch {
            throw RumorError.io("cannot start the event loop: \(error)")
        }
        return RumorNode(loop: loop, lock: lock, files: files, networkKeyID: keyring.primary.idHex)
    }

    // MARK: - Callback API (the control server uses these; the async API wraps them)

    package func peers(_ completion: @escaping @Sendable ([PeerInfo]) -> Void) {
        loop.enqueue({ loop in completion(loop.peers(now: Instant(nanoseconds: monotonicNow()))) }, ifStopped: { completion([]) })
    }

    package func status(_ completion: @escaping @Sendable (NodeStatus?) -> Void) {
        loop.enqueue({ loop in completion(loop.status(now: Instant(nanoseconds: monotonicNow()))) }, ifStopped: { completion(nil) })
    }

    package func send(_ payload: [UInt8], to peer: String, timeout: Duration,
                      completion: @escaping @Sendable (Result<SendReceipt, RumorError>) -> Void) {
        loop.enqueue({ loop in loop.send(payload, to: peer, timeout: timeout, completion: completion) },
                     ifStopped: { completion(.failure(.stopped)) })
    }

    package func ping(_ peer: String, timeout: Duration, completion: @escaping @Sendable (Result<Duration, RumorError>) -> Void) {
        loop.enqueue({ loop in loop.ping(peer, timeout: timeout, completion: completion) }, ifStopped: { completion(.failure(.stopped)) })
    }

    package func waitForAlive(_ count: Int, timeout: Duration, completion: @escaping @Sendable (Result<Int, RumorError>) -> Void) {
        loop.enqueue({ loop in loop.waitForAlive(count, timeout: timeout, completion: completion) },
                     ifStopped: { completion(.failure(.stopped)) })
    }

    /// Updates this node's tags (set first, then delete) and gossips them; completes with the new tags, or nil
    /// when the result breaks the tag limits.
    package func updateTags(set: [String: String], delete: [String], completion: @escaping @Sendable ([String: String]?) -> Void) {
        loop.enqueue({ loop in completion(loop.updateTags(set: set, delete: delete)) }, ifStopped: { completion(nil) })
    }

    /// Completes on the caller's thread once the datagram is queued for the event loop, when `peer` is the exact
    /// name of an active member; otherwise (an id prefix, this node, an unknown name, a payload too large) on the
    /// loop, which resolves the name and reports errors as for any send.
    package func sendUnreliable(_ payload: [UInt8], to peer: String, completion: @escaping @Sendable (Result<SendReceipt, RumorError>) -> Void) {
        if payload.count <= Frame.maxDatagramPayload, let id = loop.lookUp(peer) {
            switch loop.post(payload, to: id) {
            case .queued: return completion(.success(SendReceipt(peer: peer, peerID: id, bytes: payload.count, roundTrip: .zero)))
            case .full: return completion(.failure(.queueFull(peer)))
            case .stopped: return completion(.failure(.stopped))
            }
        }
        loop.enqueue({ loop in completion(loop.sendUnreliable(payload, to: peer)) }, ifStopped: { completion(.failure(.stopped)) })
    }

    package func broadcast(_ data: [UInt8], completion: @escaping @Sendable (Result<BroadcastKey, RumorError>) -> Void) {
        loop.enqueue({ loop in loop.broadcast(data, completion: completion) }, ifStopped: { completion(.failure(.stopped)) })
    }

    /// Lists or changes network keys on every alive member (or only here, when `local`), like `serf keys`.
    package func keys(_ action: KeyAction, local: Bool, timeout: Duration, completion: @escaping @Sendable (KeyReport) -> Void) {
        loop.enqueue({ loop in loop.keys(action, local: local, timeout: timeout, completion: completion) },
                     ifStopped: { completion(KeyReport(results: [])) })
    }

    /// Messages that arrived while nothing subscribed to events, oldest first; `clear` empties the inbox.
    public func inbox(clear: Bool = false) -> (messages: [ReceivedMessage], dropped: Int) { loop.hub.inbox(clear: clear) }

    /// Subscribes to events; the handler runs on the event loop thread and must return quickly.
    package func subscribe(replayingSince since: Int64? = nil, _ handler: @escaping @Sendable (NodeEvent) -> Void) -> UInt64 {
        loop.hub.subscribe(replayingSince: since, handler)
    }
    package func unsubscribe(_ token: UInt64) { loop.hub.unsubscribe(token) }

    /// Starts a graceful leave; `completion` runs once the node has stopped.
    package func leave(_ completion: @escaping @Sendable () -> Void) {
        loop.whenStopped(completion)
        loop.enqueue({ loop in loop.leave() }, ifStopped: {})
    }

    // MARK: - Async API

    /// The peer table, this node included.
    public func peers() async -> [PeerInfo] {
        await withCheckedContinuation { continuation in peers { continuation.resume(returning: $0) } }
    }

    /// Counters and state for `rumor status`; nil once the node has stopped.
    public func status() async -> NodeStatus? {
        await withCheckedContinuation { continuation in status { continuation.resume(returning: $0) } }
    }

    /// Sends a direct message and returns once `peer` (a name or an id prefix of ≥ 8 hex characters) has
    /// acknowledged all of it. Throws `RumorError.timedOut` when no acknowledgement came within `timeout`.
    @discardableResult
    public func send(_ payload: [UInt8], to peer: String, timeout: Duration = .seconds(10)) async throws(RumorError) -> SendReceipt {
        let result = await withCheckedContinuation { continuation in
            send(payload, to: peer, timeout: timeout) { continuation.resume(returning: $0) }
        }
        return try result.get()
    }

    /// Pings `peer` (a name or an id prefix of ≥ 8 hex characters) with an authenticated SWIM ping, as
    /// memberlist's `Ping(node)` does, and returns the round-trip time. The node times it on its own event-loop
    /// thread, from the ping's way out to the socket to the ack's arrival, so the caller's wake-ups are not in it.
    /// The failure detector ignores these pings: an answer does not count as a probe's, and a missing one accuses
    /// nobody. A ping to this node itself returns zero; a first ping to a peer without a session includes the
    /// handshake.
    ///
    /// Throws `RumorError.timedOut` when no ack came within `timeout`, `.unknownPeer` (or `.ambiguousPeer`,
    /// `.emptyPeer`) when `peer` names no member with an address, and `.queueFull` when
    /// `Membership.maxOutstandingPings` (64) pings are under way.
    public func ping(_ peer: String, timeout: Duration = .seconds(5)) async throws(RumorError) -> Duration {
        let result = await withCheckedContinuation { continuation in
            ping(peer, timeout: timeout) { continuation.resume(returning: $0) }
        }
        return try result.get()
    }

    /// Sends a fire-and-forget datagram (at most `Frame.maxDatagramPayload`, 1,119 bytes): authenticated and
    /// replay-protected, but never acknowledged or retransmitted, so it may be lost. Returns once it is queued for
    /// the node's event loop, which seals and sends it on its next turn; waits only while 4,096 datagrams wait
    /// already (as a blocking `sendto` waits for room). Throws `.unknownPeer` (or `.ambiguousPeer`, `.emptyPeer`),
    /// `.messageTooLarge`, `.stopped`.
    @discardableResult
    public func sendUnreliable(_ payload: [UInt8], to peer: String) async throws(RumorError) -> SendReceipt {
        let result = await withCheckedContinuation { continuation in
            sendUnreliable(payload, to: peer) { continuation.resume(returning: $0) }
        }
        return try result.get()
    }

    /// Broadcasts `data` (at most 8 KiB) to every member; it is delivered here too, as to everyone, exactly once.
    /// Returns the broadcast's key (origin and sequence).
    @discardableResult
    public func broadcast(_ data: [UInt8]) async throws(RumorError) -> BroadcastKey {
        let result = await withCheckedContinuation { continuation in
            broadcast(data) { continuation.resume(returning: $0) }
        }
        return try result.get()
    }

    /// Lists or changes network keys on every alive member (or only on this node, when `local`); the report
    /// has one result per member asked.
    public func keys(_ action: KeyAction, local: Bool = false, timeout: Duration = .seconds(10)) async -> KeyReport {
        await withCheckedContinuation { continuation in keys(action, local: local, timeout: timeout) { continuation.resume(returning: $0) } }
    }

    /// Returns once at least `count` members (this node included) are alive; throws on timeout.
    @discardableResult
    public func waitForAlive(_ count: Int, timeout: Duration) async throws(RumorError) -> Int {
        let result = await withCheckedContinuation { continuation in
            waitForAlive(count, timeout: timeout) { continuation.resume(returning: $0) }
        }
        return try result.get()
    }

    /// Messages and membership changes from now on. Each call is an independent subscriber; when a consumer
    /// falls behind by more than `buffer` events, the oldest are dropped.
    public func events(buffer: Int = 4096) -> AsyncStream<NodeEvent> {
        AsyncStream(bufferingPolicy: .bufferingNewest(buffer)) { continuation in
            let token = subscribe { continuation.yield($0) }
            let stopToken = loop.whenStopped { continuation.finish() }
            continuation.onTermination = { [weak self] _ in
                self?.unsubscribe(token)
                self?.loop.cancelWhenStopped(stopToken)
            }
        }
    }

    /// Sets and deletes tags of this node; the change is gossiped to the mesh. Returns the new tags.
    @discardableResult
    public func updateTags(set: [String: String] = [:], delete: [String] = []) async throws(RumorError) -> [String: String] {
        let result = await withCheckedContinuation { continuation in
            updateTags(set: set, delete: delete) { continuation.resume(returning: $0) }
        }
        guard let tags = result else { throw RumorError.invalidConfiguration("tags must have non-empty keys, keys and values of at most 255 bytes, at most \(Tags.maxCount) tags and \(Tags.maxEncodedSize) bytes in all") }
        return tags
    }

    /// Leaves the mesh gracefully (peers mark this node `left`) and stops.
    public func leave() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in leave { continuation.resume() } }
    }

    /// Stops at once without a goodbye; peers will find this node dead.
    public func stop() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            loop.whenStopped { continuation.resume() }
            loop.enqueue({ loop in loop.stopNow() }, ifStopped: {})
        }
    }

    /// Blocks the calling thread until the node has stopped.
    public func waitUntilStopped() {
        let semaphore = DispatchSemaphore(value: 0)
        loop.whenStopped { semaphore.signal() }
        semaphore.wait()
    }

    /// Runs `body` once the node has stopped (at once if it already has), on the thread that stopped it.
    package func whenStopped(_ body: @escaping @Sendable () -> Void) {
        loop.whenStopped(body)
    }

    public var isStopped: Bool { loop.isStopped }
}
