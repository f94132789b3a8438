import Foundation
import Testing

/// Where the CLI looks for nodes: `--home` before or after the subcommand, else `$RUMOR_HOME`.
@Suite("The home directory option", .timeLimit(.minutes(1)))
struct HomeOptionTests {
    /// The stable part of a peer table: name, id, address, state per member.
    static func identity(_ rows: [PeerRow]) -> [String] {
        rows.map { "\($0.name) \($0.id) \($0.address) \($0.state) self=\($0.isSelf)" }.sorted()
    }

    @Test("`rumor --home H peers` equals `rumor peers --home H`, and RUMOR_HOME stands in for --home")
    func homeBeforeSubcommandAndFromEnvironment() throws {
        let home = try RumorHome()
        defer { home.shutdown() }
        // Started through RUMOR_HOME alone: its files must land in that home.
        let node = try home.start("x", passHome: false, environment: ["RUMOR_HOME": home.path])
        #expect(FileManager.default.fileExists(atPath: home.path + "/x/identity.key"), "start must use $RUMOR_HOME")
        let expected = try home.peers(of: "x")
        #expect(Self.identity(expected) == ["x \(node.id) \(node.listen) alive self=true"])

        let variants: [(label: String, arguments: [String], environment: [String: String?])] = [
            ("--home before the subcommand", ["--home", home.path, "peers", "--node", "x", "--json"], [:]),
            ("--home= before the subcommand", ["--home=\(home.path)", "peers", "--node", "x", "--json"], [:]),
            ("RUMOR_HOME", ["peers", "--node", "x", "--json"], ["RUMOR_HOME": home.path]),
            ("--home over a wrong RUMOR_HOME", ["peers", "--home", home.path, "--node", "x", "--json"], ["RUMOR_HOME": home.path + "/nowhere"]),
            ("--home before the subcommand over a wrong RUMOR_HOME", ["--home", home.path, "peers", "--node", "x", "--json"],
             ["RUMOR_HOME": home.path + "/nowhere"]),
        ]
        for variant in variants {
            let result = try home.rumor(variant.arguments, environment: variant.environment)
            #expect(result.exitCode == 0, "\(variant.label): \(result)")
            guard result.exitCode == 0, let rows = try result.json() as? [Any] else { continue }
            #expect(Self.identity(try rows.map(PeerRow.init)) == Self.identity(expected), "\(variant.label): \(result)")
        }

        let status = try home.rumor(["--home", home.path, "status", "--node", "x", "--json"])
        #expect(status.exitCode == 0 && (try? status.json() as? [String: Any])?["name"] as? String == "x", "\(status)")

        let elsewhere = try home.rumor(["peers", "--node", "x"], environment: ["RUMOR_HOME": home.path + "/nowhere"])
        #expect(elsewhere.exitCode == 69, "a RUMOR_HOME without the node must not find it: \(elsewhere)")
    }
}
