import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Testing

/// Smaller promises of Docs/CLI.md that scripts and people notice: honest summaries, usage errors that name
/// the culprit, tidy output, and the home folder.
@Suite("The CLI contract in detail", .timeLimit(.minutes(1)))
struct UsageContractTests {
    @Test("send --unreliable --lines counts the lines sent, and claims no acknowledgement")
    func unreliableLinesSummary() throws {
        let home = try RumorHome()
        defer { home.shutdown() }
        try home.startPair()
        let watcher = try home.watch("b", syncingWith: "a")

        let text = try home.rumor(["send", "--home", home.path, "--node", "a", "b", "--unreliable", "--lines"], input: Array("u1\nu2\n".utf8))
        #expect(text.exitCode == 0, "\(text)")
        #expect(text.stdout == "sent=2 failed=0 peer=b unreliable\n", "\(text)")
        #expect(try watcher.next(within: .seconds(5)) { $0["text"] as? String == "u2" } != nil, "the datagrams did not arrive")

        let json = try home.rumor(["send", "--home", home.path, "--node", "a", "b", "--unreliable", "--lines", "--json"], input: Array("u3\nu4\n".utf8))
        #expect(json.exitCode == 0, "\(json)")
        let summary = try json.json() as? [String: Any]
        #expect(summary?["sent"] as? Int == 2, "\(json)")
        #expect(summary?["acknowledged"] as? Int == 0, "\(json)")
        #expect(summary?["failed"] as? Int == 0, "\(json)")
        #expect(summary?["unreliable"] as? Bool == true, "\(json)")

        let acknowledged = try home.rumor(["send", "--home", home.path, "--node", "a", "b", "--lines"], input: Array("r1\nr2\n".utf8))
        #expect(acknowledged.stdout == "acknowledged=2 failed=0 peer=b\n", "the reliable summary must not change: \(acknowledged)")
    }

    /// One command line (after `rumor`) that must fail with 64 while parsing; `HOME` stands for the test's home.
    struct BadUsage: Sendable, CustomTestStringConvertible {
        let arguments: [String]
        let mentioning: String
        var testDescription: String { arguments.joined(separator: " ") }
    }

    @Test("usage errors name what is wrong: out-of-range numbers, unknown words, empty paths", arguments: [
        BadUsage(arguments: ["send", "--home", "HOME", "--node", "a", "b", "hi", "--timeout", "-1"], mentioning: "above 0"),
        BadUsage(arguments: ["wait", "--home", "HOME", "--node", "a", "--alive", "-1"], mentioning: "at least 1"),
        BadUsage(arguments: ["wait", "--home", "HOME", "--node", "a", "--alive", "1", "--timeout", "-1"], mentioning: "--timeout"),
        BadUsage(arguments: ["keys", "list", "--home", "HOME", "--node", "a", "--timeout", "-1"], mentioning: "above 0"),
        BadUsage(arguments: ["keys", "frob", "--home", "HOME", "--node", "a"], mentioning: "'frob'"),
        BadUsage(arguments: ["keys", "--home", "HOME", "--node", "a", "frob"], mentioning: "'frob'"),
        BadUsage(arguments: ["keys", "--home", "HOME", "--node", "a"], mentioning: "missing keys action"),
        BadUsage(arguments: ["keys", "--node", "a", "--json"], mentioning: "missing keys action"),
        BadUsage(arguments: ["help", "nosuch"], mentioning: "'nosuch'"),
        BadUsage(arguments: ["help", "keys", "frob"], mentioning: "'keys frob'"),
        BadUsage(arguments: ["keygen", "--out", ""], mentioning: "--out must not be empty"),
        BadUsage(arguments: ["peers", "--home", "", "--node", "a"], mentioning: "--home must not be empty"),
        BadUsage(arguments: ["--home", "", "status", "--node", "a"], mentioning: "--home must not be empty"),
    ])
    func usageErrors(_ bad: BadUsage) throws {
        let home = try RumorHome()
        defer { home.shutdown() }
        let result = try home.rumor(bad.arguments.map { $0 == "HOME" ? home.path : $0 })
        CommandErrorTests.expectRefusal(result, code: 64, mentioning: bad.mentioning)
    }

