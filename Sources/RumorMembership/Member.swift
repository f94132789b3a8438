import RumorWire

/// A member's state as SWIM sees it. `left` is a graceful goodbye, `dead` a failure; both are kept a while.
public enum MemberState: String, Sendable, CaseIterable, Codable {
    case alive, suspect, dead, left

    /// For the same incarnation, news of a later state overrides news of an earlier one.
    var precedence: Int {
        switch self {
        case .alive: return 0
        case .suspect: return 1
        case .dead: return 2
        case .left: return 3
        }
    }

    public var isActive: Bool { self == .alive || self == .suspect }
}

/// One row of the peer table.
public struct Member: Sendable, Equatable {
    public var id: NodeID
    public var name: String
    public var address: PeerAddress
    public var state: MemberState
    public var incarnation: UInt64
    public var tags: Tags
    /// When `state` last changed, on the core's clock.
    public var stateChangedAt: Instant
    /// When an authenticated packet from this member last arrived (nil: only heard of through others).
    public var lastHeard: Instant?
    /// The member's signature on its latest alive or left claim, relayed with it so receivers can check it.
    public var signature: [UInt8] = []

    public var claim: AliveClaim {
        AliveClaim(id: id, incarnation: incarnation, name: name, address: address, tags: tags, signature: state == .left ? [] : signature)
    }
}

/// A change in the peer table, reported to the shell (and from there to `rumor watch`).
public struct MemberChange: Sendable, Equatable {
    public var member: Member
    /// nil when the member is new to this node.
    public var previousState: MemberState?
}

/// A node that claimed a name already held by a different live member; its claim was refused.
public struct NameConflict: Sendable, Equatable {
    public var name: String
    public var holder: NodeID
    public var claimant: NodeID
    public var claimantAddress: PeerAddress
}

/// What the membership core asks its shell to do.
public enum MembershipEffect: Sendable, Equatable {
    /// Send these frames in one packet to this address.
    case send(to: PeerAddress, frames: [Frame])
    case changed(MemberChange)
    case conflict(NameConflict)
}
