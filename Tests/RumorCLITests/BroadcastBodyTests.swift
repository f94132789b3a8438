import Foundation
import Testing

/// `broadcast` reads its body as `send` does: an oversized body exits 65 with the node's `too_large` line however
/// large it is, unreadable standard input exits 65, and MESSAGE is sent as the bytes the shell passed.
@Suite("broadcast bodies", .timeLimit(.minutes(1)))
struct BroadcastBodyTests {
    @Test("an oversized broadcast exits 65 with the too_large line, however large")
    func oversizedBroadcastsExitWithTheDataErrorCode() throws {
        let home = try RumorHome()
        defer { home.shutdown() }
        _ = try home.start("a")
        for size in [8_193, 197_000, 1_000_000] {
            let path = home.path + "/body-\(size)"
            #expect(FileManager.default.createFile(atPath: path, contents: Data(repeating: 0x41, count: size)))
            let refused = try home.client("broadcast", node: "a", ["--file", path])
            CommandErrorTests.expectRefusal(refused, code: 65)
            #expect(refused.stderr == "rumor: message of \(size) bytes is larger than the 8192-byte limit\n", "\(refused)")
        }
        #expect(try home.inbox(of: "a").isEmpty, "an oversized broadcast must not start")
    }

    @Test("broadcast with stdin closed or a directory exits 65; a MESSAGE that is not UTF-8 is sent byte for byte")
    func unreadableInputAndRawMessageBytes() throws {
        let home = try RumorHome()
        defer { home.shutdown() }
        _ = try home.start("a")
        for (redirect, reason) in [("<&-", "Bad file descriptor"), ("< /", "Is a directory")] {
            let refused = try home.shell(#"exec "$0" broadcast --home "$1" --node a \#(redirect)"#)
            CommandErrorTests.expectRefusal(refused, code: 65)
            #expect(refused.stderr == "rumor: cannot read standard input: \(reason)\n", "\(refused)")
        }
        #expect(try home.inbox(of: "a").isEmpty, "nothing may be broadcast for unreadable input")

        let sent = try home.shell(#"exec "$0" broadcast --home "$1" --node a "$(printf '\055\377\376')""#)
        #expect(sent.exitCode == 0 && sent.stdout.hasPrefix("broadcast seq=") && sent.stdout.hasSuffix(" bytes=3\n"), "\(sent)")
        let received = try home.inbox(of: "a")
        #expect(received.map { $0["data"] as? String } == [base64([0x2d, 0xff, 0xfe])], "\(received)")
        #expect(received.first?["kind"] as? String == "broadcast")
    }
}