    @Test("help for real commands still exits 0, and keys --help shows no line-continuation backslashes")
    func helpPages() throws {
        let home = try RumorHome()
        defer { home.shutdown() }
        let keys = try home.rumor(["keys", "--help"])
        #expect(keys.exitCode == 0 && keys.stdout.contains("USAGE: rumor keys"), "\(keys)")
        #expect(!keys.stdout.contains("\\"), "\(keys.stdout)")
        let install = try home.rumor(["help", "keys", "install"])
        #expect(install.exitCode == 0 && install.stdout.contains("USAGE: rumor keys install"), "\(install)")
    }

    /// The CLI takes `keys --timeout` up to 86400, as for `send`; the node once refused more than 3600 with
    /// `bad_request`, so `rumor keys list --timeout 5000` failed with exit 1 after its own check had passed.
    @Test("keys accepts every --timeout the CLI accepts")
    func keysTimeoutUpToADay() throws {
        let home = try RumorHome()
        defer { home.shutdown() }
        _ = try home.start("a")
        for timeout in ["5000", "86400"] {
            let list = try home.client("keys", node: "a", ["list", "--local", "--timeout", timeout])
            #expect(list.exitCode == 0 && list.stdout.hasPrefix("NODE "), "\(list)")
        }
        CommandErrorTests.expectRefusal(try home.client("keys", node: "a", ["list", "--timeout", "86401"]), code: 64, mentioning: "86400")
    }

    @Test("peers prints aligned columns without trailing spaces")
    func peersWithoutTrailingSpaces() throws {
        let home = try RumorHome()
        defer { home.shutdown() }
        _ = try home.start("a")
        let peers = try home.client("peers", node: "a")
        #expect(peers.exitCode == 0, "\(peers)")
        let lines = peers.stdout.split(separator: "\n")
        #expect(lines.count == 2, "\(peers)")
        #expect(lines.first?.hasPrefix("NAME  ID ") == true, "\(peers)")
        for line in lines { #expect(!line.hasSuffix(" "), "trailing space in \(String(line).debugDescription)") }
        #expect(lines.last?.hasSuffix(" self") == true, "\(peers)")
    }

    @Test("the first start creates missing folders above HOME, each 0700")
    func startCreatesMissingParents() throws {
        let home = try RumorHome()
        defer { home.shutdown() }
        let deep = home.path + "/missing/parent/home"
        _ = try home.start("a", options: ["--home", deep], passHome: false)
        for path in [home.path + "/missing", home.path + "/missing/parent", deep, deep + "/a"] {
            #expect(try Self.mode(path) == 0o700, "\(path)")
        }
    }

    @Test("start warns on stderr about key files that others can read, and starts all the same")
    func startWarnsAboutExposedKeyFiles() throws {
        let home = try RumorHome()
        defer { home.shutdown() }
        let keyPath = home.path + "/mesh.key"
        #expect(try home.rumor(["keygen", "--out", keyPath]).exitCode == 0)
        let first = try home.start("a", options: ["--network-key", keyPath])
        #expect(!home.log(of: "a").contains("warning:"), "private files give no warning: \(home.log(of: "a"))")
        ProcessControl.stop(first.process, signal: SIGTERM)
        #expect(first.exitStatus(within: .seconds(5)) == 0)

        #expect(chmod(keyPath, 0o644) == 0 && chmod(home.path + "/a/identity.key", 0o640) == 0)
        let second = try home.start("a", options: ["--network-key", keyPath])
        #expect(second.id == first.id)
        let log = home.log(of: "a")
        #expect(log.contains("rumor: warning: \(keyPath) is readable by others (mode 0644); chmod 600 it\n"), "\(log)")
        #expect(log.contains("rumor: warning: \(home.path)/a/identity.key is readable by others (mode 0640); chmod 600 it\n"), "\(log)")
    }

    static func mode(_ path: String) throws -> Int {
        let mode = try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int
        return try #require(mode, "no permissions for \(path)") & 0o777
    }
}
