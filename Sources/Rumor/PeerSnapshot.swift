import RumorWire

/// The peers a node knew when it last ran, kept in `HOME/NAME/peers.snapshot`, so a restarted node finds its
/// mesh again without `--join` and resumes above its last incarnation. One JSON object per line; the decoder
/// skips lines it cannot read rather than refusing to start.
struct PeerSnapshot: Sendable, Equatable {
    var incarnation: UInt64
    var peers: [AliveClaim]

    var text: String {
        var lines = [JSON.object([("incarnation", .number(Double(incarnation)))]).text]
        for peer in peers {
            lines.append(JSON.object([
                ("id", .string(peer.id.hex)), ("name", .string(peer.name)), ("address", .string(peer.address.description)),
                ("incarnation", .number(Double(peer.incarnation))),
            ]).text)
        }
        return lines.joined(separator: "\n") + "\n"
    }

    static func parse(_ text: String) -> PeerSnapshot {
        var snapshot = PeerSnapshot(incarnation: 0, peers: [])
        for line in text.split(separator: "\n").prefix(100_000) {
            guard case .success(let json) = JSON.parse(Array(line.utf8)) else { continue }
            if let id = json["id"]?.stringValue.flatMap(NodeID.init(hex:)), let name = json["name"]?.stringValue, NodeName.isValid(name),
               let address = json["address"]?.stringValue.flatMap(PeerAddress.init(parsing:)),
               let incarnation = json["incarnation"]?.doubleValue, incarnation >= 0, incarnation < 1e18 {
                snapshot.peers.append(AliveClaim(id: id, incarnation: UInt64(incarnation), name: name, address: address, tags: Tags()))
            } else if let incarnation = json["incarnation"]?.doubleValue, incarnation >= 0, incarnation < 1e18 {
                snapshot.incarnation = UInt64(incarnation)
            }
        }
        return snapshot
    }
}
