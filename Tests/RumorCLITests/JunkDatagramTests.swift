import Testing

/// Whatever arrives at the UDP port, a node counts it, drops it, and keeps serving the mesh.
@Suite("Junk datagrams", .timeLimit(.minutes(1)))
struct JunkDatagramTests {
    /// Datagram types: 2 and 3 are handshakes sealed under the network key (header: version, type, key id (4),
    /// nonce (24)); 4 is a transport datagram (header: version, type, reserved (2), session index (4), counter (8)).
    static let nonceSize = 24
    static let initiationSize = 30 + 172 + 16
    static let maxDatagramSize = 1200

    struct Batch {
        let reason: String
        let datagrams: [[UInt8]]
    }

    static func sealedHeader(version: UInt8 = 1, type: UInt8 = 2, keyID: [UInt8]) -> [UInt8] {
        [version, type] + keyID + randomBytes(nonceSize)
    }

    static func transportHeader() -> [UInt8] { [1, 4, 0, 0] + randomBytes(12) }

    static func batches(keyID: [UInt8]) -> (random: [[UInt8]], classified: [Batch]) {
        var foreignKey = keyID
        foreignKey[0] ^= 0x5A
        // Forged initiations come from one address, whose handshake budget is a burst of 40: stay below it.
        let initiation = { (key: [UInt8]) in sealedHeader(keyID: key) + randomBytes(initiationSize - 30) }
        return (
            random: (0..<200).map { _ in [UInt8.random(in: 2...255)] + randomBytes(Int.random(in: 0...maxDatagramSize - 1)) },
            classified: [
                // A transport datagram needs its 16-byte header and a 16-byte tag: every shorter prefix is short.
                Batch(reason: "short", datagrams: [[], [1]] + (2..<32).map { Array(([1, 4] + randomBytes(40)).prefix($0)) }),
                Batch(reason: "oversize", datagrams: (0..<10).map { _ in transportHeader() + randomBytes(Int.random(in: maxDatagramSize...4000)) }),
                Batch(reason: "bad_version", datagrams: (0..<20).map { _ in [2, 4] + randomBytes(100) }),
                Batch(reason: "bad_type", datagrams: (0..<20).map { _ in [1, 7] + randomBytes(100) } + (0..<10).map { _ in [1, 1] + randomBytes(200) }),
                Batch(reason: "unknown_session", datagrams: (0..<50).map { _ in transportHeader() + randomBytes(Int.random(in: 16...1000)) }),
                Batch(reason: "unknown_key", datagrams: (0..<15).map { _ in initiation(foreignKey) }),
                Batch(reason: "auth_failed", datagrams: (0..<15).map { _ in initiation(keyID) }),
            ]
        )
    }

    @Test("random, truncated, oversized and forged datagrams are counted as dropped and the mesh keeps working")
    func junkIsCountedAndHarmless() throws {
        let home = try RumorHome()
        defer { home.shutdown() }
        let target = try home.start("target")
        _ = try home.start("node2", join: [target.listen])
        _ = try home.start("node3", join: [target.listen])
        let names = ["node2", "node3", "target"]
        try home.waitUntil(names, see: names, within: .seconds(5))

        let before = try home.status(of: "target")
        let keyHex = try #require(before["network_key_id"] as? String)
        let keyID = stride(from: 0, to: 8, by: 2).compactMap { offset in
            UInt8(keyHex.dropFirst(offset).prefix(2), radix: 16)
        }
        try #require(keyID.count == 4, "network_key_id is not 8 hex digits: \(keyHex)")

        let (random, classified) = Self.batches(keyID: keyID)
        let socket = try DatagramSocket()
        let dropBaseline = counter(before, "dropped.total") ?? 0
        // The kernel may drop a few datagrams before the node reads them: at least 90% must be counted. They go
        // out a few dozen at a time, each group once the node has counted the ones before, so that a node
        // descheduled on a loaded machine does not see its receive buffer overflow with the whole lot.
        var sent = 0
        var after = before
        for group in stride(from: 0, to: random.count, by: 50).map({ Array(random[$0..<min($0 + 50, random.count)]) }) + classified.map(\.datagrams) {
            for datagram in group { try socket.send(datagram, toLoopbackPort: target.port) }
            sent += group.count
            let needed = sent * 9 / 10
            after = try eventually("target counting \(needed) of \(sent) junk datagrams", within: .seconds(30)) { () throws -> Probe<[String: Any]> in
                let status = try home.status(of: "target")
                let dropped = (counter(status, "dropped.total") ?? 0) - dropBaseline
                return dropped >= needed ? .met(status) : .pending("dropped.total rose by \(dropped)")
            }
        }
        let needed = sent * 9 / 10
        // A fresh look, so that datagrams counted after the threshold was crossed count per reason too.
        let settled = try home.status(of: "target")
        print("junk datagrams: sent \(sent), dropped.total rose by \((counter(settled, "dropped.total") ?? 0) - dropBaseline); "
            + classified.map { "\($0.reason) +\((counter(settled, "dropped." + $0.reason) ?? 0) - (counter(before, "dropped." + $0.reason) ?? 0))" }.joined(separator: " "))
        for batch in classified {
            let rise = (counter(settled, "dropped." + batch.reason) ?? 0) - (counter(before, "dropped." + batch.reason) ?? 0)
            #expect(rise >= batch.datagrams.count * 9 / 10, "dropped.\(batch.reason) rose by \(rise) for \(batch.datagrams.count) such datagrams")
        }
        #expect((counter(after, "datagrams.in") ?? 0) - (counter(before, "datagrams.in") ?? 0) >= needed)
        #expect(counter(settled, "dropped.malformed") == counter(before, "dropped.malformed"), "junk cannot authenticate, so nothing is malformed")
        #expect(counter(settled, "dropped.rate_limited") == counter(before, "dropped.rate_limited"), "30 forged initiations stay within one address's budget")

        let send = try home.client("send", node: "node2", ["target", "still standing"])
        #expect(send.exitCode == 0, "\(send)")
        try home.waitUntil(names, see: names, within: .seconds(10))
    }
}
