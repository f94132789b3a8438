#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Testing

/// Replays the fuzz targets' inputs through the same targets and invariants that Scripts/fuzz.sh runs under
/// libFuzzer: `FuzzHarness/` here is a link to Fuzz/Sources/FuzzHarness. This test target is the one that links
/// every module the targets reach.
///
/// - Fuzz/Corpus/TARGET/: the seeds. Each MUST keep every invariant.
/// - Fuzz/Regressions/TARGET/: inputs that once broke an invariant or crashed. Each runs in a child process (a
///   crash there fails one case instead of the whole run) and MUST keep every invariant — unless its name starts
///   with a `KnownIssue`: then it MUST still show that issue, so that a fix is noticed and the issue retired.
@Suite("Fuzz regressions")
struct FuzzRegressionTests {
    static let fuzzDirectory: String = {
        // #filePath is …/Tests/RumorNodeTests/FuzzRegressionTests.swift.
        var parts = "\(#filePath)".split(separator: "/", omittingEmptySubsequences: false)
        parts.removeLast(3)
        return parts.joined(separator: "/") + "/Fuzz"
    }()

    static func files(in directory: String) -> [String] {
        guard let stream = opendir(directory) else { return [] }
        defer { closedir(stream) }
        var names: [String] = []
        while let entry = readdir(stream) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            if !name.hasPrefix(".") { names.append(directory + "/" + name) }
        }
        return names.sorted()
    }

    static func contents(of path: String) -> [UInt8]? {
        guard let file = fopen(path, "rb") else { return nil }
        defer { fclose(file) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = chunk.withUnsafeMutableBytes { fread($0.baseAddress, 1, $0.count, file) }
            if count == 0 { break }
            bytes += chunk.prefix(count)
        }
        return bytes
    }

    /// "TARGET/FILE" for every regression input.
    static let regressions: [String] = FuzzTargets.all.flatMap { target in
        files(in: "\(fuzzDirectory)/Regressions/\(target.name)").map { "\(target.name)/" + $0.split(separator: "/").last.map(String.init)! }
    }

    static func knownIssue(named file: String) -> KnownIssue? {
        KnownIssue.allCases.first { file.split(separator: "/").last?.hasPrefix($0.rawValue) == true }
    }

    @Test("the seeds of every target keep its invariants", arguments: FuzzTargets.all.map { $0.name })
    func seeds(of name: String) throws {
        let target = try #require(FuzzTargets.all.first { $0.name == name })
        let paths = Self.files(in: "\(Self.fuzzDirectory)/Corpus/\(name)")
        #expect(!paths.isEmpty, "no seeds in Fuzz/Corpus/\(name): run Scripts/fuzz.sh --seeds")
        for path in paths {
            let bytes = try #require(Self.contents(of: path))
            do {
                try target.run(bytes)
            } catch {
                Issue.record("\(path): \(error)")
            }
        }
    }

    @Test("every regression input keeps the invariants, or still shows its known issue", arguments: regressions)
    func regression(_ file: String) async throws {
        let path = "\(Self.fuzzDirectory)/Regressions/\(file)"
        let target = String(file.split(separator: "/")[0])
        let issue = Self.knownIssue(named: file)
        switch issue {
        case nil:
            await #expect(processExitsWith: .success, "\(file) breaks an invariant: replay it with Fuzz/.build-fuzz/release/fuzz-\(target) \(path)") {
                [target = target as String, path = path as String] in
                Self.replay(target: target, path: path, expecting: nil)
            }
        case let issue? where issue.traps:
            await #expect(processExitsWith: .signal(Self.trapSignal),
                          "\(file) no longer traps: if \(issue.rawValue) is fixed, retire it (Fuzz/Sources/FuzzHarness/KnownIssues.swift)") {
                [target = target as String, path = path as String] in
                setenv("RUMOR_FUZZ_HIT_KNOWN_TRAPS", "1", 1)
                Self.replay(target: target, path: path, expecting: nil)
            }
        case let issue?:
            await #expect(processExitsWith: .exitCode(Self.knownIssueExit),
                          "\(file) no longer shows \(issue.rawValue): if it is fixed, retire it (Fuzz/Sources/FuzzHarness/KnownIssues.swift)") {
                [target = target as String, path = path as String, expected = issue.rawValue as String] in
                Self.replay(target: target, path: path, expecting: expected)
            }
        }
    }

    @Test("every known issue has a regression input that shows it")
    func knownIssuesHaveInputs() {
        for issue in KnownIssue.allCases {
            #expect(Self.regressions.contains { Self.knownIssue(named: $0) == issue }, "no input in Fuzz/Regressions/ named \(issue.rawValue)")
        }
    }

    /// Swift traps raise SIGILL on x86_64 and SIGTRAP on arm64.
    #if arch(x86_64)
    static let trapSignal = SIGILL
    #else
    static let trapSignal = SIGTRAP
    #endif
    static let knownIssueExit: CInt = 3

    /// Runs one input in this (child) process and exits: 0 when every invariant holds, `knownIssueExit` when the
    /// one broken is the `expecting` known issue, 1 otherwise.
    static func replay(target name: String, path: String, expecting issue: String?) -> Never {
        guard let target = FuzzTargets.all.first(where: { $0.name == name }), let bytes = contents(of: path) else { exit(2) }
        do {
            try target.run(bytes)
        } catch {
            print("\(path): \(error)")
            exit(issue != nil && error.knownIssue?.rawValue == issue ? knownIssueExit : 1)
        }
        exit(0)
    }
}
