import Foundation
import Testing

/// A body over the node's limit exits 65 with the node's own `too_large` line, however large it is. (The body
/// travels in base64 on one control request line of at most 256 KiB: from about 196 KB on, the line was refused
/// before the node looked at the size, with exit 1, and at 1 MB the node hung up, exit 69.)
@Suite("Bodies over the node's limits", .timeLimit(.minutes(1)))
struct OversizedMessageTests {
    @Test("send and send --unreliable: any body over the limit exits 65 with the too_large line, nothing sent")
    func oversizedBodiesExitWithTheDataErrorCode() throws {
        let home = try RumorHome()
        defer { home.shutdown() }
        _ = try home.start("a")
        let cases: [(size: Int, options: [String], limit: Int)] = [
            (65_537, [], 65_536), (197_000, [], 65_536), (300_000, [], 65_536), (1_000_000, [], 65_536),
            (1_120, ["--unreliable"], 1_119), (300_000, ["--unreliable"], 1_119), (1_000_000, ["--unreliable"], 1_119),
        ]
        for (size, options, limit) in cases {
            let path = home.path + "/body-\(size)"
            #expect(FileManager.default.createFile(atPath: path, contents: Data(repeating: 0x41, count: size)))
            let refused = try home.client("send", node: "a", ["a", "--file", path] + options)
            CommandErrorTests.expectRefusal(refused, code: 65)
            #expect(refused.stderr == "rumor: message of \(size) bytes is larger than the \(limit)-byte limit\n", "\(refused)")
        }
        #expect(try home.inbox(of: "a").isEmpty, "an oversized body must not be sent")
    }

    @Test("send --lines: an oversized line fails alone as too_large, the others are sent, the summary follows",
          arguments: [false, true])
    func anOversizedLineFailsAloneAndTheSummaryFollows(json: Bool) throws {
        let home = try RumorHome()
        defer { home.shutdown() }
        _ = try home.start("a")
        let input = "first\n" + String(repeating: "x", count: 300_000) + "\nlast\n"
        let result = try home.rumor(["send", "--home", home.path, "--node", "a", "a", "--lines"] + (json ? ["--json"] : []),
                                    input: Array(input.utf8))
        #expect(result.exitCode == 65, "\(result)")
        #expect(result.stderr == "rumor: line 2: message of 300000 bytes is larger than the 65536-byte limit\n", "\(result)")
        if json {
            let summary = try #require(try result.json() as? [String: Any], "\(result)")
            #expect(summary["sent"] as? Int == 3 && summary["acknowledged"] as? Int == 2 && summary["failed"] as? Int == 1, "\(summary)")
            let failures = summary["failures"] as? [[String: Any]] ?? []
            #expect(failures.count == 1 && failures.first?["line"] as? Int == 2 && failures.first?["code"] as? String == "too_large",
                    "\(summary)")
        } else {
            #expect(result.stdout == "acknowledged=2 failed=1 peer=a\n", "\(result)")
        }
        #expect(try home.inbox(of: "a").compactMap { $0["text"] as? String } == ["first", "last"])
    }
}
