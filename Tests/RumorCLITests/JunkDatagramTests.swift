import Testing

/// Whatever arrives at the UDP port, a node counts it, drops it, and keeps serving the mesh.
@Suite("Junk datagrams", .timeLimit(.minutes(1)))
struct JunkDatagramTests {
    /// The sealed header is version, type, key id (4 bytes), nonce (24 bytes); see `SealedPacket`.
    static let nonceSize = 24
    /// Header (30), sender id (32), one empty frame (3) and the AEAD tag (16): anything shorter is `short`.
    static let minimumSealedSize = 81
    static let maxDatagramSize = 1200

    struct Batch {
        let reason: String
        let datagrams: [[UInt8]]
    }

    static func header(version: UInt8 = 1, type: UInt8 = 1, keyID: [UInt8]) -> [UInt8] {
        [version, type] + keyID + randomBytes(nonceSize)
    }

    /// Random bodies behind plausible headers, of lengths that pass the size checks.
    static func forged(_ count: Int, header make: () -> [UInt8]) -> [[UInt8]] {
        (0..<count).map { _ in make() + randomBytes(Int.random(in: minimumSealedSize...maxDatagramSize - 30)) }
    }

    static func batches(keyID: [UInt8]) -> (random: [[UInt8]], classified: [Batch]) {
        var foreignKey = keyID
        foreignKey[0] ^= 0x5A
        return (
            random: (0..<200).map { _ in randomBytes(Int.random(in: 1...maxDatagramSize)) },
            classified: [
                // Truncations of a datagram sealed under the node's own key: every prefix, the empty one included.
                Batch(reason: "short", datagrams: (0..<minimumSealedSize).map { Array((header(keyID: keyID) + randomBytes(maxDatagramSize)).prefix($0)) }),
                Batch(reason: "oversize", datagrams: (0..<10).map { _ in header(keyID: keyID) + randomBytes(Int.random(in: maxDatagramSize...4000)) }),
                Batch(reason: "bad_version", datagrams: forged(20) { header(version: 2, keyID: keyID) }),
                Batch(reason: "bad_type", datagrams: forged(20) { header(type: 7, keyID: keyID) }),
                Batch(reason: "unknown_key", datagrams: forged(50) { header(keyID: foreignKey) }),
                Batch(reason: "auth_failed", datagrams: forged(50) { header(keyID: keyID) }),
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
        for datagram in random + classified.flatMap(\.datagrams) { try socket.send(datagram, toLoopbackPort: target.port) }
        let sent = random.count + classified.reduce(0) { $0 + $1.datagrams.count }
        let dropBaseline = counter(before, "dropped.total") ?? 0
        // The kernel may drop a few datagrams before the node reads them: at least 90% must be counted.
        let needed = sent * 9 / 10

        let after = try eventually("target counting \(needed) of \(sent) junk datagrams", within: .seconds(5)) { () throws -> Probe<[String: Any]> in
            let status = try home.status(of: "target")
            let dropped = (counter(status, "dropped.total") ?? 0) - dropBaseline
            return dropped >= needed ? .met(status) : .pending("dropped.total rose by \(dropped)")
        }
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

        let send = try home.client("send", node: "node2", ["target", "still standing"])
        #expect(send.exitCode == 0, "\(send)")
        try home.waitUntil(names, see: names, within: .seconds(3))
    }
}
