import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Testing

/// `send --lines` prints its summary at the end, also when the node stops while lines are being sent: a script
/// reading it learns how many were acknowledged. (It used to exit 69 with no summary.)
@Suite("send --lines when the node stops", .timeLimit(.minutes(1)))
struct LinesWhenTheNodeStopsTests {
    @Test("the line in flight fails as stopped, the lines not tried count as failed, the summary is printed, exit 69",
          arguments: [false, true])
    func theSummaryIsPrintedWhenTheNodeStopsMidRun(json: Bool) throws {
        let home = try RumorHome()
        defer { home.shutdown() }
        let b = try home.startPair().b
        // b never acknowledges again: the first line waits for its acknowledgement until a stops.
        kill(b.pid, SIGKILL)
        let input = Pipe()
        let sending = try home.launchShell(#"exec "$0" send --home "$1" --node a b --lines --timeout 60\#(json ? " --json" : "")"#, input: input)
        try input.fileHandleForWriting.write(contentsOf: Data("one\ntwo\nthree\n".utf8))
        try input.fileHandleForWriting.close()
        try eventually("a sending the first line", within: .seconds(10)) { () throws -> Probe<Void> in
            let messages = try home.status(of: "a")["messages"] as? [String: Any]
            return messages?["sent"] as? Int == 1 ? .met(()) : .pending("messages: \(messages ?? [:])")
        }
        let left = try home.client("leave", node: "a")
        #expect(left.exitCode == 0, "\(left)")

        let result = try sending.finish()
        #expect(result.exitCode == 69, "\(result)")
        #expect(result.hasOneStderrLine && result.stderr.hasPrefix("rumor: line 1: "), "\(result)")
        if json {
            let summary = try #require(try result.json() as? [String: Any], "\(result)")
            #expect(summary["ok"] as? Bool == false && summary["sent"] as? Int == 3, "\(summary)")
            #expect(summary["acknowledged"] as? Int == 0 && summary["failed"] as? Int == 3, "\(summary)")
            let failures = summary["failures"] as? [[String: Any]] ?? []
            #expect(failures.count == 1 && failures.first?["line"] as? Int == 1 && failures.first?["code"] as? String == "stopped",
                    "\(summary)")
        } else {
            #expect(result.stdout == "acknowledged=0 failed=3 peer=b\n", "\(result)")
        }
    }
}
