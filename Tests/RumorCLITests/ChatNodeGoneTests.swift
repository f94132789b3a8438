#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Testing

/// `rumor chat` is for people, but a script or a wrapper still reads its exit code: when the node goes away under
/// it, chat says so and exits 69 (unavailable), as Docs/CLI.md promises, not 0 as after `/quit`.
@Suite("rumor chat when its node goes away", .timeLimit(.minutes(1)))
struct ChatNodeGoneTests {
    enum Departure: String, CaseIterable, Sendable {
        /// `rumor leave --node g`: the node stops gracefully.
        case leave
        /// SIGKILL: the node dies without a word.
        case kill
    }

    @Test("chat prints '-- node g stopped' and exits 69", arguments: Departure.allCases)
    func chatExits69(_ departure: Departure) throws {
        let home = try RumorHome()
        defer { home.shutdown() }
        let node = try home.start("g")
        // Standard input stays open (the write end is held here), so only the node's departure can end the chat.
        let input = Pipe()
        defer { try? input.fileHandleForWriting.close() }
        let chat = try home.launchShell("exec \"$0\" chat --home \"$1\" --node g", input: input)
        var output = PipeReader(chat.stdout)
        // The greeting comes once the watch connection is open, so the node's departure is seen from then on.
        let greeting = output.nextLine(before: .now + .seconds(10))
        #expect(greeting == .line("-- chatting as g: '@peer text' sends directly, other lines broadcast, /peers, /quit"), "\(greeting)")

        switch departure {
        case .leave:
            let left = try home.client("leave", node: "g")
            #expect(left.exitCode == 0, "\(left)")
        case .kill:
            #expect(kill(node.pid, SIGKILL) == 0)
        }

        var lines: [String] = []
        let deadline = ContinuousClock.now + .seconds(10)
        // Bounded by the deadline and by the count: each round reads a line or ends.
        for _ in 0..<1_000 {
            guard case .line(let line) = output.nextLine(before: deadline) else { break }
            lines.append(line)
        }
        #expect(lines.last == "-- node g stopped", "chat printed \(lines) after the node's \(departure.rawValue)")
        let exited = ProcessControl.waitForExit(chat.process, before: .now + .seconds(5))
        #expect(exited, "chat still runs after the node's \(departure.rawValue)")
        if exited {
            #expect(chat.process.terminationReason == .exit && chat.process.terminationStatus == 69,
                    "chat exited \(chat.process.terminationStatus) (\(chat.process.terminationReason == .exit ? "exit" : "signal")) after the node's \(departure.rawValue); printed \(lines)")
        }
    }
}
