import RumorWire

/// The peer table: members by id, keeping current as rows change the two facts the protocol asks on every
/// packet — how many members are active (the n of every log n) and who goes by a name — so that neither
/// costs a scan of the table. A 1,000-member join made those scans most of a node's work.
struct PeerTable: Sendable {
    private(set) var rows: [NodeID: Member] = [:]
    /// Members alive or suspect.
    private(set) var activeCount = 0
    /// Who goes by each name: one id almost always, so the rare second holder of a name (a conflict, or a
    /// restart under a new identity) is kept apart, rather than an array allocated for every member.
    private var idByName: [String: NodeID] = [:]
    private var moreIDsByName: [String: [NodeID]] = [:]

    subscript(id: NodeID) -> Member? {
        get { rows[id] }
        set {
            let old = newValue.map { rows.updateValue($0, forKey: id) } ?? rows.removeValue(forKey: id)
            if old?.state.isActive == true { activeCount -= 1 }
            if newValue?.state.isActive == true { activeCount += 1 }
            guard old?.name != newValue?.name else { return }
            if let name = old?.name { unindex(id, named: name) }
            if let name = newValue?.name { index(id, named: name) }
        }
    }

    private mutating func index(_ id: NodeID, named name: String) {
        if idByName[name] == nil {
            idByName[name] = id
        } else {
            moreIDsByName[name, default: []].append(id)
        }
    }

    private mutating func unindex(_ id: NodeID, named name: String) {
        if idByName[name] == id {
            // The first of the others, if any, takes the main slot.
            if var others = moreIDsByName.removeValue(forKey: name), !others.isEmpty {
                idByName[name] = others.removeFirst()
                if !others.isEmpty { moreIDsByName[name] = others }
            } else {
                idByName[name] = nil
            }
        } else if var others = moreIDsByName.removeValue(forKey: name) {
            others.removeAll { $0 == id }
            if !others.isEmpty { moreIDsByName[name] = others }
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
    func ids(named name: String) -> [NodeID] {
        guard let first = idByName[name] else { return [] }
        guard let others = moreIDsByName[name] else { return [first] }
        return ([first] + others).sorted()
    }
}
