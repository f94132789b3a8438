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
}
