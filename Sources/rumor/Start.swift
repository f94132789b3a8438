#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import ArgumentParser
import CRumorSys
import Dispatch
import Logging
import Rumor
import RumorMembership
import RumorWire
import Synchronization

struct Start: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Start a node in the foreground.",
        discussion: """
        Prints exactly one line to stdout once the node listens and its control socket is open: \
        'ready name=NAME id=HEX listen=HOST:PORT' (or a JSON object with --json). Logs go to stderr. \
        SIGINT or SIGTERM makes the node leave gracefully and exit 0, also when it comes while the node is still \
        starting (then no ready line is printed).
        """
    )

    @OptionGroup var home: HomeOption

    @Option(name: .long, help: ArgumentHelp("This node's name, unique in the mesh.", valueName: "NAME"))
    var name: String

    @Option(name: .long, help: ArgumentHelp("UDP address to listen on; port 0 picks a free port. IPv6 in brackets: [::1]:0.", valueName: "HOST:PORT"))
    var listen: String = "127.0.0.1:0"

    @Option(name: .long, help: ArgumentHelp("A member to join through (repeatable).", valueName: "HOST:PORT"))
    var join: [String] = []

    @Option(name: .customLong("network-key"), help: ArgumentHelp("The network key file (default: HOME/network.key, created on first use).", valueName: "FILE"))
    var networkKey: String?

    @Option(name: .long, help: ArgumentHelp("A tag to gossip with this node (repeatable).", valueName: "K=V"))
    var tag: [String] = []

    @Option(name: .long, help: ArgumentHelp("Only this node id may be a member (repeatable; identity pinning).", valueName: "ID"))
    var allow: [String] = []

    @Option(name: .customLong("allow-file"), help: ArgumentHelp("A file of allowed node ids, one per line (# starts a comment).", valueName: "FILE"))
    var allowFile: String?

    @Option(name: .long, help: ArgumentHelp("Timing profile: local, lan or wan.", valueName: "PROFILE"))
    var profile: String = "lan"

    @Option(name: .customLong("log-level"), help: ArgumentHelp("trace, debug, info, notice, warning, error or critical.", valueName: "LEVEL"))
    var logLevel: String = "info"

    @Flag(name: .long, help: "Print the ready line as JSON.")
    var json = false

    func validate() throws {
        guard NodeName.isValid(name) else {
            throw ValidationError("invalid node name '\(name)': use 1-64 characters from A-Z a-z 0-9 . _ - (not starting with . or -)")
        }
        guard Endpoint(parsing: listen) != nil else { throw ValidationError("malformed --listen '\(listen)': expected HOST:PORT, e.g. 127.0.0.1:0 or [::1]:7946") }
        for seed in join where Endpoint(parsing: seed) == nil {
            throw ValidationError("malformed --join '\(seed)': expected HOST:PORT")
        }
        _ = try parsedTags()
        for id in allow where NodeID(hex: id) == nil {
            throw ValidationError("malformed --allow '\(id)': expected a node id, 64 hex characters")
        }
        guard MembershipSettings.Profile(rawValue: profile) != nil else { throw ValidationError("unknown --profile '\(profile)': use local, lan or wan") }
        guard Logger.Level(rawValue: logLevel) != nil else {
            throw ValidationError("unknown --log-level '\(logLevel)': use trace, debug, info, notice, warning, error or critical")
        }
    }

    func parsedTags() throws -> [String: String] {
        var tags: [String: String] = [:]
        for pair in tag {
            guard let equals = pair.firstIndex(of: "="), equals != pair.startIndex else {
                throw ValidationError("malformed --tag '\(pair)': expected KEY=VALUE")
            }
            tags[String(pair[..<equals])] = String(pair[pair.index(after: equals)...])
        }
        return tags
    }

    func run() throws {
        // First, before any file, socket or thread exists: from here on SIGINT and SIGTERM are never lost.
        let signals = try StopSignals.listen()
        let level = Logger.Level(rawValue: logLevel) ?? .info
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        var logger = Logger(label: "rumor.\(name)")
        logger.logLevel = level
        var configuration = NodeConfiguration(name: name, home: home.resolved, logger: logger)
        configuration.listen = Endpoint(parsing: listen) ?? configuration.listen
        configuration.join = join.compactMap(Endpoint.init(parsing:))
        configuration.networkKeyPath = networkKey
        configuration.tags = try parsedTags()
        configuration.profile = MembershipSettings.Profile(rawValue: profile) ?? .lan
        configuration.allowed = try allowedIDs()

        try HomeFolders.createParents(of: configuration.home)
        let node: RumorNode
        let server: ControlServer
        do {
            node = try RumorNode.start(configuration)
            server = try ControlServer(node: node)
        } catch let error as RumorError {
            throw CLIFailure(message: error.description, code: Start.exitCode(for: error))
        }
        let files = NodeFiles(home: configuration.home, name: name)
        for path in [files.identityPath, networkKey ?? files.defaultNetworkKeyPath, files.keyringPath] {
            if let warning = SecretFileMode.warning(for: path) { writeError(warning) }
        }

        // A signal that came while the node was starting stops it now, before it is announced as ready.
        if signals.nodeStarted(node) {
            if json {
                print(JSON.object([("event", .string("ready")), ("name", .string(node.name)), ("id", .string(node.id.hex)),
                                   ("listen", .string(node.listenAddress.description))]).text)
            } else {
                print("ready name=\(node.name) id=\(node.id.hex) listen=\(node.listenAddress)")
            }
            rumor_flush_stdout()
            logger.info("node \(node.name) \(node.id.short) listening on \(node.listenAddress), network key \(node.networkKeyID)")
        } else {
            logger.info("node \(node.name) \(node.id.short) stopping: a signal came while it was starting")
        }

        waitUntilStopped(node, server: server, logger: logger)
        server.close()
        logger.info("node \(node.name) stopped")
    }

    /// Blocks until the node has stopped. Meanwhile, once its membership has settled, gives back the pages
    /// of code and constants that only start-up ran (see StartupPages): the member counts are checked once a
    /// second until they have not changed for `StartupPages.settled`, and `StartupPages.latest` ends the wait
    /// for that in a mesh that keeps changing. After that, control requests (`rumor status`, `send`, …) map
    /// their code back in; once the control socket has been quiet for `StartupPages.afterRequests`, with no
    /// client connected, those pages are given back again.
    func waitUntilStopped(_ node: RumorNode, server: ControlServer, logger: Logger) {
        let stopped = DispatchSemaphore(value: 0)
        node.whenStopped { stopped.signal() }
        let clock = ContinuousClock()
        let start = clock.now
        var members: [MemberState: Int]?
        var unchangedSince = start
        var releasedOnce = false
        while !releasedOnce, stopped.wait(timeout: .now() + .seconds(1)) == .timedOut {
            let now = clock.now
            let current = Start.members(of: node)
            if current != members {
                members = current
                unchangedSince = now
            }
            if now - start >= StartupPages.earliest && now - unchangedSince >= StartupPages.settled || now - start >= StartupPages.latest {
                let released = StartupPages.release()
                logger.debug("released start-up pages: advised \(released / 1024) KiB of read-only file mappings")
                releasedOnce = true
            }
        }
        // The node stopped before the release: the semaphore's one signal is spent.
        guard releasedOnce else { return }
        var releasedAfter = server.connections.ended
        var lastEnded = releasedAfter
        var quietSince = clock.now
        while stopped.wait(timeout: .now() + .seconds(1)) == .timedOut {
            let now = clock.now
            let connections = server.connections
            if connections.ended != lastEnded || connections.open > 0 {
                lastEnded = connections.ended
                quietSince = now
            } else if lastEnded != releasedAfter, now - quietSince >= StartupPages.afterRequests {
                let released = StartupPages.release()
                releasedAfter = lastEnded
                logger.debug("released pages mapped by control requests: advised \(released / 1024) KiB")
            }
        }
    }

    /// The node's member counts by state; nil once it has stopped.
    static func members(of node: RumorNode) -> [MemberState: Int]? {
        let answered = DispatchSemaphore(value: 0)
        let box = StatusBox()
        node.status { status in
            box.members.withLock { $0 = status?.members }
            answered.signal()
        }
        answered.wait()
        return box.members.withLock { $0 }
    }

    /// The status callback's answer, handed from the event loop thread to the waiting one. The semaphore says
    /// when; the mutex makes the hand-over visible (and visible to ThreadSanitizer, which does not model
    /// libdispatch's semaphores).
    final class StatusBox: Sendable {
        let members = Mutex<[MemberState: Int]?>(nil)
    }

    /// The union of --allow and --allow-file, or nil when neither was given (no pinning).
    func allowedIDs() throws -> Set<NodeID>? {
        guard !allow.isEmpty || allowFile != nil else { return nil }
        var ids = Set(allow.compactMap(NodeID.init(hex:)))
        if let allowFile {
            guard let bytes = readFile(allowFile) else {
                throw CLIFailure(message: "cannot read --allow-file \(allowFile): \(String(cString: strerror(errno)))", code: ExitStatus.dataError)
            }
            for (number, line) in String(decoding: bytes, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
                let text = String(line.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first ?? "").trimmingCharacters(in: " \t\r")
                if text.isEmpty { continue }
                guard let id = NodeID(hex: text) else {
                    throw CLIFailure(message: "--allow-file \(allowFile) line \(number + 1) is not a node id", code: ExitStatus.dataError)
                }
                ids.insert(id)
            }
        }
        return ids
    }

    static func exitCode(for error: RumorError) -> Int32 {
        switch error {
        case .badKeyFile: return ExitStatus.dataError
        case .invalidName, .invalidConfiguration, .cannotResolve: return ExitStatus.usage
        default: return ExitStatus.failure
        }
    }
}

struct Keygen: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write a new network key to a file (mode 0600) and print its key id.",
        discussion: "The key itself is never printed. Nodes started with --network-key FILE form one mesh with every node holding the same key."
    )

    @OptionGroup var home: HomeOption

    @Option(name: .long, help: ArgumentHelp("Where to write the key.", valueName: "FILE"))
    var out: String

    @Flag(name: .long, help: "Overwrite FILE if it exists.")
    var force = false

    @Flag(name: .long, help: "Print the result as JSON.")
    var json = false

    func validate() throws {
        guard !out.isEmpty else { throw ValidationError("--out must not be empty") }
    }

    func run() throws {
        do {
            let keyID = try KeyFile.generate(at: out, overwrite: force)
            if json {
                print(JSON.object([("key_id", .string(keyID)), ("path", .string(out))]).text)
            } else {
                print("key_id=\(keyID) path=\(out)")
            }
        } catch let error as RumorError {
            throw CLIFailure(message: error.description, code: ExitStatus.failure)
        }
    }
}
