#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import ArgumentParser
import Rumor
import RumorCrypto

struct Keys: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List or rotate the network keys of the whole mesh, like `serf keys`.",
        discussion: """
        Each action runs on the node and on every member alive now, and reports each member's result. Rotate \
        with zero downtime: `install` the new key everywhere, `use` it everywhere, then `remove` the old one. A \
        member that was down meanwhile still holds only the old key and stays out; bring it back with \
        `rumor keys install --local` and `rumor keys use --local` on that node (see Docs/CLI.md).
        """,
        subcommands: [List.self, Install.self, Use.self, Remove.self]
    )

    struct Shared: ParsableArguments {
        @OptionGroup var target: NodeOption
        @Flag(name: .long, help: "Act on this node only, not on the mesh.") var local = false
        @Option(name: .long, parsing: .unconditional, help: ArgumentHelp("Seconds to wait for the members' answers (default 10).", valueName: "SECONDS"))
        var timeout: Double?
        @Flag(name: .long, help: "Print the report as JSON.") var json = false

        func validate() throws { _ = try parseTimeout(timeout, default: 10, positive: true) }

        func run(_ request: [(String, JSON)]) throws {
            let seconds = try parseTimeout(timeout, default: 10, positive: true)
            let client = try target.connect()
            try client.send(.object([("op", .string("keys")), ("local", .bool(local)), ("timeout", .number(seconds))] + request))
            guard let report = try client.next() else {
                throw CLIFailure(message: "node '\(target.node)' closed the connection", code: ExitStatus.unavailable)
            }
            if report["nodes"] == nil { try ControlClient.check(report) }
            let nodes = report["nodes"]?.arrayValue ?? []
            if json {
                print(report.text)
            } else {
                var rows = [["NODE", "RESULT", "KEYS (* primary)"]]
                for node in nodes {
                    let keys = (node["keys"]?.arrayValue ?? []).map { ($0["key_id"]?.stringValue ?? "?") + ($0["primary"]?.boolValue == true ? "*" : "") }
                    rows.append([node["name"]?.stringValue ?? "?", node["ok"]?.boolValue == true ? "ok" : "failed: " + (node["error"]?.stringValue ?? "?"),
                                 keys.joined(separator: " ")])
                }
                printTable(rows)
            }
            let failed = nodes.filter { $0["ok"]?.boolValue != true }
            guard !failed.isEmpty else { return }
            let unanswered = failed.filter { $0["answered"]?.boolValue == false }
            let names = failed.compactMap { $0["name"]?.stringValue }.joined(separator: ", ")
            throw CLIFailure(message: "\(failed.count) of \(nodes.count) nodes did not apply it: \(names)",
                             code: unanswered.count == failed.count ? ExitStatus.timeout : ExitStatus.failure)
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show every member's key ids and which one is primary.")
        @OptionGroup var shared: Shared
        func run() throws { try shared.run([("action", .string("list"))]) }
    }

    struct Install: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Add a key (from a file written by `rumor keygen`) to every keyring.")
        @OptionGroup var shared: Shared
        @Argument(help: ArgumentHelp("The key file.", valueName: "KEYFILE")) var keyFile: String

        func run() throws {
            let key = try readKey(keyFile)
            try shared.run([("action", .string("install")), ("key", .string(key.secret.withUnsafeBytes { Base64.encode(Array($0)) }))])
        }
    }

    struct Use: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Make an installed key the primary key everywhere.")
        @OptionGroup var shared: Shared
        @Argument(help: ArgumentHelp("The key file, or the key id (8 hex characters).", valueName: "KEYFILE")) var key: String
        func run() throws { try shared.run([("action", .string("use")), ("key_id", .string(try keyID(key)))]) }
    }

    struct Remove: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Remove a key that is no longer primary from every keyring.")
        @OptionGroup var shared: Shared
        @Argument(help: ArgumentHelp("The key file, or the key id (8 hex characters).", valueName: "KEYFILE")) var key: String
        func run() throws { try shared.run([("action", .string("remove")), ("key_id", .string(try keyID(key)))]) }
    }
}

/// Reads a network key file, or fails with exit 65.
func readKey(_ path: String) throws -> NetworkKey {
    guard let bytes = readFile(path) else {
        throw CLIFailure(message: "cannot read key file \(path): \(String(cString: strerror(errno)))", code: ExitStatus.dataError)
    }
    switch NetworkKey.parse(fileText: String(decoding: bytes, as: UTF8.self)) {
    case .success(let key): return key
    case .failure(let error): throw CLIFailure(message: "key file \(path) \(error)", code: ExitStatus.dataError)
    }
}

/// A key id from a key file, or given directly as 8 hex characters.
func keyID(_ argument: String) throws -> String {
    if argument.count == 8, argument.allSatisfy(\.isHexDigit), readFile(argument) == nil { return argument.lowercased() }
    return try readKey(argument).idHex
}
