/// Every timing and count of the membership protocol, grouped as in memberlist's Config, with one preset per
/// profile. Docs/MEMBERSHIP.md lists each value and what it bounds.
public struct MembershipSettings: Sendable, Equatable {
    public enum Profile: String, CaseIterable, Sendable {
        /// One machine or a fast local network: detection in about a second.
        case local
        /// A data-centre network (memberlist's DefaultLANConfig). The default.
        case lan
        /// Links across the internet (memberlist's DefaultWANConfig).
        case wan
    }

    /// Time between two probes of the round-robin list (SWIM's protocol period), before health scaling.
    public var probeInterval: Duration
    /// How long a direct probe waits for its ack before asking `indirectChecks` members to try.
    public var probeTimeout: Duration
    /// How many members are asked to probe indirectly (SWIM's k).
    public var indirectChecks: Int
    /// Suspicion lasts at least `suspicionMultiplier × max(1, log10 n) × probeInterval`.
    public var suspicionMultiplier: Double
    /// …and at most `suspicionMaxMultiplier` times that, shrinking with independent confirmations (Lifeguard).
    public var suspicionMaxMultiplier: Double
    /// Each piece of gossip is sent about `retransmitMultiplier × ⌈log10(n + 1)⌉` times.
    public var retransmitMultiplier: Int
    /// How often queued gossip is sent to `gossipFanout` random members besides piggybacking.
    public var gossipInterval: Duration
    public var gossipFanout: Int
    /// Members declared dead keep receiving gossip this long, so a wrongly accused one can refute.
    public var gossipToTheDead: Duration
    /// Interval of the full-state exchange with one random member (anti-entropy); scaled up past 32 members.
    public var pushPullInterval: Duration
    /// How often one dead member or an absent seed is contacted again, so a healed partition merges.
    public var reconnectInterval: Duration
    /// How long dead members are kept and retried before they are forgotten.
    public var reconnectTimeout: Duration
    /// How long members that left are remembered (so an old alive claim cannot resurrect them).
    public var leftRetention: Duration
    /// Retry interval for the seeds while this node has not reached any member yet.
    public var joinRetryInterval: Duration
    /// Lifeguard local health: the probe interval and timeout are scaled by up to this factor.
    public var maxLocalHealth: Int
    /// Join announce: the seed of a join sends the joiner's claim straight to this many random members (0 turns it
    /// off). 64: up to 65 members every pair of nodes joining through one seed meets directly (Docs/MEMBERSHIP.md,
    /// "Join announce"); in a larger mesh a claim's gossip already costs `n × retransmitLimit` ≥ 512
    /// transmissions, which the announce raises by at most an eighth, and a join costs the seed 64 datagrams, not n.
    public var joinAnnounceFanout: Int
    /// Members the peer table holds, this node included. Beyond it a new member is refused, unless a dead or
    /// departed one can be forgotten early to make room (departed first, the longest gone first). 8,192: half of
    /// `LinkSettings.maxSessions`, so that every member can hold a session with room to spare; a full table is a
    /// few MiB, and one full state exchange about 900 KB. Without a bound, one member with the network key could
    /// fill every node's memory with made-up identities.
    public var maxMembers = 8_192
    /// Catch-up exchange: while the gossip queue holds at least this many updates (0 turns it off), news is
    /// arriving faster than gossip spreads it, and the node exchanges full state with a random member every
    /// `catchUpInterval`, backing off when that brings nothing new (Docs/MEMBERSHIP.md, "Catch-up exchange").
    /// 128: the queue holds one update per member at most, so meshes under 128 members, which the join announce
    /// serves, never start one; 128 updates take a node at least 5 gossip rounds to send once each.
    public var catchUpBacklog = 128
    /// The spacing of catch-up exchanges while they bring news; the probe interval in each profile.
    public var catchUpInterval: Duration = .seconds(1)

    public static func profile(_ profile: Profile) -> MembershipSettings {
        var settings = basic(profile)
        settings.catchUpInterval = settings.probeInterval
        return settings
    }

    private static func basic(_ profile: Profile) -> MembershipSettings {
        switch profile {
        case .local:
            return MembershipSettings(
                probeInterval: .milliseconds(200), probeTimeout: .milliseconds(100), indirectChecks: 3,
                suspicionMultiplier: 3, suspicionMaxMultiplier: 4, retransmitMultiplier: 4,
                gossipInterval: .milliseconds(50), gossipFanout: 3, gossipToTheDead: .seconds(15),
                pushPullInterval: .seconds(10), reconnectInterval: .seconds(2), reconnectTimeout: .seconds(3600),
                leftRetention: .seconds(3600), joinRetryInterval: .milliseconds(250), maxLocalHealth: 8, joinAnnounceFanout: 64)
        case .lan:
            return MembershipSettings(
                probeInterval: .seconds(1), probeTimeout: .milliseconds(500), indirectChecks: 3,
                suspicionMultiplier: 4, suspicionMaxMultiplier: 6, retransmitMultiplier: 4,
                gossipInterval: .milliseconds(200), gossipFanout: 3, gossipToTheDead: .seconds(30),
                pushPullInterval: .seconds(30), reconnectInterval: .seconds(10), reconnectTimeout: .seconds(86_400),
                leftRetention: .seconds(86_400), joinRetryInterval: .seconds(1), maxLocalHealth: 8, joinAnnounceFanout: 64)
        case .wan:
            return MembershipSettings(
                probeInterval: .seconds(5), probeTimeout: .seconds(3), indirectChecks: 3,
                suspicionMultiplier: 6, suspicionMaxMultiplier: 6, retransmitMultiplier: 4,
                gossipInterval: .milliseconds(500), gossipFanout: 4, gossipToTheDead: .seconds(60),
                pushPullInterval: .seconds(60), reconnectInterval: .seconds(30), reconnectTimeout: .seconds(86_400),
                leftRetention: .seconds(86_400), joinRetryInterval: .seconds(2), maxLocalHealth: 8, joinAnnounceFanout: 64)
        }
    }

    /// Names the first setting that makes no sense, or returns nil when all are usable.
    public func validationError() -> String? {
        if probeInterval <= .zero { return "probeInterval must be positive" }
        if probeTimeout <= .zero || probeTimeout >= probeInterval { return "probeTimeout must be positive and below probeInterval" }
        if indirectChecks < 0 { return "indirectChecks must not be negative" }
        if suspicionMultiplier < 1 { return "suspicionMultiplier must be at least 1" }
        if suspicionMaxMultiplier < 1 { return "suspicionMaxMultiplier must be at least 1" }
        if retransmitMultiplier < 1 { return "retransmitMultiplier must be at least 1" }
        if gossipInterval <= .zero || gossipFanout < 1 { return "gossipInterval and gossipFanout must be positive" }
        if pushPullInterval <= .zero || reconnectInterval <= .zero || joinRetryInterval <= .zero {
            return "pushPullInterval, reconnectInterval and joinRetryInterval must be positive"
        }
        if maxLocalHealth < 0 { return "maxLocalHealth must not be negative" }
        if joinAnnounceFanout < 0 { return "joinAnnounceFanout must not be negative" }
        if catchUpBacklog < 0 { return "catchUpBacklog must not be negative" }
        if catchUpInterval <= .zero { return "catchUpInterval must be positive" }
        if maxMembers < 2 { return "maxMembers must be at least 2 (this node and one other)" }
        return nil
    }
}
