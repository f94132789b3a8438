import RumorWire

/// The peer table: members by id, keeping current as rows change the two facts the protocol asks on every
/// packet — how many members are active (the n of every log n) and who goes by a name — so that neither
/// costs a scan of the table. A 1,000-member join made those scans most of a node's work.
struct PeerTable: Sendable {
    private(set) var rows: [NodeID: Member] = [:]
    /// Members alive or suspect.
    private(set) var activeCount = 0
    private var idsByName: [String: [NodeID]] = [:]

    subscript(id: NodeID) -> Member? {
        get { rows[id] }
        set {
            let old = newValue.map { rows.updateValue($0, forKey: id) } ?? rows.removeValue(forKey: id)
            if old?.state.isActive == true { activeCount -= 1 }
            if newValue?.state.isActive == true { activeCount += 1 }
            guard old?.name != newValue?.name else { return }
            if let name = old?.name {
                idsByName[name]?.removeAll { $0 == id }
                if idsByName[name]?.isEmpty == true { idsByName[name] = nil }
            }
            if let name = newValue?.name { idsByName[name, default: []].append(id) }
        }
    }

    /// Records that `id` was just heard from `source`: in place, without the setter's bookkeeping, which neither
    /// fact touches (this runs for every packet). A member that claims the unspecified address is reached where
    /// its own packets come from. Returns false when `id` has no row.
    @discardableResult
    mutating func heard(_ id: NodeID, at now: Instant, from source: PeerAddress) -> Bool {
        guard let index = rows.index(forKey: id) else { return false }
        rows.values[index].lastHeard = now
        if let claimed = rows.values[index].signedClaim?.address, claimed.isUnspecified, !source.isUnspecified {
            rows.values[index].address = source.withPort(claimed.port)
        }
        return true
    }

    /// Rows held, this node included.
    var count: Int { rows.count }

    /// The ids of the members that go by `name`, lowest first (usually one, or none).
    func ids(named name: String) -> [NodeID] { (idsByName[name] ?? []).sorted() }
}
