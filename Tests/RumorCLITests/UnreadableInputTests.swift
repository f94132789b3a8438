import Foundation
import Testing

/// Standard input that cannot be read is an error, as an unreadable `--file` is: it used to be taken as an
/// empty body, sent and acknowledged with exit 0.
@Suite("Unreadable standard input", .timeLimit(.minutes(1)))
struct UnreadableInputTests {
    @Test("send (and send --lines) with stdin closed or a directory exits 65 and sends nothing; empty stdin is an empty message")
    func unreadableStandardInputExitsWithTheDataErrorCode() throws {
        let home = try RumorHome()
        defer { home.shutdown() }
        _ = try home.start("a")
        for (redirect, reason) in [("<&-", "Bad file descriptor"), ("< /", "Is a directory")] {
            for mode in ["", " --lines", " --unreliable"] {
                let refused = try home.shell(#"exec "$0" send --home "$1" --node a a\#(mode) \#(redirect)"#)
                CommandErrorTests.expectRefusal(refused, code: 65)
                #expect(refused.stderr == "rumor: cannot read standard input: \(reason)\n", "\(refused)")
            }
        }
        #expect(try home.inbox(of: "a").isEmpty, "nothing may be sent for unreadable input")

        let empty = try home.shell(#"exec "$0" send --home "$1" --node a a < /dev/null"#)
        #expect(empty.exitCode == 0 && empty.stdout.hasPrefix("acknowledged peer=a bytes=0 "), "\(empty)")
        #expect(try home.inbox(of: "a").map { $0["bytes"] as? Int } == [0])
    }
}
