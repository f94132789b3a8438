#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import ArgumentParser
import CRumorSys
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
        discussion: """
        The body is MESSAGE, else the contents of --file, else standard input. Exits 0 only once PEER has \
        acknowledged all of it; 75 when no acknowledgement came within --timeout. With --lines, every line of \
        standard input is one message (sent in order, each acknowledged); the exit status is 0 only if all were. \
        With --unreliable the message is one fire-and-forget datagram: exit 0 means the node took it for sending, \
        not that it arrived. A MESSAGE that starts with - is sent as it is unless it is one of the options, -h, \
        --help or --version; write -- before it to send those.
        """
    )

    @OptionGroup var target: NodeOption
    @Argument(help: ArgumentHelp("The receiver: a member name or a unique id prefix of at least 8 hex characters.")) var peer: String
    @Argument(help: "The message text.") var message: String?
    @Option(name: .long, help: ArgumentHelp("Send the contents of this file.", valueName: "F")) var file: String?
    // `.unconditional`: "-1" is a value to refuse as out of range, not a missing one.
    @Option(name: .long, parsing: .unconditional, help: ArgumentHelp("Seconds to wait for each acknowledgement (default 10).", valueName: "SECONDS"))
    var timeout: Double?
    @Flag(name: .long, help: "Send each line of standard input as its own message.") var lines = false
    @Flag(name: .long, help: "Fire and forget: one authenticated datagram (at most 1,119 bytes), no acknowledgement, may be lost.")
    var unreliable = false
    @Flag(name: .long, help: "Print the result (with --lines: a summary) as JSON.") var json = false

    func validate() throws {
        guard !peer.isEmpty else { throw ValidationError("empty peer name") }
        if message != nil, file != nil { throw ValidationError("give the message as an argument or with --file, not both") }
        if lines, message != nil || file != nil { throw ValidationError("--lines reads standard input; give no MESSAGE or --file with it") }
        _ = try parseTimeout(timeout, default: 10, positive: true)
    }

    func request(_ body: [UInt8], seconds: Double) -> JSON {
        .object([("op", .string("send")), ("peer", .string(peer)), ("data", .string(Base64.encode(body))), ("timeout", .number(seconds)),
                 ("unreliable", .bool(unreliable))])
    }

    /// The node's limit for one message of this send.
    var limit: Int { unreliable ? MessageBody.datagramLimit : MessageBody.directLimit }

    func run() throws {
        let seconds = try parseTimeout(timeout, default: 10, positive: true)
        if lines { return try sendLines(seconds: seconds) }
        let body = try MessageBody.read(message: message, file: file, limit: limit)
        let response = try target.connect().call(request(body, seconds: seconds))
        if json {
            print(response.text)
        } else if unreliable {
            print("sent peer=\(response["peer"]?.stringValue ?? peer) bytes=\(body.count) unreliable")
        } else {
            print("acknowledged peer=\(response["peer"]?.stringValue ?? peer) bytes=\(body.count) rtt_ms=\(response["rtt_ms"]?.doubleValue ?? 0)")
        }
    }

    /// A line of `--lines` that was not acknowledged (or, with --unreliable, not taken).
    struct LineFailure {
        let line: Int
        let code: String
        let error: String
    }

    /// One message per line of stdin, in order, each acknowledged before the next is sent (so they arrive in
    /// order even across retransmissions). Failures are reported per line on stderr; the summary comes last,
    /// also when the node stops during the run (exit 69 then). With --unreliable nothing is acknowledged: the
    /// summary counts the lines the node took for sending.
    func sendLines(seconds: Double) throws {
        let input = try MessageBody.readStandardInput()
        var bodies = input.split(separator: 0x0a, omittingEmptySubsequences: false).map { Array($0) }
        if bodies.last?.isEmpty == true { bodies.removeLast() }
        let client = try target.connect()
        var taken = 0
        var failures: [LineFailure] = []
        var stopped = false
        func fail(_ failure: LineFailure) {
            failures.append(failure)
            writeError("rumor: line \(failure.line): \(failure.error)")
        }
        for (index, body) in bodies.enumerated() {
            // Refused here, not by the node: an oversized body may not fit in a request line at all.
            if let error = MessageBody.oversize(body, limit: limit) {
                fail(LineFailure(line: index + 1, code: ControlJSON.errorCode(error), error: error.description))
                continue
            }
            let response: JSON
            do {
                try client.send(request(body, seconds: seconds))
                guard let answer = try client.next() else {
                    throw CLIFailure(message: "node '\(target.node)' closed the connection after \(taken) messages", code: ExitStatus.unavailable)
                }
                response = answer
            } catch let failure as CLIFailure where failure.code == ExitStatus.unavailable {
                // The node went away with this line unanswered: it and the lines after it are not acknowledged.
                fail(LineFailure(line: index + 1, code: "stopped", error: failure.message))
                stopped = true
                break
            }
            if response["ok"]?.boolValue == true {
                taken += 1
                continue
            }
            let failure = LineFailure(line: index + 1, code: response["code"]?.stringValue ?? "failed", error: response["error"]?.stringValue ?? "failed")
            fail(failure)
            if failure.code == "stopped" {
                stopped = true
                break
            }
            // An unknown or ambiguous peer fails every line the same way: stop at the first.
            if failure.code == "unknown_peer" || failure.code == "ambiguous_peer" || failure.code == "empty_peer" { break }
        }
        let failed = bodies.count - taken
        if json {
            let failureObjects: [JSON] = failures.map {
                .object([("line", .number(Double($0.line))), ("code", .string($0.code)), ("error", .string($0.error))])
            }
            print(JSON.object([
                ("ok", .bool(failed == 0)), ("peer", .string(peer)), ("sent", .number(Double(unreliable ? taken : bodies.count))),
                ("acknowledged", .number(Double(unreliable ? 0 : taken))), ("failed", .number(Double(failed))),
                ("failures", .array(failureObjects)),
            ] + (unreliable ? [("unreliable", .bool(true))] : [])).text)
        } else if unreliable {
            print("sent=\(taken) failed=\(failed) peer=\(peer) unreliable")
        } else {
            print("acknowledged=\(taken) failed=\(failed) peer=\(peer)")
        }
        // A node that stopped is the failure that matters, whatever the lines before it failed with.
        if stopped { throw ExitCode(ExitStatus.unavailable) }
        if failed > 0 {
            let codes = Set(failures.map(\.code))
            let code = codes.count == 1 ? ControlClient.exitCode(forErrorCode: codes.first ?? "") : ExitStatus.failure
            throw ExitCode(code == ExitStatus.ok ? ExitStatus.failure : code)
        }
    }
}

