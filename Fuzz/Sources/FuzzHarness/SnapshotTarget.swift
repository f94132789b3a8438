@testable import Rumor
import RumorWire

/// `peers.snapshot` (`PeerSnapshot.parse`), and the text forms inside it: `Endpoint`, `PeerAddress` and
/// `NodeID` parsing, tried on every line of the input.
///
/// Invariants: every peer read has a valid name; the snapshot's own text parses back to the same snapshot; an
/// endpoint's, an address's and an id's description parses back to the same value.
public enum SnapshotTarget: FuzzTarget {
    public static let name = "snapshot"

    public static func run(_ input: [UInt8]) throws(Violation) {
        let text = String(decoding: input, as: UTF8.self)
        let snapshot = PeerSnapshot.parse(text)
        for peer in snapshot.peers {
            try require(NodeName.isValid(peer.name), "read a peer named '\(peer.name)'")
        }
        try require(PeerSnapshot.parse(snapshot.text) == snapshot, "the snapshot's text reads back differently:\n\(snapshot.text.prefix(300))")
        for line in text.split(separator: "\n", omittingEmptySubsequences: false).prefix(64) {
            let candidate = String(line)
            if let endpoint = Endpoint(parsing: candidate) {
                try require(Endpoint(parsing: endpoint.description) == endpoint,
                            "endpoint '\(candidate)' describes itself as '\(endpoint.description)', which parses differently")
            }
            if let address = PeerAddress(parsing: candidate) {
                try require(PeerAddress(parsing: address.description) == address, "address '\(candidate)' describes itself as '\(address)'")
                try require(Endpoint(parsing: candidate)?.port == address.port, "address and endpoint disagree on the port of '\(candidate)'")
            }
            if let id = NodeID(hex: candidate) {
                try require(NodeID(hex: id.hex) == id && id.hex.count == 64, "id '\(candidate)' round-trips to '\(id.hex)'")
            }
        }
    }

    public static func seeds() -> [(name: String, bytes: [UInt8])] {
        let snapshot = PeerSnapshot(incarnation: 7, peers: [
            Samples.alive(1, name: "node-1", incarnation: 3),
            Samples.alive(2, name: "node_2", incarnation: 0, address: Samples.ipv6),
        ])
        return [
            ("snapshot", Array(snapshot.text.utf8)),
            ("endpoints", Array("127.0.0.1:7946\n[::1]:0\nlocalhost:65535\n[fe80::1%eth0]:7946\n::1:80\n".utf8)),
            ("mixed", Array(("{\"incarnation\":1e17}\n" + Samples.id(9).hex + "\n{\"id\":\"x\"}\n[::ffff:10.0.0.1]:1\n").utf8)),
        ]
    }
}
