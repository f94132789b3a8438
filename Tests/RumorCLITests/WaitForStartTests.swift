import Testing

/// `rumor start NAME &` followed at once by `rumor wait --node NAME` is how a script brings a mesh up: `wait`
/// must wait for the node's control socket as well, not report the node as not running.
@Suite("rumor wait right after a background start", .timeLimit(.minutes(1)))
struct WaitForStartTests {
    @Test("wait issued before the node is up succeeds once it is")
    func waitsForTheNodeToStart() throws {
        let home = try RumorHome()
        defer { home.shutdown() }
        for round in 0..<3 {
            let name = "w\(round)"
            // Launched, not started: no ready line is read, so `wait` runs while the node is still coming up.
            _ = try home.launch(["start", "--home", home.path, "--name", name, "--listen", "127.0.0.1:0", "--profile", "local"])
            let waited = try home.client("wait", node: name, ["--alive", "1", "--timeout", "10"])
            #expect(waited.exitCode == 0, "\(waited)")
            #expect(waited.stdout == "alive=1\n", "\(waited)")
        }
    }

    @Test("a node that never starts is reported as not running (69), after the timeout")
    func nodeThatNeverStarts() throws {
        let home = try RumorHome()
        defer { home.shutdown() }
        let waited = try home.client("wait", node: "absent", ["--alive", "1", "--timeout", "0.5"])
        #expect(waited.exitCode == 69, "\(waited)")
        #expect(waited.stderr.contains("node 'absent' is not running"), "\(waited)")
        #expect(waited.elapsed >= .milliseconds(450), "wait gave up before its timeout: \(waited)")
        let once = try home.client("wait", node: "absent", ["--alive", "1", "--timeout", "0"])
        #expect(once.exitCode == 69, "\(once)")
    }
}
