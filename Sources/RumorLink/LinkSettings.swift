/// Session timings and bounds (Docs/PROTOCOL.md, "Sessions"; the names follow WireGuard's constants).
public struct LinkSettings: Sendable, Equatable {
    /// A session older than this is replaced by a new handshake the next time it sends.
    public var rekeyAfterTime: Duration = .seconds(120)
    /// …and is no longer used to send or receive at all after this.
    public var rejectAfterTime: Duration = .seconds(180)
    /// Replace a session after this many datagrams sent with it; refuse to send past `rejectAfterMessages`.
    public var rekeyAfterMessages: UInt64 = 1 << 60
    public var rejectAfterMessages: UInt64 = UInt64.max - (1 << 13)
    /// An unanswered initiation is sent again (with a fresh timestamp) after this, at most `maxHandshakeAttempts`
    /// times; then the bodies waiting for it are dropped.
    public var handshakeRetry: Duration = .seconds(1)
    public var maxHandshakeAttempts = 10
    /// Bodies held per address while its handshake is under way (the oldest go first).
    public var maxQueuedPerAddress = 128
    /// Responder sessions waiting for their initiator's first datagram, per address (one per initiator identity).
    public static let maxUnconfirmedPerAddress = 4
    /// Sessions in use per address: two per peer identity (current and previous), for two identities.
    public static let maxLivePerAddress = 4
    /// Sessions and handshakes in flight, in all.
    public var maxSessions = 16_384
    public var maxPendingHandshakes = 1024
    /// Initiations answered per source address: a token bucket of `handshakeBurst` refilled at `handshakesPerSecond`…
    public var handshakesPerSecond: Double = 20
    public var handshakeBurst: Double = 40
    /// …and from all addresses together, at most this many per second (with a burst of as many).
    public var handshakesPerSecondTotal: Double = 2000

    public init() {}
}

/// What the link layer did, for `rumor status`.
public struct LinkCounters: Sendable, Equatable {
    public var handshakesInitiated = 0
    public var handshakesCompleted = 0
    public var handshakesAnswered = 0
    public var handshakesAbandoned = 0
    public var rekeys = 0
    public var sessionsExpired = 0
    public var queueDropped = 0

    public init() {}
}
