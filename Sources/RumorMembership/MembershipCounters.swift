/// What the membership core refused or gave up to stay within its bounds, since start.
public struct MembershipCounters: Sendable, Equatable {
    /// New members learned (by gossip, a state exchange or their own claim) and refused because the peer table
    /// held `MembershipSettings.maxMembers` members, none of them dead or departed.
    public var membersRefused = 0
    /// Dead or departed members forgotten before their retention ran out, to make room for a live one.
    public var membersEvicted = 0
    /// Catch-up exchanges started (full-state push-pulls made early because gossip was falling behind).
    public var catchUps = 0

    public init() {}
}
