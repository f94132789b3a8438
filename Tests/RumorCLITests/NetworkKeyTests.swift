import Testing

/// The network key is the mesh's membership card: a node holding another one is not let in and learns nothing.
@Suite("Nodes with a foreign network key", .timeLimit(.minutes(1)))
struct NetworkKeyTests {
    @Test("a node with another --network-key never appears in a peer table, hears nothing back, and is counted as unknown_key")
    func foreignKeyIsShutOut() throws {
        let home = try RumorHome()
        defer { home.shutdown() }
        let first = try home.start("node1")
        let second = try home.start("node2", join: [first.listen])
        try home.waitUntil(["node1", "node2"], see: ["node1", "node2"], within: .seconds(5))

        let keyPath = home.path + "/other.key"
        let keygen = try home.rumor(["keygen", "--out", keyPath])
        #expect(keygen.exitCode == 0, "\(keygen)")
        let keyID = try #require(keygen.stdout.split(separator: " ").first?.split(separator: "=").last.map(String.init))

        _ = try home.start("intruder", join: [first.listen, second.listen], options: ["--network-key", keyPath])
        try eventually("node1 and node2 counting the intruder's datagrams as unknown_key", within: .seconds(30)) { () throws -> Probe<Void> in
            let counts = try ["node1", "node2"].map { counter(try home.status(of: $0), "dropped.unknown_key") ?? 0 }
            return counts.allSatisfy { $0 > 0 } ? .met(()) : .pending("dropped.unknown_key \(counts)")
        }

        // The intruder keeps retrying its seeds; for two seconds nobody may let it in.
        try throughout(.seconds(2), every: .milliseconds(250)) {
            for member in ["node1", "node2"] {
                let rows = try home.peers(of: member)
                #expect(rows.map(\.name).sorted() == ["node1", "node2"], "\(member) lists \(rows.summary)")
                // Alive, or briefly suspect on a loaded machine: the claim here is about who is in the table.
                #expect(rows.allSatisfy { $0.state == "alive" || $0.state == "suspect" }, "\(member) lists \(rows.summary)")
            }
            let own = try home.peers(of: "intruder")
            #expect(own.map(\.name) == ["intruder"] && own.first?.isSelf == true, "the intruder lists \(own.summary)")
        }

        let intruder = try home.status(of: "intruder")
        #expect(intruder["network_key_id"] as? String == keyID, "the intruder must run on the key keygen printed")
        #expect(counter(intruder, "members.total") == 1)
        #expect(counter(intruder, "datagrams.in") == 0, "members must not answer a foreign key: \(intruder)")
        for member in ["node1", "node2"] {
            let status = try home.status(of: member)
            #expect(status["network_key_id"] as? String != keyID)
            #expect(counter(status, "members.total") == 2)
            #expect((counter(status, "dropped.unknown_key") ?? 0) > 0)
            #expect(counter(status, "dropped.auth_failed") == 0, "a foreign key must be told apart by its id, not by failed decryption")
        }
    }
}
