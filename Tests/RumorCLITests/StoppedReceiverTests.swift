import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Testing

/// A receiver that is stopped (SIGSTOP) while a message is sent to it finds the message's original and its
/// retransmissions in its socket buffer when it runs again: it must deliver the message once, not once per copy.
@Suite struct StoppedReceiverTests {
    @Test(.timeLimit(.minutes(1)))
    func aMessageSentToAStoppedReceiverThatTimedOutIsDeliveredExactlyOnceAfterItResumes() throws {
        let home = try RumorHome()
        defer { home.shutdown() }
        let b = try home.startPair().b

        kill(b.pid, SIGSTOP)
        // Resumed on every way out: the harness's SIGTERM would otherwise wait behind the stop.
        var resumed = false
        defer { if !resumed { kill(b.pid, SIGCONT) } }
        let sent = try home.client("send", node: "a", ["b", "hello-once", "--timeout", "3"])
        #expect(sent.exitCode == 75, "the send must time out while b is stopped: \(sent)")
        kill(b.pid, SIGCONT)
        resumed = true

        // Wait until b has worked through its buffer: the message delivered and retransmitted copies of it
        // recognised (the original plus at least three retransmissions leave a within the 3 s timeout, due at
        // 0.2, 0.6 and 1.4 s; two of them are enough even if a's loop is slowed by a loaded machine).
        let status = try eventually("b delivering the message and recognising retransmitted copies", within: .seconds(15)) { () throws -> Probe<[String: Any]> in
            let status = try home.status(of: "b")
            let messages = status["messages"] as? [String: Any]
            let delivered = messages?["delivered"] as? Int ?? 0
            let duplicates = messages?["duplicate_fragments"] as? Int ?? 0
            return delivered >= 1 && duplicates >= 2 ? .met(status) : .pending("messages: \(messages ?? [:])")
        }
        let messages = status["messages"] as? [String: Any]
        #expect(messages?["delivered"] as? Int == 1, "b delivered the message more than once: \(messages ?? [:])")

        let inbox = try home.client("inbox", node: "b", ["--json"])
        #expect(inbox.exitCode == 0, "\(inbox)")
        let texts = inbox.stdout.split(separator: "\n").compactMap { line in
            (try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])?["text"] as? String
        }
        #expect(texts == ["hello-once"], "b's inbox: \(texts)")
    }
}
