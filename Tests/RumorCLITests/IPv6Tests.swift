import Testing

/// Nodes on the IPv6 loopback address: the bracketed address form works end to end.
@Suite("IPv6", .timeLimit(.minutes(1)))
struct IPv6Tests {
    static let loopbackAvailable = DatagramSocket.ipv6LoopbackAvailable()

    @Test("two nodes on [::1] join, see each other alive and exchange a message",
          .enabled(if: loopbackAvailable, "::1 is not configured on this machine: a UDP socket cannot bind [::1]:0"))
    func ipv6Mesh() throws {
        let home = try RumorHome()
        defer { home.shutdown() }
        let first = try home.start("a", listen: "[::1]:0")
        #expect(first.listen.wholeMatch(of: /\[::1\]:[1-9][0-9]*/) != nil, "ready line: \(first.readyLine)")
        let second = try home.start("b", listen: "[::1]:0", join: [first.listen])
        #expect(second.listen.hasPrefix("[::1]:"), "ready line: \(second.readyLine)")

        for node in ["a", "b"] {
            let wait = try home.client("wait", node: node, ["--alive", "2", "--timeout", "5"])
            #expect(wait.exitCode == 0 && wait.stdout == "alive=2\n", "\(wait)")
        }
        try home.waitUntil(["a", "b"], see: ["a", "b"], within: .seconds(2))
        let rows = try home.peers(of: "a")
        #expect(rows.named("b")?.address == second.listen)
        #expect(try home.peers(of: "b").named("a")?.address == first.listen)

        let watcher = try home.watch("a", syncingWith: "b")
        let send = try home.client("send", node: "b", ["a", "over IPv6 ✓"])
        #expect(send.exitCode == 0, "\(send)")
        let event = try #require(try watcher.next(within: .seconds(5)) { $0["text"] as? String == "over IPv6 ✓" }, "the message never reached a's watcher")
        #expect(event["from"] as? String == "b")
        #expect(event["from_id"] as? String == second.id)
    }
}
