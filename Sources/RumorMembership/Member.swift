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
    /// Where to reach the member: its claimed address, or — when it claims the unspecified address because it
    /// listens on 0.0.0.0 or :: — the source address its own packets came from. Unspecified while no packet of
    /// its own has arrived yet (it was heard of only through others); nothing is sent to it until one does.
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
    /// The member's latest alive claim exactly as it signed it: relayed byte for byte, so that every receiver can
    /// verify it. nil for this node, whose claims the shell signs on their way out.
    public var signedClaim: AliveClaim? = nil

    /// The claim to relay about this member: its own signed one, else (this node) one built from the row.
    public var claim: AliveClaim {
        signedClaim ?? AliveClaim(id: id, incarnation: incarnation, name: name, address: address, tags: tags,
                                  signature: state == .left ? [] : signature)
    }

    /// Whether this node knows an address to send to.
    public var isReachable: Bool { !address.isUnspecified }
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
