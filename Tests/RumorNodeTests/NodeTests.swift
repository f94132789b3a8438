#if canImport(Glibc)
import Glibc
#endif
import Rumor
import RumorMembership
import RumorWire
import Testing

/// A temporary home directory, removed when the test ends.
final class TemporaryHome {
    let path: String

    init() throws {
        var template = Array("/tmp/rumor-node-test.XXXXXX".utf8CString)
        let made = template.withUnsafeMutableBufferPointer { buffer -> UnsafeMutablePointer<CChar>? in
            guard let base = buffer.baseAddress else { return nil }
            return mkdtemp(base)
        }
        guard made != nil else { throw RumorError.io("mkdtemp failed") }
        path = String(decoding: template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    deinit {
        // Only our own files live here; remove them without a shell.
        for node in (try? listDirectory(path)) ?? [] {
            let folder = path + "/" + node
            for file in (try? listDirectory(folder)) ?? [] { unlink(folder + "/" + file) }
            rmdir(folder)
            unlink(folder)
        }
        rmdir(path)
    }
}

func listDirectory(_ path: String) throws -> [String] {
    guard let directory = opendir(path) else { return [] }
    defer { closedir(directory) }
    var names: [String] = []
    while let entry = readdir(directory) {
        let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
            String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
        }
        if name != ".", name != ".." { names.append(name) }
    }
    return names
}

func startNode(_ name: String, home: TemporaryHome, join: [PeerAddress] = [], listen: String = "127.0.0.1:0",
               networkKeyPath: String? = nil) throws -> RumorNode {
    var configuration = NodeConfiguration(name: name, home: home.path)
    configuration.listen = try #require(Endpoint(parsing: listen))
    configuration.join = join.map { Endpoint(host: $0.host, port: $0.port) }
    configuration.profile = .local
    configuration.networkKeyPath = networkKeyPath
    return try RumorNode.start(configuration)
}

/// Waits for the first event that `match` accepts, up to `timeout`.
func firstEvent(_ events: AsyncStream<NodeEvent>, timeout: Duration, where match: @escaping @Sendable (NodeEvent) -> Bool) async -> NodeEvent? {
    await withTaskGroup(of: NodeEvent?.self) { group in
        group.addTask {
            for await event in events where match(event) { return event }
            return nil
        }
        group.addTask {
            try? await Task.sleep(for: timeout)
            return nil
        }
        let first = await group.next() ?? nil
        group.cancelAll()
        return first
    }
}

@Suite(.serialized) struct NodeTests {
    @Test func threeNodesMeetThroughGossipAndExchangeAMessageThroughTheLibraryAPI() async throws {
        let home = try TemporaryHome()
        let a = try startNode("a", home: home)
        let b = try startNode("b", home: home, join: [a.listenAddress])
        let c = try startNode("c", home: home, join: [a.listenAddress])
        for node in [a, b, c] { try await node.waitForAlive(3, timeout: .seconds(10)) }

        let inbox = c.events()
        let payload: [UInt8] = Array("héllo, c — from b".utf8) + [0, 255, 1]
        let receipt = try await b.send(payload, to: "c", timeout: .seconds(5))
        #expect(receipt.peer == "c")
        #expect(receipt.peerID == c.id)
        let event = await firstEvent(inbox, timeout: .seconds(30)) { if case .message = $0 { return true } else { return false } }
        guard case .message(let message)? = event else {
            Issue.record("c never received the message")
            return
        }
        #expect(message.data == payload)
        #expect(message.from == "b")
        #expect(message.fromID == b.id)
        #expect(message.text == nil, "the body is not valid UTF-8 (a 0xFF byte), so it has no text form")

        // Sending by a unique id prefix reaches the same node.
        try await b.send(Array("by prefix".utf8), to: String(c.id.hex.prefix(10)), timeout: .seconds(5))

        let watcher = a.events()
        await c.leave()
        let left = await firstEvent(watcher, timeout: .seconds(30)) { event in
            if case .member(let member) = event { return member.name == "c" && member.state == .left }
            return false
        }
        #expect(left != nil, "a did not see c leave")
        await a.stop()
        await b.stop()
    }

    @Test func unknownAndEmptyPeersAreRefusedWithClearErrors() async throws {
        let home = try TemporaryHome()
        let a = try startNode("a", home: home)
        await #expect(throws: RumorError.unknownPeer("nobody")) { try await a.send([1], to: "nobody") }
        await #expect(throws: RumorError.emptyPeer) { try await a.send([1], to: "") }
        await #expect(throws: RumorError.messageTooLarge(65_537, limit: 65_536)) { try await a.send([UInt8](repeating: 0, count: 65_537), to: "a") }
        await a.stop()
    }

    @Test func aSecondStartOfTheSameNameIsRefused() async throws {
        let home = try TemporaryHome()
        let a = try startNode("a", home: home)
        #expect(throws: RumorError.alreadyRunning("a")) { _ = try startNode("a", home: home) }
        await a.stop()
    }