struct Inbox: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show the messages that arrived while nothing was watching.",
        discussion: "The inbox keeps the newest 1024 messages (16 MiB at most); older ones are dropped and counted. With --json, one message object per line, as `watch --json` prints them."
    )

    @OptionGroup var target: NodeOption
    @Flag(name: .long, help: "Empty the inbox after showing it.") var clear = false
    @Flag(name: .long, help: "One JSON object per message and line.") var json = false

    func run() throws {
        let response = try target.connect().call(.object([("op", .string("inbox")), ("clear", .bool(clear))]))
        let messages = response["messages"]?.arrayValue ?? []
        for message in messages { print(json ? message.text : Watch.describe(message)) }
        if !json, let dropped = response["dropped"]?.intValue, dropped > 0 {
            writeError("rumor: \(dropped) older messages were dropped because the inbox was full")
        }
    }
}

struct Tags: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Set or delete the node's tags at run time; the change is gossiped to the mesh.",
        discussion: "Prints the node's tags after the change (as a JSON object with --json)."
    )

    @OptionGroup var target: NodeOption
    @Option(name: .long, help: ArgumentHelp("A tag to set (repeatable).", valueName: "K=V")) var set: [String] = []
    @Option(name: .long, help: ArgumentHelp("A tag to delete (repeatable).", valueName: "K")) var delete: [String] = []
    @Flag(name: .long, help: "Print the tags as a JSON object.") var json = false

    func validate() throws {
        for pair in set {
            guard let equals = pair.firstIndex(of: "="), equals != pair.startIndex else { throw ValidationError("malformed --set '\(pair)': expected K=V") }
        }
        for key in delete where key.isEmpty { throw ValidationError("empty --delete key") }
    }

    func run() throws {
        var pairs: [(String, JSON)] = []
        for pair in set {
            guard let equals = pair.firstIndex(of: "=") else { continue }
            pairs.append((String(pair[..<equals]), .string(String(pair[pair.index(after: equals)...]))))
        }
        let response = try target.connect().call(.object([
            ("op", .string("tags")), ("set", .object(pairs)), ("delete", .array(delete.map { .string($0) })),
        ]))
        let tags = response["tags"] ?? .object([])
        if json {
            print(tags.text)
        } else if case .object(let current) = tags {
            for (key, value) in current { print("\(key)=\(value.stringValue ?? "")") }
        }
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
        // Ctrl-C, `kill` and a closed reader all end the stream with 0: a script's `kill $W; wait $W` under
        // `set -e` must not fail on it.
        signal(SIGINT) { _ in _exit(0) }
        signal(SIGTERM) { _ in _exit(0) }
        signal(SIGPIPE) { _ in _exit(0) }
        _ = rumor_unblock_stop_signals()
        let client = try target.connect()
        _ = try client.call(.object([("op", .string("watch")), ("since", .number(ProcessStart.seconds))]))
        while let event = try client.next() {
            if json {
                print(event.text)
            } else {
                print(Watch.describe(event))
            }
        }
    }

    static func describe(_ event: JSON) -> String {
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
        discussion: """
            Exits 0 as soon as the condition holds, 75 on timeout. A node that is still starting (no control \
            socket yet) is waited for too: 69 only if it is not up by the end of --timeout.
            """
    )

    @OptionGroup var target: NodeOption
    // `.unconditional`: "-1" is a value to refuse as out of range, not a missing one.
    @Option(name: .long, parsing: .unconditional, help: ArgumentHelp("How many alive members to wait for.", valueName: "N")) var alive: Int
    @Option(name: .long, parsing: .unconditional, help: ArgumentHelp("Seconds to wait (default 30).", valueName: "SECONDS")) var timeout: Double?

    func validate() throws {
        guard alive >= 1 else { throw ValidationError("--alive must be at least 1") }
        _ = try parseTimeout(timeout, default: 30)
    }

    func run() throws {
        let seconds = try parseTimeout(timeout, default: 30)
        let clock = ContinuousClock()
        let deadline = clock.now + .seconds(seconds)
        // `rumor start NAME &` then `rumor wait --node NAME` is how scripts start a mesh: the node may not have
        // made its control socket yet. Try again every 20 ms until the deadline; the last failure is the answer.
        var client: ControlClient
        while true {
            do {
                client = try target.connect()
                break
            } catch let failure as CLIFailure where failure.code == ExitStatus.unavailable && clock.now < deadline {
                let left = deadline - clock.now
                usleep(UInt32(clamping: min(left, .milliseconds(20)).components.attoseconds / 1_000_000_000_000))
            }
        }
        let left = max(.zero, deadline - clock.now)
        let remaining = Double(left.components.seconds) + Double(left.components.attoseconds) / 1e18
        let response = try client.call(.object([("op", .string("wait")), ("alive", .number(Double(alive))), ("timeout", .number(remaining))]))
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
        print("peer table: \(pairs(status["peer_table"]))")
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
