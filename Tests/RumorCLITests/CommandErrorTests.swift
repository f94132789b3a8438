import Foundation
import Testing

/// Scripts branch on exit codes and show stderr to people: every refusal is one line on stderr and the
/// documented code (64 usage, 65 bad data, 69 node unavailable, 75 timeout, 1 anything else).
@Suite("Refused commands", .timeLimit(.minutes(1)))
struct CommandErrorTests {
    static func expectRefusal(_ result: CommandResult, code: Int32, mentioning words: String? = nil,
                              sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(result.exitCode == code, "\(result)", sourceLocation: sourceLocation)
        #expect(result.hasOneStderrLine, "stderr must be exactly one line: \(result)", sourceLocation: sourceLocation)
        #expect(result.stderr.hasPrefix("rumor: "), "\(result)", sourceLocation: sourceLocation)
        #expect(result.stdout.isEmpty, "a refusal must print nothing on stdout: \(result)", sourceLocation: sourceLocation)
        if let words {
            #expect(result.stderr.contains(words), "stderr must mention \"\(words)\": \(result)", sourceLocation: sourceLocation)
        }
    }

    @Test("commands against a running node: unknown peer 65, empty peer 64, bad node name 64, wait timeout 75, second start 1")
    func refusalsAgainstARunningNode() throws {
        let home = try RumorHome()
        defer { home.shutdown() }
        let node = try home.start("a")

        Self.expectRefusal(try home.client("send", node: "a", ["ghost", "hi"]), code: 65, mentioning: "ghost")
        Self.expectRefusal(try home.client("send", node: "a", ["deadbeef00", "hi"]), code: 65, mentioning: "deadbeef00")
        Self.expectRefusal(try home.client("send", node: "a", ["", "hi"]), code: 64)
        Self.expectRefusal(try home.client("send", node: "a", ["a", "hi", "--timeout", "0"]), code: 64)
        // An error quoting input with a line break in it is still one line.
        Self.expectRefusal(try home.client("send", node: "a", ["gh\nost", "hi"]), code: 65, mentioning: "gh\\nost")
        for badName in ["a/b", "../a", "", "-a", "a\nb", "a\r\nb"] {
            Self.expectRefusal(try home.rumor(["peers", "--home", home.path, "--node=\(badName)"]), code: 64)
        }

        let wait = try home.client("wait", node: "a", ["--alive", "99", "--timeout", "0.5"])
        Self.expectRefusal(wait, code: 75)
        #expect(wait.elapsed >= .milliseconds(450) && wait.elapsed < .seconds(5), "wait --timeout 0.5 took \(format(wait.elapsed))")

        let again = try home.rumor(["start", "--home", home.path, "--name", "a", "--profile", "local"], timeout: .seconds(10))
        Self.expectRefusal(again, code: 1, mentioning: "already running")
        #expect(node.process.isRunning, "a refused second start must leave the first one running")
        #expect(try home.peers(of: "a").map(\.name) == ["a"])
    }

    /// `wait` waits for a node that is still starting (WaitForStartTests), so it says 69 once its timeout ends.
    @Test("commands for a node that is not running exit 69", arguments: [
        ["peers"], ["status"], ["leave"], ["watch"], ["wait", "--alive", "1", "--timeout", "1"], ["send", "b", "hi"],
    ])
    func nodeNotRunning(_ command: [String]) throws {
        let home = try RumorHome()
        defer { home.shutdown() }
        let result = try home.rumor([command[0], "--home", home.path, "--node", "ghost"] + command.dropFirst())
        Self.expectRefusal(result, code: 69, mentioning: "ghost")
    }

    /// One `rumor start` that must be refused; `HOME` in an argument stands for the test's home.
    struct BadStart: Sendable, CustomTestStringConvertible {
        let label: String
        let arguments: [String]
        let code: Int32
        var testDescription: String { label }
    }

