import RumorWire

/// What became of a ping that the shell asked for (`Membership.ping`), collected with `takePingResults()`.
public enum PingResult: Sendable, Equatable {
    /// The member acknowledged the ping with this sequence number.
    case answered(id: NodeID, sequence: UInt32)
    /// The deadline passed without an acknowledgement.
    case expired(id: NodeID, sequence: UInt32)
}

/// Why `Membership.ping` sent nothing.
public enum PingRefusal: Error, Sendable, Equatable {
    /// Not in the peer table, or this node itself.
    case notAMember
    /// A member with no known address yet (heard of only through others, and it listens on 0.0.0.0 or ::).
    case unreachable
    /// `Membership.maxOutstandingPings` pings are waiting already.
    case tooMany
}

/// Pings asked for by the shell (memberlist's `Ping(node)`), apart from the failure detector: their acks are
/// matched here and never reach the probe, so they change neither local health nor any suspicion, and a
/// missing ack accuses nobody. The shell reads the clock on both ends; the core only matches and expires.
struct UserPings: Sendable {
    struct Outstanding: Sendable {
        var target: NodeID
        var deadline: Instant
    }

    var outstanding: [UInt32: Outstanding] = [:]
    /// Results not yet taken by the shell. Each outstanding ping adds at most one, so this stays bounded too.
    var results: [PingResult] = []

    var firstDeadline: Instant? { outstanding.values.min { $0.deadline < $1.deadline }?.deadline }

    /// Whether `sequence` answers a user ping from its target; an ack from anyone else answers nothing.
    mutating func answer(_ sequence: UInt32, from sender: NodeID) -> Bool {
        guard let ping = outstanding[sequence], ping.target == sender else { return false }
        outstanding[sequence] = nil
        results.append(.answered(id: sender, sequence: sequence))
        return true
    }

    mutating func expire(now: Instant) {
        guard !outstanding.isEmpty else { return }
        for (sequence, ping) in outstanding.filter({ $0.value.deadline <= now }).sorted(by: { $0.key < $1.key }) {
            outstanding[sequence] = nil
            results.append(.expired(id: ping.target, sequence: sequence))
        }
    }
}

extension Membership {
    /// At most this many pings wait for an ack (results not yet taken count too); more are refused.
    public static let maxOutstandingPings = 64

    /// Sends a SWIM `ping` to `id` outside the probe schedule, as memberlist's `Ping(node)` does, with a
    /// sequence number of its own. The ack (or the deadline passing, seen by `tick`) comes back through
    /// `takePingResults()`. The probe, local health and suspicions are left alone: the answer proves nothing
    /// the failure detector relies on, and its absence accuses nobody. The ping carries no gossip, so it does
    /// not spend any update's retransmissions either.
    ///
    /// - Parameters:
    ///   - id: any member with a known address; a dead one may answer if it came back.
    ///   - deadline: when to give up (the shell's `now` plus its timeout).
    /// - Returns: the ping's sequence number, or why nothing was sent.
    public mutating func ping(_ id: NodeID, deadline: Instant, effects: inout [MembershipEffect]) -> Result<UInt32, PingRefusal> {
        defer { nextWake = wakeTime() }
        guard id != me, let member = table[id] else { return .failure(.notAMember) }
        guard member.isReachable else { return .failure(.unreachable) }
        guard userPings.outstanding.count + userPings.results.count < Membership.maxOutstandingPings else { return .failure(.tooMany) }
        let sequence = nextSequence()
        userPings.outstanding[sequence] = UserPings.Outstanding(target: id, deadline: deadline)
        effects.append(.send(to: member.address, frames: [.ping(sequence: sequence, target: id)]))
        return .success(sequence)
    }

    /// The pings answered or expired since the last call, in the order it happened.
    public mutating func takePingResults() -> [PingResult] {
        defer { nextWake = wakeTime() }
        guard !userPings.results.isEmpty else { return [] }
        defer { userPings.results.removeAll(keepingCapacity: true) }
        return userPings.results
    }

    /// Whether `takePingResults()` has anything: a cheap check for the shell's hot path.
    public var hasPingResults: Bool { !userPings.results.isEmpty }
}
