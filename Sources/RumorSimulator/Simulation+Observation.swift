import RumorMembership
import RumorWire

/// A node marked `dead` by a peer while it was running, had not left, and was on the peer's side of every
/// partition: a false positive of the failure detector. Loss and lag do not make a node unreachable here;
/// detecting a node through them is exactly what must not happen.
public struct FalseDeath: Sendable, Equatable {
    public var time: Instant
    public var observer: Int
    public var subject: Int
}

/// A `.conflict` effect: `observer` refused a claim to a name a different live member holds.
public struct ObservedConflict: Sendable, Equatable {
    public var time: Instant
    public var observer: Int
    public var conflict: NameConflict
}

/// What the simulation keeps of the cores' effects.
struct ObservationRecords {
    var falseDeaths: [FalseDeath] = []
    var conflicts: [ObservedConflict] = []
    /// By subject index: how many times any observer changed it to `dead`.
    var deathMarks: [Int] = []
    var rowsAdded = 0

    mutating func addNode() { deathMarks.append(0) }
}

extension Simulation {
    public var falseDeaths: [FalseDeath] { records.falseDeaths }
    public var conflicts: [ObservedConflict] { records.conflicts }

    /// Rows the cores added to their peer tables (members new to them), as their `.changed` effects report:
    /// an upper bound on the tables' total size that costs nothing to read, for memory budgets at scale.
    public var rowsAdded: Int { records.rowsAdded }

    /// How many times any node marked node `subject` dead, rightly or not.
    public func deathMarks(of subject: Int) -> Int { records.deathMarks[subject] }

    /// Indexes of the nodes whose process is running.
    public var runningNodes: [Int] { nodes.indices.filter { nodes[$0].isRunning } }

    /// Running nodes that have not left: the members a converged mesh sees alive.
    public var liveNodes: [Int] { nodes.indices.filter { nodes[$0].isRunning && !nodes[$0].hasLeft } }

    /// What `observer`'s core holds about `subject`; nil if it is down or does not know the subject.
    public func view(of observer: Int, about subject: Int) -> Member? {
        core(of: observer)?.members[nodes[subject].id]
    }

    /// How many of `observers` (default: every running node but the subject) see `subject` in `state`.
    public func count(seeing subject: Int, as state: MemberState, among observers: [Int]? = nil) -> Int {
        let id = nodes[subject].id
        var count = 0
        for observer in observers ?? runningNodes where observer != subject {
            if core(of: observer)?.members[id]?.state == state { count += 1 }
        }
        return count
    }

    /// True when each of `observers` sees each of `subjects` (other than itself) in one of `states`. Stops at
    /// the first that does not, so checking an unconverged mesh is cheap.
    public func everyone(in observers: [Int], sees subjects: [Int], as states: MemberState...) -> Bool {
        let ids = subjects.map { nodes[$0].id }
        for observer in observers {
            guard let members = core(of: observer)?.members else { return false }
            if members.count < ids.count - 1 { return false }
            for (subject, id) in zip(subjects, ids) where subject != observer {
                guard let state = members[id]?.state, states.contains(state) else { return false }
            }
        }
        return true
    }

    /// Every live node sees every other live node alive.
    public var isConverged: Bool {
        let live = liveNodes
        return everyone(in: live, sees: live, as: .alive)
    }

    /// Traffic summed over all nodes.
    public var totalCounters: NodeCounters {
        nodes.reduce(into: NodeCounters()) { total, node in
            total.packetsSent += node.counters.packetsSent
            total.bytesSent += node.counters.bytesSent
            total.packetsReceived += node.counters.packetsReceived
            total.bytesReceived += node.counters.bytesReceived
            total.packetsLost += node.counters.packetsLost
            total.packetsDroppedWhileDown += node.counters.packetsDroppedWhileDown
        }
    }
}