    @Test("rumor start refuses bad input with the documented code", arguments: [
        BadStart(label: "missing --network-key file", arguments: ["--network-key", "HOME/missing.key"], code: 65),
        BadStart(label: "garbage --network-key file", arguments: ["--network-key", "HOME/garbage.key"], code: 65),
        BadStart(label: "16-byte --network-key file", arguments: ["--network-key", "HOME/short.key"], code: 65),
        BadStart(label: "garbage identity.key", arguments: ["--name", "broken"], code: 65),
        BadStart(label: "--listen nonsense", arguments: ["--listen", "nonsense"], code: 64),
        BadStart(label: "--listen without port", arguments: ["--listen", "1.2.3.4"], code: 64),
        BadStart(label: "--listen port out of range", arguments: ["--listen", "127.0.0.1:99999"], code: 64),
        BadStart(label: "--join nonsense", arguments: ["--join", "nonsense"], code: 64),
        BadStart(label: "name with a space", arguments: ["--name", "a b"], code: 64),
        BadStart(label: "name with a slash", arguments: ["--name", "a/b"], code: 64),
        BadStart(label: "name starting with a dot", arguments: ["--name", ".hidden"], code: 64),
        BadStart(label: "name starting with a dash", arguments: ["--name=-x"], code: 64),
        BadStart(label: "empty name", arguments: ["--name", ""], code: 64),
        BadStart(label: "65-character name", arguments: ["--name", String(repeating: "n", count: 65)], code: 64),
        BadStart(label: "unknown profile", arguments: ["--profile", "moon"], code: 64),
    ])
    func badStart(_ bad: BadStart) throws {
        let home = try RumorHome()
        defer { home.shutdown() }
        try "this is not a key\n".write(toFile: home.path + "/garbage.key", atomically: true, encoding: .utf8)
        try (Data(randomBytes(16)).base64EncodedString() + "\n").write(toFile: home.path + "/short.key", atomically: true, encoding: .utf8)
        try FileManager.default.createDirectory(atPath: home.path + "/broken", withIntermediateDirectories: false)
        try "not an identity\n".write(toFile: home.path + "/broken/identity.key", atomically: true, encoding: .utf8)

        let arguments = bad.arguments.map { $0.replacingOccurrences(of: "HOME", with: home.path) }
        let name = arguments.contains { $0.hasPrefix("--name") } ? [] : ["--name", "n"]
        let result = try home.rumor(["start", "--home", home.path] + name + arguments, timeout: .seconds(10))
        Self.expectRefusal(result, code: bad.code)
    }

    @Test("keygen writes a 0600 key file, prints only its id, and overwrites only with --force")
    func keygen() throws {
        let home = try RumorHome()
        defer { home.shutdown() }
        let path = home.path + "/mesh.key"

        let first = try home.rumor(["keygen", "--out", path])
        #expect(first.exitCode == 0, "\(first)")
        #expect(first.stderr.isEmpty, "\(first)")
        #expect(first.stdout.wholeMatch(of: /key_id=[0-9a-f]{8} path=(.+)\n/)?.output.1 == Substring(path), "\(first)")
        #expect(try permissions(path) == 0o600)
        let key = try String(contentsOfFile: path, encoding: .utf8)
        let keyText = key.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(Data(base64Encoded: keyText)?.count == 32, "the key file must hold 32 bytes in base64")
        #expect(!first.stdout.contains(keyText) && !first.stderr.contains(keyText), "keygen must never print the key")

        let refused = try home.rumor(["keygen", "--out", path])
        #expect(refused.exitCode != 0, "\(refused)")
        #expect(refused.hasOneStderrLine && refused.stdout.isEmpty, "\(refused)")
        #expect(try String(contentsOfFile: path, encoding: .utf8) == key, "a refused keygen must leave the file as it was")

        let forced = try home.rumor(["keygen", "--out", path, "--force"])
        #expect(forced.exitCode == 0, "\(forced)")
        let replaced = try String(contentsOfFile: path, encoding: .utf8)
        #expect(replaced != key)
        #expect(!forced.stdout.contains(replaced.trimmingCharacters(in: .whitespacesAndNewlines)))
        #expect(try permissions(path) == 0o600)
        #expect(forced.stdout != first.stdout, "a new key has a new key id")
    }

    @Test("start creates identity.key, network.key and control.sock readable by the owner only")
    func startCreatesPrivateFiles() throws {
        let home = try RumorHome()
        defer { home.shutdown() }
        let node = try home.start("a")
        #expect(node.readyLine.wholeMatch(of: /ready name=a id=[0-9a-f]{64} listen=127\.0\.0\.1:[1-9][0-9]*/) != nil, "\(node.readyLine)")

        #expect(try permissions(home.path + "/a/identity.key") == 0o600)
        #expect(try permissions(home.path + "/network.key") == 0o600)
        #expect(try permissions(home.path + "/a/control.sock") == 0o600)
        #expect(try FileManager.default.attributesOfItem(atPath: home.path + "/a/control.sock")[.type] as? FileAttributeType == .typeSocket)
        #expect(try permissions(home.path + "/a") == 0o700)
    }

    func permissions(_ path: String) throws -> Int {
        let mode = try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int
        return try #require(mode, "no permissions for \(path)") & 0o777
    }
}
