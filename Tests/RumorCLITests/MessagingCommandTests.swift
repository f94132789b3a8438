import Foundation
import Testing

/// `send --lines`, `inbox` and `tags`: the messaging and tagging commands scripts lean on.
@Suite struct MessagingCommandTests {
    @Test(.timeLimit(.minutes(5)))
    func thousandLinesArriveOnceEachAndInOrder() throws {
        let home = try RumorHome()
        defer { home.shutdown() }
        try home.startPair()
        let watcher = try home.watch("b", syncingWith: "a")

        let lines = (1...1000).map { "line \($0) ✓" }
        let result = try home.rumor(["send", "--home", home.path, "--node", "a", "b", "--lines", "--json"],
                                    input: Array((lines.joined(separator: "\n") + "\n").utf8))
        #expect(result.exitCode == 0, "\(result)")
        let summary = try result.json() as? [String: Any]
        #expect(summary?["sent"] as? Int == 1000)
        #expect(summary?["acknowledged"] as? Int == 1000)
        #expect(summary?["failed"] as? Int == 0)

        _ = try watcher.next(within: .seconds(10)) { $0["text"] as? String == "line 1000 ✓" }
        let received = watcher.messages(from: "a").compactMap { $0["text"] as? String }.filter { $0.hasPrefix("line ") }
        #expect(received.count == 1000, "received \(received.count) of 1000")
        #expect(received == lines, "the lines arrived out of order or duplicated")
    }

    @Test(.timeLimit(.minutes(1)))
    func linesToAnUnknownPeerFailWithTheDataErrorCode() throws {
        let home = try RumorHome()
        defer { home.shutdown() }
        _ = try home.start("a")
        let result = try home.rumor(["send", "--home", home.path, "--node", "a", "nobody", "--lines", "--json"], input: Array("x\ny\n".utf8))
        #expect(result.exitCode == 65, "\(result)")
        let summary = try result.json() as? [String: Any]
        #expect(summary?["acknowledged"] as? Int == 0)
        #expect(summary?["failed"] as? Int == 2)
    }

