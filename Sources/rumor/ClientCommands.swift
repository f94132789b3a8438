#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import ArgumentParser
import Rumor
import RumorCrypto

struct Peers: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Show the node's peer table, itself included.")

    @OptionGroup var target: NodeOption
    @Flag(name: .long, help: "Print one JSON array of peer objects.") var json = false

    func run() throws {
        let response = try target.connect().call(.object([("op", .string("peers"))]))
        let peers = response["peers"]?.arrayValue ?? []
        if json {
            print(JSON.array(peers).text)
            return
        }
        var rows = [["NAME", "ID", "ADDRESS", "STATE", "INC", "HEARD", "TAGS"]]
        for peer in peers {
            let isSelf = peer["self"]?.boolValue == true
            let heard = peer["last_heard_ms"]?.doubleValue.map { String(format1: $0 / 1000) + "s" } ?? (isSelf ? "self" : "-")
            let tags: String
            if case .object(let pairs)? = peer["tags"] { tags = pairs.map { "\($0.0)=\($0.1.stringValue ?? "")" }.joined(separator: ",") } else { tags = "" }
            rows.append([(peer["name"]?.stringValue ?? "?") + (isSelf ? " *" : ""), String((peer["id"]?.stringValue ?? "").prefix(16)),
                         peer["address"]?.stringValue ?? "?", peer["state"]?.stringValue ?? "?",
                         peer["incarnation"]?.intValue.map(String.init) ?? "?", heard, tags])
        }
        printTable(rows)
    }
}

struct Send: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Send a direct message and wait for the peer's acknowledgement.",
        discussion: "The body is MESSAGE, else the contents of --file, else standard input. Exits 0 only once PEER has acknowledged all of it; 75 when no acknowledgement came within --timeout."
    )

    @OptionGroup var target: NodeOption
    @Argument(help: ArgumentHelp("The receiver: a member name or a unique id prefix of at least 8 hex characters.")) var peer: String
    @Argument(help: "The message text.") var message: String?
    @Option(name: .long, help: ArgumentHelp("Send the contents of this file.", valueName: "F")) var file: String?
    @Option(name: .long, help: ArgumentHelp("Seconds to wait for the acknowledgement (default 10).", valueName: "SECONDS")) var timeout: Double?
    @Flag(name: .long, help: "Print the result as JSON.") var json = false

    func validate() throws {
        guard !peer.isEmpty else { throw ValidationError("empty peer name") }
        if message != nil, file != nil { throw ValidationError("give the message as an argument or with --file, not both") }
        _ = try parseTimeout(timeout, default: 10)
    }

    func run() throws {
        let body = try readBody()
        let seconds = try parseTimeout(timeout, default: 10)
        let client = try target.connect()
        let response = try client.call(.object([
            ("op", .string("send")), ("peer", .string(peer)), ("data", .string(Base64.encode(body))), ("timeout", .number(seconds)),
        ]))
        if json {
            print(response.text)
        } else {
            print("acknowledged peer=\(response["peer"]?.stringValue ?? peer) bytes=\(body.count) rtt_ms=\(response["rtt_ms"]?.doubleValue ?? 0)")
        }
    }

    func readBody() throws -> [UInt8] {
        if let message { return Array(message.utf8) }
        if let file {
            guard let bytes = readFile(file) else {
                throw CLIFailure(message: "cannot read --file \(file): \(String(cString: strerror(errno)))", code: ExitStatus.dataError)
            }
            return bytes
        }
        return readAll(STDIN_FILENO) ?? []
    }
}

struct Watch: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Stream received messages and membership changes until interrupted.",
        discussion: "With --json, one object per line: {\"event\":\"message\",…} or {\"event\":\"member\",…} (see Docs/CLI.md)."
    )

    @OptionGroup var target: NodeOption
    @Flag(name: .long, help: "One JSON object per event and line.") var json = false

    func run() throws {
        signal(SIGINT) { _ in _exit(0) }
        signal(SIGPIPE) { _ in _exit(0) }
        let client = try target.connect()
        _ = try client.call(.object([("op", .string("watch"))]))
        while let event = try client.next() {
            if json {
                print(event.text)
            } else {
                print(describe(event))
            }
        }
    }

    func describe(_ event: JSON) -> String {
        let time = clockTime(event["time"]?.doubleValue)
        if event["event"]?.stringValue == "message" {
            let from = event["from"]?.stringValue ?? "?"
            let bytes = event["bytes"]?.intValue ?? 0
            let text = event["text"]?.stringValue ?? "<\(bytes) bytes of binary data>"
            return "\(time) \(from) [\(event["kind"]?.stringValue ?? "direct")]: \(text)"
        }
        let name = event["name"]?.stringValue ?? "?"
        let id = String((event["id"]?.stringValue ?? "").prefix(8))
        return "\(time) member \(name) (\(id)) is \(event["state"]?.stringValue ?? "?")"
    }
}

struct Wait: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Wait until the node sees at least N alive members (itself included).",
        discussion: "Exits 0 as soon as the condition holds, 75 on timeout."
    )

    @OptionGroup var target: NodeOption
    @Option(name: .long, help: ArgumentHelp("How many alive members to wait for.", valueName: "N")) var alive: Int
    @Option(name: .long, help: ArgumentHelp("Seconds to wait (default 30).", valueName: "SECONDS")) var timeout: Double?

    func validate() throws {
        guard alive >= 1 else { throw ValidationError("--alive must be at least 1") }
        _ = try parseTimeout(timeout, default: 30)
    }

    func run() throws {
        let seconds = try parseTimeout(timeout, default: 30)
        let response = try target.connect().call(.object([("op", .string("wait")), ("alive", .number(Double(alive))), ("timeout", .number(seconds))]))
        print("alive=\(response["alive"]?.intValue ?? alive)")
    }
}

struct Status: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Show the node's identity, uptime, member counts and datagram counters.")

    @OptionGroup var target: NodeOption
    @Flag(name: .long, help: "Print one JSON object.") var json = false

    func run() throws {
        let response = try target.connect().call(.object([("op", .string("status"))]))
        let status = response["status"] ?? .null
        if json {
            print(status.text)
            return
        }
        print("name:      \(status["name"]?.stringValue ?? "?")")
        print("id:        \(status["id"]?.stringValue ?? "?")")
        print("listen:    \(status["listen"]?.stringValue ?? "?")")
        print("uptime:    \(String(format1: status["uptime_s"]?.doubleValue ?? 0))s")
        print("members:   \(pairs(status["members"]))")
        print("datagrams: \(pairs(status["datagrams"]))")
        print("dropped:   \(pairs(status["dropped"]))")
        print("messages:  \(pairs(status["messages"]))")
        for conflict in status["conflicts"]?.arrayValue ?? [] { print("conflict:  \(conflict.stringValue ?? "")") }
    }

    func pairs(_ json: JSON?) -> String {
        guard case .object(let pairs)? = json else { return "" }
        return pairs.map { "\($0.0)=\($0.1.intValue.map(String.init) ?? $0.1.text)" }.joined(separator: " ")
    }
}

struct Leave: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Leave the mesh gracefully; peers mark the node left and its process exits 0."
    )

    @OptionGroup var target: NodeOption

    func run() throws {
        let client = try target.connect()
        _ = try client.call(.object([("op", .string("leave"))]))
        // The node closes the connection when its process is about to exit: wait for that.
        while (try? client.next()) != nil {}
        print("left name=\(target.node)")
    }
}
