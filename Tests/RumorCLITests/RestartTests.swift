#if canImport(Glibc)
import Glibc
#endif
import Testing

/// A crash leaves files behind; neither the CLI nor the next start may trip over them.
@Suite("Restarting after a crash", .timeLimit(.minutes(1)))
struct RestartTests {
    @Test("after SIGKILL, commands exit 69 at once; the same name restarts without --join and is alive again")
    func restartAfterKill() throws {
        let home = try RumorHome()
        defer { home.shutdown() }
        let first = try home.start("a")
        let victim = try home.start("b", join: [first.listen])
        try home.waitUntil(["a", "b"], see: ["a", "b"], within: .seconds(5))
        let incarnation = try #require(try home.peers(of: "a").named("b")?.incarnation)

        #expect(kill(victim.pid, SIGKILL) == 0)
        #expect(victim.exitStatus(within: .seconds(5)) != nil)
        // What launching a command costs on this machine right now, so that the bound below holds on a loaded one.
        let launchCost = try home.rumor(["--version"]).elapsed
        let stale = try home.client("status", node: "b", timeout: .seconds(20))
        CommandErrorTests.expectRefusal(stale, code: 69, mentioning: "not running")
        #expect(stale.elapsed < launchCost + .seconds(2),
                "a stale control socket must be refused at once, not waited on (took \(stale.elapsed), --version \(launchCost))")

        // No --join: the node rejoins the peers it remembered.
        let restarted = try home.start("b")
        #expect(restarted.id == victim.id, "the identity must survive the crash")
        let seen = try eventually("a seeing the restarted b alive at a higher incarnation", within: .seconds(15)) { () throws -> Probe<PeerRow> in
            let row = try home.peers(of: "a").named("b")
            guard let row, row.state == "alive", row.incarnation > incarnation else { return .pending("b is \(row.map { "\($0.state) at incarnation \($0.incarnation)" } ?? "absent")") }
            return .met(row)
        }
        #expect(seen.address == restarted.listen)
        try home.waitUntil(["a", "b"], see: ["a", "b"], within: .seconds(5))
    }
}
