import Foundation
import Testing

/// `rumor send e "$msg"` in a script: a message that starts with `-` is still the message, and exit 0 still
/// means the peer acknowledged it. (swift-argument-parser alone read "-dash" as `-d -a -s -h`, printed help
/// and exited 0 without sending anything.)
@Suite("Messages that start with a dash", .timeLimit(.minutes(1)))
struct DashMessageTests {
    @Test("send and broadcast deliver dash-led messages byte-exact; options after MESSAGE keep working")
    func dashLedMessagesAreDelivered() throws {
        let home = try RumorHome()
        defer { home.shutdown() }
        try home.startPair()
        let watcher = try home.watch("b", syncingWith: "a")

        for message in ["-dash", "-hi there", "-x", "--frob", "-", "-5", "-h-not-help"] {
            let sent = try home.client("send", node: "a", ["b", message])
            #expect(sent.exitCode == 0, "\(sent)")
            #expect(sent.stdout.hasPrefix("acknowledged peer=b bytes=\(message.utf8.count) "), "\(sent)")
            let event = try watcher.next(within: .seconds(5)) { $0["from"] as? String == "a" && $0["data"] as? String == base64(Array(message.utf8)) }
            #expect(event?["kind"] as? String == "direct", "b did not receive \(message.debugDescription): \(watcher.events.suffix(3))")
        }

        let withJSON = try home.client("send", node: "a", ["b", "-zz", "--json"])
        #expect(withJSON.exitCode == 0, "\(withJSON)")
        #expect((try withJSON.json() as? [String: Any])?["acknowledged"] as? Bool == true, "\(withJSON)")
        #expect(try watcher.next(within: .seconds(5)) { $0["text"] as? String == "-zz" } != nil)

        let terminated = try home.client("send", node: "a", ["b", "--", "--json"])
        #expect(terminated.exitCode == 0 && terminated.stdout.hasPrefix("acknowledged "), "`--` must still make the rest operands: \(terminated)")
        #expect(try watcher.next(within: .seconds(5)) { $0["text"] as? String == "--json" } != nil)

        let broadcast = try home.client("broadcast", node: "a", ["-hello all", "--json"])
        #expect(broadcast.exitCode == 0, "\(broadcast)")
        let event = try watcher.next(within: .seconds(5)) { $0["kind"] as? String == "broadcast" && $0["text"] as? String == "-hello all" }
        #expect(event?["from"] as? String == "a", "b did not receive the broadcast: \(watcher.events.suffix(3))")
    }

    @Test("-h, --help and --version keep their meaning; an unknown option before MESSAGE is refused, never help")
    func helpVersionAndUnknownOptions() throws {
        let home = try RumorHome()
        defer { home.shutdown() }
        let help = try home.rumor(["send", "--help"])
        #expect(help.exitCode == 0 && help.stdout.contains("USAGE: rumor send"), "\(help)")
        let shortHelp = try home.client("send", node: "a", ["b", "-h"])
        #expect(shortHelp.exitCode == 0 && shortHelp.stdout.contains("USAGE: rumor send"), "\(shortHelp)")
        let version = try home.client("send", node: "a", ["b", "--version"])
        #expect(version.exitCode == 0 && version.stdout == "0.1.0\n", "\(version)")

        // No node runs here: each must fail while parsing, with 64, and never print help with exit 0.
        CommandErrorTests.expectRefusal(try home.client("send", node: "a", ["-dash", "hi"]), code: 64, mentioning: "-dash")
        CommandErrorTests.expectRefusal(try home.client("send", node: "a", ["b", "hi", "-hx"]), code: 64, mentioning: "-hx")
        CommandErrorTests.expectRefusal(try home.client("broadcast", node: "a", ["hi", "--jsn"]), code: 64, mentioning: "--jsn")
    }

    /// Guards the option list the dash rule relies on: an option missing from it would be sent as the message.
    @Test("every option of send and broadcast, written in MESSAGE's place, is still taken as that option")
    func everyOptionKeepsItsMeaningInMessagePlace() throws {
        let home = try RumorHome()
        defer { home.shutdown() }
        let dump = try home.rumor(["--experimental-dump-help"])
        let tool = try #require(try dump.json() as? [String: Any], "\(dump)")
        let subcommands = (tool["command"] as? [String: Any])?["subcommands"] as? [[String: Any]] ?? []
        for (command, operandsBefore) in [("send", ["b"]), ("broadcast", [])] {
            let info = try #require(subcommands.first { $0["commandName"] as? String == command }, "no \(command) in the help dump")
            let arguments = info["arguments"] as? [[String: Any]] ?? []
            let options = arguments.filter { $0["kind"] as? String != "positional" }
            #expect(options.count >= 5, "\(command): \(arguments)")
            for option in options {
                let names = (option["names"] as? [[String: Any]] ?? []).compactMap { name -> String? in
                    guard let text = name["name"] as? String else { return nil }
                    return (name["kind"] as? String == "short" ? "-" : "--") + text
                }
                let value = option["kind"] as? String == "option" ? ["5"] : []
                for name in names {
                    // Taken as the option, "hi" is the message; taken as the message, "5" or "hi" is one operand too many.
                    let result = try home.client(command, node: "ghost", operandsBefore + [name] + value + ["hi"])
                    #expect(!result.stderr.contains("Unexpected argument"), "\(command) read \(name) as the message: \(result)")
                }
            }
        }
    }
}
