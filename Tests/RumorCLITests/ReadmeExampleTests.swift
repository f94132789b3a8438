import Foundation
import Testing

@Suite struct ReadmeExampleTests {
    /// The package root, from this file's path (Tests/RumorCLITests/…).
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    @Test func theReadmeShowsTheEmbeddingExampleThatTheBuildCompiles() throws {
        let example = try String(contentsOf: Self.root.appendingPathComponent("Examples/Embedding/main.swift"), encoding: .utf8)
        let readme = try String(contentsOf: Self.root.appendingPathComponent("README.md"), encoding: .utf8)
        #expect(readme.contains("```swift\n" + example + "```"), "README.md's embedding example differs from Examples/Embedding/main.swift")
        let binary = try RumorBinary.path()
        let built = URL(fileURLWithPath: binary).deletingLastPathComponent().appendingPathComponent("rumor-embedding-example").path
        #expect(FileManager.default.isExecutableFile(atPath: built), "the example was not built at \(built)")
    }

    /// The README's `rumor status` sample shows the lines and counters the binary prints, in the same order:
    /// the values differ from run to run, the labels and keys must not.
    @Test(.timeLimit(.minutes(1)))
    func theReadmeStatusSampleHasTheRealLinesAndCounters() throws {
        let readme = try String(contentsOf: Self.root.appendingPathComponent("README.md"), encoding: .utf8)
        let sample = try #require(readme.components(separatedBy: "$ rumor status --node alpha\n").dropFirst().first?
            .components(separatedBy: "```").first, "README.md has no `rumor status --node alpha` sample")
        let home = try RumorHome()
        defer { home.shutdown() }
        _ = try home.start("alpha")
        let status = try home.client("status", node: "alpha")
        #expect(status.exitCode == 0, "\(status)")
        #expect(Self.shape(sample) == Self.shape(status.stdout), "README.md:\n\(sample)\nrumor status:\n\(status.stdout)")
    }

    /// Each line's label and the names of its `key=value` fields.
    static func shape(_ text: String) -> [String] {
        text.split(separator: "\n").map { line in
            let label = line.split(separator: ":", maxSplits: 1).first.map(String.init) ?? ""
            let keys = line.split(separator: " ").compactMap { field -> String? in
                let parts = field.split(separator: "=", maxSplits: 1)
                return parts.count == 2 ? String(parts[0]) : nil
            }
            return ([label] + keys).joined(separator: " ")
        }
    }
}
