import Foundation
import Testing

/// The headline contract, on the default profile: five nodes that only know a seed find each other, and a
/// message crosses between two nodes that never joined each other, byte for byte.
@Suite("Five-node mesh on the default profile", .timeLimit(.minutes(1)))
struct FiveNodeMeshTests {
    static let names = (1...5).map { "node\($0)" }

    @Test("every node lists all five alive within 5 s, and direct messages arrive once and byte-exact")
    func membershipAndMessages() throws {
        let home = try RumorHome()
        defer { home.shutdown() }

        let firstStart = ContinuousClock.now
        let seed = try home.start("node1", profile: nil, options: ["--tag", "role=seed"])
        var nodes = [seed]
        for name in Self.names.dropFirst() { nodes.append(try home.start(name, join: [seed.listen], profile: nil)) }
        let allStarted = ContinuousClock.now

        // All five `rumor wait`s run at once; the slowest one sets the time to full membership.
        let waits = try Self.names.map { try home.launch(["wait", "--home", home.path, "--node", $0, "--alive", "5", "--timeout", "5"]) }
        for (name, wait) in zip(Self.names, waits) {
            let result = try wait.finish(timeout: .seconds(10))
            #expect(result.exitCode == 0, "\(name) did not see 5 members alive within 5 s: \(result)")
        }
        let fullMembership = ContinuousClock.now - allStarted
        print("five nodes, default profile: full membership \(format(fullMembership)) after the last node was ready "
            + "(\(format(.now - firstStart)) after the seed started)")
        #expect(fullMembership < .seconds(5))

        for node in nodes {
            let rows = try home.peers(of: node.name)
            #expect(rows.map(\.name).sorted() == Self.names, "\(node.name) lists \(rows.summary)")
            #expect(rows.filter(\.isSelf).map(\.name) == [node.name], "\(node.name) must mark itself, and only itself, as self")
            for row in rows {
                let truth = try #require(nodes.first { $0.name == row.name })
                #expect(row.state == "alive", "\(node.name) sees \(row.name) \(row.state)")
                #expect(row.id == truth.id, "\(node.name) has the wrong id for \(row.name)")
                #expect(row.address == truth.listen, "\(node.name) has the wrong address for \(row.name)")
                #expect(row.incarnation >= 1)
                #expect(row.tags == (row.name == "node1" ? ["role": "seed"] : [:]), "\(node.name) sees \(row.name)'s tags as \(row.tags)")
            }
        }

        try directMessagesCrossTheMesh(home, from: nodes[1], to: nodes[4])
    }

    /// node2 and node5 only know each other through gossip; every body arrives exactly once, unchanged.
    func directMessagesCrossTheMesh(_ home: RumorHome, from sender: NodeProcess, to receiver: NodeProcess) throws {
        let watcher = try home.watch(receiver.name, syncingWith: "node1")

        let text = "Grüße aus Zürich — 東京 🌍 \"quoted\" ✓"
        let textResult = try home.client("send", node: sender.name, [receiver.name, text])
        #expect(textResult.exitCode == 0, "\(textResult)")
        #expect(textResult.stdout.hasPrefix("acknowledged peer=\(receiver.name) bytes=\(text.utf8.count) "), "\(textResult)")

        // Binary, and larger than one datagram, so that it travels in fragments.
        let binary = randomBytes(3000, binary: true)
        let blobPath = home.path + "/blob.bin"
        try Data(binary).write(to: URL(fileURLWithPath: blobPath))
        let binaryResult = try home.client("send", node: sender.name, [receiver.name, "--file", blobPath])
        #expect(binaryResult.exitCode == 0, "\(binaryResult)")

        let prefixText = "addressed by id prefix ✓"
        let prefix = String(receiver.id.prefix(10))
        let prefixResult = try home.client("send", node: sender.name, [prefix, prefixText])
        #expect(prefixResult.exitCode == 0, "\(prefixResult)")
        #expect(prefixResult.stdout.hasPrefix("acknowledged peer=\(receiver.name) "), "\(prefixResult)")

        // A last message fences the stream: once it is in, a duplicate of an earlier one would have shown up.
        let fence = try home.client("send", node: sender.name, [receiver.name, "fence"])
        #expect(fence.exitCode == 0, "\(fence)")
        _ = try #require(try watcher.next(within: .seconds(5)) { $0["from"] as? String == sender.name && $0["text"] as? String == "fence" },
                         "the fence message never reached the watcher")

        let received = watcher.messages(from: sender.name)
        #expect(received.count == 4, "expected exactly 4 messages from \(sender.name), got \(received)")
        let expected: [(body: [UInt8], text: String?)] = [(Array(text.utf8), text), (binary, nil), (Array(prefixText.utf8), prefixText),
                                                         (Array("fence".utf8), "fence")]
        for (event, message) in zip(received, expected) {
            expectMessage(event, from: sender, body: message.body, text: message.text)
        }
    }

    func expectMessage(_ event: [String: Any], from sender: NodeProcess, body: [UInt8], text: String?,
                       sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(event["event"] as? String == "message", sourceLocation: sourceLocation)
        #expect(event["from"] as? String == sender.name, sourceLocation: sourceLocation)
        #expect(event["from_id"] as? String == sender.id, sourceLocation: sourceLocation)
        #expect(event["kind"] as? String == "direct", sourceLocation: sourceLocation)
        if let text {
            #expect(event["text"] as? String == text, "text of \(event)", sourceLocation: sourceLocation)
        } else {
            #expect(event["text"] is NSNull, "a binary body must have \"text\": null, got \(event["text"] ?? "nothing")", sourceLocation: sourceLocation)
        }
        let data = event["data"] as? String
        #expect(data == base64(body), sourceLocation: sourceLocation)
        #expect(data.flatMap { Data(base64Encoded: $0) }.map(Array.init) == body, "data must decode to the exact bytes sent", sourceLocation: sourceLocation)
        #expect(event["bytes"] as? Int == body.count, sourceLocation: sourceLocation)
    }
}
