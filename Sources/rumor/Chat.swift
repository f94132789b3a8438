#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import ArgumentParser
import Rumor
import RumorCrypto

struct Broadcast: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Broadcast a message (at most 8 KiB) to every member of the mesh.",
        discussion: """
        The body is MESSAGE, else the contents of --file, else standard input. Every member alive now receives it \
        exactly once (`watch` shows it with "kind":"broadcast"), this node included; members briefly unreachable \
        catch up within the retention window (120 s). Exits 0 once the broadcast has started. A MESSAGE that starts \
        with - is sent as it is unless it is one of the options, -h, --help or --version; write -- before it to send those.
        """
    )

    @OptionGroup var target: NodeOption
    @Argument(help: "The message text.") var message: String?
    @Option(name: .long, help: ArgumentHelp("Broadcast the contents of this file.", valueName: "F")) var file: String?
    @Flag(name: .long, help: "Print the result as JSON.") var json = false

    func validate() throws {
        if message != nil, file != nil { throw ValidationError("give the message as an argument or with --file, not both") }
    }

    func run() throws {
        let body = try MessageBody.read(message: message, file: file, limit: MessageBody.broadcastLimit)
        let response = try target.connect().call(.object([("op", .string("broadcast")), ("data", .string(Base64.encode(body)))]))
        if json {
            print(response.text)
        } else {
            print("broadcast seq=\(response["seq"]?.intValue.map(String.init) ?? "?") bytes=\(body.count)")
        }
    }
}

struct Chat: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Chat through a node: type lines, see what arrives.",
        discussion: """
        Each line of standard input is one command: `@PEER text` sends text to PEER directly, `/peers` shows the \
        peer table, `/quit` (or end of input) leaves the chat; any other line is broadcast to the mesh. Messages \
        and membership changes are printed as they arrive, with the time and the sender's name. Exits 69 when the \
        node goes away.
        """
    )

    @OptionGroup var target: NodeOption

    func run() throws {
        signal(SIGPIPE, SIG_IGN)
        // One connection streams events (read on its own thread), another carries our requests.
        let watcher = try target.connect()
        _ = try watcher.call(.object([("op", .string("watch")), ("since", .number(ProcessStart.seconds))]))
        let requests = try target.connect()
        let me = target.node
        let handoff = Handoff(watcher)
        try Threads.spawn {
            // From here on only this thread touches the watch connection.
            let watcher = handoff.value
            while let event = try? watcher.next() {
                // Our own broadcasts come back to us too; the prompt already showed them.
                if event["kind"]?.stringValue == "broadcast", event["from"]?.stringValue == me { continue }
                print(Watch.describe(event))
            }
            // The node went away under us (it left, stopped or died): unavailable, as Docs/CLI.md says.
            print("-- node \(me) stopped")
            Glibc.exit(ExitStatus.unavailable)
        }
        print("-- chatting as \(me): '@peer text' sends directly, other lines broadcast, /peers, /quit")
        while let line = readLine(strippingNewline: true) {
            let text = line.trimmingCharacters(in: " \t")
            if text.isEmpty { continue }
            if text == "/quit" { break }
            do {
                if text == "/peers" {
                    let peers = try requests.call(.object([("op", .string("peers"))]))["peers"]?.arrayValue ?? []
                    for peer in peers {
                        print("   \(peer["name"]?.stringValue ?? "?")  \(peer["state"]?.stringValue ?? "?")  \(peer["address"]?.stringValue ?? "?")")
                    }
                } else if text.hasPrefix("@") {
                    let parts = text.dropFirst().split(separator: " ", maxSplits: 1)
                    guard let peer = parts.first, parts.count == 2 else {
                        print("-- usage: @peer text")
                        continue
                    }
                    _ = try requests.call(.object([
                        ("op", .string("send")), ("peer", .string(String(peer))),
                        ("data", .string(Base64.encode(Array(parts[1].utf8)))), ("timeout", .number(10)),
                    ]))
                    print("\(clockTime(nil)) -> \(peer): \(parts[1])")
                } else {
                    _ = try requests.call(.object([("op", .string("broadcast")), ("data", .string(Base64.encode(Array(text.utf8))))]))
                    print("\(clockTime(nil)) \(me) [broadcast]: \(text)")
                }
            } catch let failure as CLIFailure {
                print("-- \(failure.message)")
                if failure.code == ExitStatus.unavailable { throw failure }
            }
        }
    }
}

extension String {
    func trimmingCharacters(in set: String) -> String {
        let drop: (Character) -> Bool = { set.contains($0) }
        return String(self.drop(while: drop).reversed().drop(while: drop).reversed())
    }
}

/// Moves a value to another thread that becomes its only user; the sender MUST NOT touch it afterwards.
final class Handoff<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}
