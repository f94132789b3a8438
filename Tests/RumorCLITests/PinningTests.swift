import Foundation
import Testing

@Suite struct PinningTests {
    @Test(.timeLimit(.minutes(1)))
    func aPinnedNodeKeepsUnknownIdentitiesOutEvenWhenAPeerVouchesForThem() throws {
        let home = try RumorHome()
        defer { home.shutdown() }
        let b = try home.start("b")
        // a allows only b (through a file, with a comment), and joins through b.
        let allowFile = home.path + "/allowed"
        #expect(FileManager.default.createFile(atPath: allowFile, contents: Data("# the one peer a trusts\n\(b.id)  # b\n".utf8)))
        _ = try home.start("a", join: [b.listen], options: ["--allow-file", allowFile])
        _ = try home.start("c", join: [b.listen])
        try home.waitUntil(["b", "c"], see: ["a", "b", "c"], within: .seconds(10))
        try eventually("a refusing c", within: .seconds(10)) { () throws -> Probe<Void> in
            let status = try home.status(of: "a")
            return (counter(status, "dropped.not_allowed") ?? 0) > 0 ? .met(()) : .pending("no not_allowed drops yet")
        }
        #expect(try home.peers(of: "a").map(\.name).sorted() == ["a", "b"])

        let bad = try home.rumor(["start", "--home", home.path, "--name", "d", "--allow", "not-an-id"])
        #expect(bad.exitCode == 64, "\(bad)")
        #expect(bad.hasOneStderrLine)
    }
}