    @Test(.timeLimit(.minutes(1)))
    func messagesWaitInTheInboxWhileNobodyWatches() throws {
        let home = try RumorHome()
        defer { home.shutdown() }
        try home.startPair()
        for index in 1...3 {
            let sent = try home.client("send", node: "a", ["b", "inbox \(index)"])
            #expect(sent.exitCode == 0, "\(sent)")
        }
        let inbox = try home.client("inbox", node: "b", ["--json"])
        #expect(inbox.exitCode == 0, "\(inbox)")
        let texts = inbox.stdout.split(separator: "\n").compactMap { line in
            (try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])?["text"] as? String
        }
        #expect(texts == ["inbox 1", "inbox 2", "inbox 3"])
        // --clear empties it after showing.
        #expect(try home.client("inbox", node: "b", ["--json", "--clear"]).stdout.split(separator: "\n").count == 3)
        #expect(try home.client("inbox", node: "b", ["--json"]).stdout.isEmpty)
    }

    /// `watch` asks for the events since its own start (to close the race of `watch &` then `send`), so a
    /// message that arrived before it started is not shown, and stays in the inbox.
    @Test(.timeLimit(.minutes(1)))
    func aWatchShowsNothingFromBeforeItStarted() throws {
        let home = try RumorHome()
        defer { home.shutdown() }
        try home.startPair()
        let sent = try home.client("send", node: "a", ["b", "early"])
        #expect(sent.exitCode == 0, "\(sent)")
        let watcher = try home.watch("b", syncingWith: "a")
        let late = try home.client("send", node: "a", ["b", "late"])
        #expect(late.exitCode == 0, "\(late)")
        #expect(try watcher.next(within: .seconds(5)) { $0["text"] as? String == "late" } != nil)
        #expect(!watcher.events.contains { $0["text"] as? String == "early" }, "\(watcher.events)")
        let inbox = try home.client("inbox", node: "b", ["--json"])
        let texts = inbox.stdout.split(separator: "\n").compactMap { line in
            (try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])?["text"] as? String
        }
        #expect(texts.filter { !$0.hasPrefix("watch-sync-") } == ["early"], "\(inbox)")
    }

    /// A watch started in the background of a script can reach `main` after a message sent just behind it was
    /// acknowledged: on a loaded machine, or behind a wrapper script that execs it. The process already existed,
    /// so the message is after its start and must be shown.
    @Test(.timeLimit(.minutes(1)))
    func aWatchThatReachesMainLateStillShowsAMessageSentAfterItsProcessStarted() throws {
        let home = try RumorHome()
        defer { home.shutdown() }
        try home.startPair()
        let gate = Pipe()
        let command = try home.launchShell(#"read go; exec "$0" watch --home "$1" --node b --json"#, input: gate)
        // The kernel's start time counts 10 ms ticks and the watch rounds it up: let the tick end first, so the
        // message below arrives after the start time the watch can know, not merely after the real one.
        usleep(30_000)
        let sent = try home.client("send", node: "a", ["b", "while-loading"])
        #expect(sent.exitCode == 0, "\(sent)")
        gate.fileHandleForWriting.write(Data("go\n".utf8))
        let watcher = Watcher(command)
        #expect(try watcher.next(within: .seconds(10)) { $0["text"] as? String == "while-loading" } != nil, "\(watcher.events)")
    }

    @Test(.timeLimit(.minutes(1)))
    func aFullInboxDropsTheOldestAndCountsThem() throws {
        let home = try RumorHome()
        defer { home.shutdown() }
        try home.startPair()
        let lines = (1...1030).map { "m\($0)" }
        let sent = try home.rumor(["send", "--home", home.path, "--node", "a", "b", "--lines"], input: Array((lines.joined(separator: "\n") + "\n").utf8))
        #expect(sent.exitCode == 0, "\(sent)")
        let inbox = try home.client("inbox", node: "b", ["--json"])
        let texts = inbox.stdout.split(separator: "\n").compactMap { line in
            (try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])?["text"] as? String
        }
        #expect(texts.count == 1024)
        #expect(texts.first == "m7", "the 6 oldest should have been dropped")
        #expect(texts.last == "m1030")
        let status = try home.status(of: "b")
        #expect((status["inbox"] as? [String: Any])?["dropped"] as? Int == 6)
    }

    @Test(.timeLimit(.minutes(1)))
    func tagsSetAtRunTimeAreGossipedToPeers() throws {
        let home = try RumorHome()
        defer { home.shutdown() }
        try home.startPair(options: ["--tag", "role=seed"])
        let changed = try home.client("tags", node: "a", ["--set", "zone=blue", "--delete", "role", "--json"])
        #expect(changed.exitCode == 0, "\(changed)")
        #expect((try changed.json() as? [String: String]) == ["zone": "blue"])
        try eventually("b seeing a's new tags", within: .seconds(10)) { () throws -> Probe<Void> in
            let row = try home.peers(of: "b").first { $0.name == "a" }
            return row?.tags == ["zone": "blue"] ? .met(()) : .pending("b sees \(String(describing: row?.tags))")
        }
        let refused = try home.client("tags", node: "a", ["--set", "=x"])
        #expect(refused.exitCode == 64, "\(refused)")
    }
}

