#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Testing

/// `rumor start` in a terminal or under a supervisor: Ctrl-C and `kill` both mean "leave gracefully".
@Suite("Signals to rumor start", .timeLimit(.minutes(1)))
struct SignalTests {
    enum StopSignal: String, CaseIterable, Sendable {
        case sigterm, sigint

        var number: Int32 { self == .sigterm ? SIGTERM : SIGINT }
    }

    @Test("the node leaves gracefully and exits 0; its peer marks it left, its watcher says so, and its control socket is gone", arguments: StopSignal.allCases)
    func signalLeavesGracefully(_ stopSignal: StopSignal) throws {
        let home = try RumorHome()
        defer { home.shutdown() }
        let first = try home.start("a")
        let second = try home.start("b", join: [first.listen])
        try home.waitUntil(["a", "b"], see: ["a", "b"], within: .seconds(5))
        let socketPath = home.path + "/b/control.sock"
        #expect(FileManager.default.fileExists(atPath: socketPath))
        let watcher = try home.watch("a", syncingWith: "b")

        #expect(kill(second.pid, stopSignal.number) == 0)
        let status = second.exitStatus(within: .seconds(5))
        #expect(status == 0, "\(stopSignal.rawValue): `rumor start` exited \(status.map(String.init) ?? "not at all within 5 s"); log: \(home.log(of: "b"))")
        #expect(second.process.terminationReason == .exit, "the process must exit, not die of the signal")
        #expect(!FileManager.default.fileExists(atPath: socketPath), "control.sock must be removed on exit")

        var seen: Set<String> = []
        try eventually("a seeing b left", within: .seconds(5)) { () throws -> Probe<Void> in
            let state = try home.peers(of: "a").named("b")?.state ?? "absent"
            seen.insert(state)
            return state == "left" ? .met(()) : .pending("b is \(state)")
        }
        #expect(!seen.contains("dead"))
        let event = try #require(try watcher.next(within: .seconds(5)) { $0["event"] as? String == "member" && $0["name"] as? String == "b" },
                                 "`rumor watch` on a showed no member event for b")
        #expect(event["state"] as? String == "left" && event["previous"] as? String == "alive" && event["id"] as? String == second.id, "\(event)")
    }

    /// A script ends a background watch with `kill $W; wait $W`, often under `set -e`: the watch must exit 0, also
    /// when its parent spawned it with the signals blocked (a program spawning from a Dispatch thread does).
    @Test("rumor watch exits 0 on SIGINT and SIGTERM, also when spawned with them blocked",
          arguments: StopSignal.allCases, StartSignalRaceTests.ParentMask.allCases)
    func watchEndsWithZero(_ stopSignal: StopSignal, _ parentMask: StartSignalRaceTests.ParentMask) throws {
        let home = try RumorHome()
        defer { home.shutdown() }
        try home.startPair()
        // Returns once the watch shows events: its handlers are in place by then.
        let watcher = try StartSignalRaceTests.withStopSignals(parentMask) { try home.watch("b", syncingWith: "a") }
        #expect(kill(watcher.process.processIdentifier, stopSignal.number) == 0)
        let exited = ProcessControl.waitForExit(watcher.process, before: .now + .seconds(10))
        #expect(exited, "\(stopSignal.rawValue) with the parent's mask \(parentMask.rawValue): `rumor watch` still runs after 10 s")
        if exited {
            #expect(watcher.process.terminationReason == .exit && watcher.process.terminationStatus == 0,
                    "`rumor watch` ended with \(watcher.process.terminationReason == .exit ? "exit" : "signal") \(watcher.process.terminationStatus)")
        }
    }
}