    @Test func junkDatagramsAreDroppedCountedAndTheNodeKeepsServing() async throws {
        let home = try TemporaryHome()
        let a = try startNode("a", home: home)
        let b = try startNode("b", home: home, join: [a.listenAddress])
        try await b.waitForAlive(2, timeout: .seconds(10))

        let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        #expect(fd >= 0)
        defer { close(fd) }
        var target = sockaddr_in()
        target.sin_family = sa_family_t(AF_INET)
        target.sin_port = a.listenAddress.port.bigEndian
        target.sin_addr.s_addr = UInt32(0x7f00_0001).bigEndian
        var rng = SeededRandom(seed: 99)
        func fire(_ bytes: [UInt8]) {
            _ = withUnsafePointer(to: &target) { pointer in
                pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { address in
                    bytes.withUnsafeBytes { sendto(fd, $0.baseAddress, $0.count, 0, address, socklen_t(MemoryLayout<sockaddr_in>.size)) }
                }
            }
        }
        let before = try #require(await a.status()).traffic
        var sent = 0
        for length in [0, 1] { fire([UInt8](repeating: 1, count: length)); sent += 1 }                    // too short
        for length in [1201, 4000] { fire([1, 4] + [UInt8](repeating: 7, count: length - 2)); sent += 1 } // too long
        for _ in 0..<100 { fire([UInt8.random(in: 2...255, using: &rng)] + (0..<200).map { _ in UInt8.random(in: 0...255, using: &rng) }); sent += 1 }
        let keyID = try #require(Hex.decode(a.networkKeyID))
        for _ in 0..<30 {                                               // a handshake under the right key id, forged
            fire([1, 2] + keyID + (0..<212).map { _ in UInt8.random(in: 0...255, using: &rng) })
            sent += 1
        }
        for _ in 0..<100 {                                              // transport datagrams for no session
            fire([1, 4, 0, 0] + (0..<100).map { _ in UInt8.random(in: 0...255, using: &rng) })
            sent += 1
        }
        // The node must count every one of them, once; wait for that, not for a fixed time.
        let after = try await observe { try #require(await a.status()).traffic } until: { $0.droppedTotal - before.droppedTotal >= sent }
        #expect(after.droppedTotal - before.droppedTotal == sent)
        #expect((after.dropped[.short] ?? 0) >= 2)
        #expect((after.dropped[.oversize] ?? 0) >= 2)
        #expect((after.dropped[.authFailed] ?? 0) >= 30)
        #expect((after.dropped[.unknownSession] ?? 0) >= 100)
        // …and still serves the mesh.
        try await b.send(Array("still there?".utf8), to: "a", timeout: .seconds(5))
        #expect(await a.peers().filter { $0.state == .alive }.count == 2)
        await a.stop()
        await b.stop()
    }

    @Test func nodesListeningOnIPv6LoopbackFormAMesh() async throws {
        let probe = socket(AF_INET6, Int32(SOCK_DGRAM.rawValue), 0)
        defer { if probe >= 0 { close(probe) } }
        try #require(probe >= 0, "no IPv6 on this machine")
        let home = try TemporaryHome()
        let a = try startNode("a", home: home, listen: "[::1]:0")
        #expect(a.listenAddress.description.hasPrefix("[::1]:"))
        let b = try startNode("b", home: home, join: [a.listenAddress], listen: "[::1]:0")
        for node in [a, b] { try await node.waitForAlive(2, timeout: .seconds(10)) }
        try await b.send(Array("over v6".utf8), to: "a", timeout: .seconds(5))
        await a.stop()
        await b.stop()
    }

    @Test func aNodeRestartedWithoutJoinFindsItsMeshFromItsSnapshot() async throws {
        let home = try TemporaryHome()
        let a = try startNode("a", home: home)
        var b = try startNode("b", home: home, join: [a.listenAddress])
        // Both sides: b's snapshot must already hold a when b stops.
        for node in [a, b] { try await node.waitForAlive(2, timeout: .seconds(10)) }
        let firstIncarnation = try #require(await b.status()).incarnation
        await b.stop()
        // Same identity, same home, no --join.
        b = try startNode("b", home: home)
        try await b.waitForAlive(2, timeout: .seconds(10))
        let restarted = try #require(await a.peers().first { $0.name == "b" })
        #expect(restarted.state == .alive)
        #expect(restarted.incarnation > firstIncarnation)
        await a.stop()
        await b.stop()
    }
}

@Suite struct RekeyTests {
    @Test func sessionsRekeyOftenWhileMessagesFlowAndNoneIsLost() async throws {
        let home = try TemporaryHome()
        // Rekey by count, so the number of rekeys does not depend on how fast this machine is.
        var settings = LinkSettings()
        settings.rekeyAfterMessages = 40
        func start(_ name: String, join: [PeerAddress]) throws -> RumorNode {
            var configuration = NodeConfiguration(name: name, home: home.path)
            configuration.profile = .local
            configuration.linkSettings = settings
            configuration.join = join.map { Endpoint(host: $0.host, port: $0.port) }
            return try RumorNode.start(configuration)
        }
        let a = try start("a", join: [])
        let b = try start("b", join: [a.listenAddress])
        for node in [a, b] { try await node.waitForAlive(2, timeout: .seconds(10)) }
        let inbox = b.events()
        let collector = Task { () -> [String] in
            var texts: [String] = []
            for await event in inbox {
                if case .message(let message) = event, let text = message.text, text.hasPrefix("rekey ") {
                    texts.append(text)
                    if texts.count == 400 { break }
                }
            }
            return texts
        }
        for index in 1...400 {
            try await a.send(Array("rekey \(index)".utf8), to: "b", timeout: .seconds(5))
        }
        let received = await collector.value
        #expect(received == (1...400).map { "rekey \($0)" })
        // 400 messages and 400 acks (plus membership traffic) at 40 datagrams per session: a rekey roughly every
        // 40 datagrams, started by whichever side sends the 40th.
        let rekeys = try #require(await a.status()).link.rekeys + (try #require(await b.status())).link.rekeys
        #expect(rekeys >= 10, "only \(rekeys) rekeys")
        await a.stop()
        await b.stop()
    }
}