@Suite struct BroadcastCommandTests {
    @Test(.timeLimit(.minutes(5)))
    func aBroadcastFromOneOfTenNodesIsSeenExactlyOnceByAllTenWatchers() throws {
        let home = try RumorHome()
        defer { home.shutdown() }
        let seed = try home.start("node1")
        let names = (1...10).map { "node\($0)" }
        for name in names.dropFirst() { _ = try home.start(name, join: [seed.listen]) }
        for name in names {
            let waited = try home.client("wait", node: name, ["--alive", "10", "--timeout", "15"])
            #expect(waited.exitCode == 0, "\(waited)")
        }
        let watchers = try names.map { try home.watch($0, syncingWith: $0 == "node1" ? "node2" : "node1") }

        let sent = try home.client("broadcast", node: "node4", ["one to all ✓", "--json"])
        #expect(sent.exitCode == 0, "\(sent)")
        // A fence after it: once every watcher shows the fence, the broadcast had its chance to arrive twice.
        for watcher in watchers {
            _ = try watcher.next(within: .seconds(10)) { $0["kind"] as? String == "broadcast" && $0["text"] as? String == "one to all ✓" }
        }
        #expect(try home.client("broadcast", node: "node7", ["fence"]).exitCode == 0)
        for (name, watcher) in zip(names, watchers) {
            _ = try watcher.next(within: .seconds(10)) { $0["text"] as? String == "fence" }
            let copies = watcher.events.filter { $0["kind"] as? String == "broadcast" && $0["text"] as? String == "one to all ✓" }
            #expect(copies.count == 1, "\(name) saw the broadcast \(copies.count) times")
            #expect(copies.first?["from"] as? String == "node4")
        }
    }

    @Test(.timeLimit(.minutes(1)))
    func aBroadcastAboveEightKibibytesIsRefusedWithTheDataErrorCode() throws {
        let home = try RumorHome()
        defer { home.shutdown() }
        _ = try home.start("a")
        let path = home.path + "/big"
        #expect(FileManager.default.createFile(atPath: path, contents: Data(repeating: 65, count: 8193)))
        let refused = try home.client("broadcast", node: "a", ["--file", path])
        #expect(refused.exitCode == 65, "\(refused)")
        #expect(refused.hasOneStderrLine)
    }
}

@Suite struct UnreliableAndLimitTests {
    @Test(.timeLimit(.minutes(1)))
    func anUnreliableSendArrivesAsADatagramAndOversizedBodiesAreRefused() throws {
        let home = try RumorHome()
        defer { home.shutdown() }
        try home.startPair()
        let watcher = try home.watch("b", syncingWith: "a")
        let sent = try home.client("send", node: "a", ["b", "fire and forget", "--unreliable", "--json"])
        #expect(sent.exitCode == 0, "\(sent)")
        #expect((try sent.json() as? [String: Any])?["acknowledged"] as? Bool == false)
        let event = try watcher.next(within: .seconds(5)) { $0["text"] as? String == "fire and forget" }
        #expect(event?["kind"] as? String == "datagram")

        let big = home.path + "/big"
        #expect(FileManager.default.createFile(atPath: big, contents: Data(repeating: 66, count: 1120)))
        let refused = try home.client("send", node: "a", ["b", "--unreliable", "--file", big])
        #expect(refused.exitCode == 65, "\(refused)")
        #expect(refused.hasOneStderrLine)

        let huge = home.path + "/huge"
        #expect(FileManager.default.createFile(atPath: huge, contents: Data(repeating: 67, count: 65_537)))
        let tooLarge = try home.client("send", node: "a", ["b", "--file", huge])
        #expect(tooLarge.exitCode == 65, "\(tooLarge)")
        #expect(tooLarge.hasOneStderrLine)
        #expect(tooLarge.stderr.contains("65536"), "\(tooLarge.stderr)")
        let largest = home.path + "/largest"
        #expect(FileManager.default.createFile(atPath: largest, contents: Data((0..<65_536).map { UInt8(truncatingIfNeeded: $0 &* 31) })))
        let fits = try home.client("send", node: "a", ["b", "--file", largest])
        #expect(fits.exitCode == 0, "\(fits)")
        let arrived = try watcher.next(within: .seconds(10)) { $0["bytes"] as? Int == 65_536 }
        let data = (arrived?["data"] as? String).flatMap { Data(base64Encoded: $0) }
        #expect(data == Data((0..<65_536).map { UInt8(truncatingIfNeeded: $0 &* 31) }), "the 64 KiB message arrived altered")
    }
}
