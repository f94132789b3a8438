import Foundation

/// A failure of the harness itself (a missing binary, a process that never got ready, a deadline passed),
/// described in one sentence so that the failing test says what went wrong.
struct HarnessError: Error, CustomStringConvertible {
    let description: String

    init(_ description: String) {
        self.description = description
    }
}

/// Finds the built `rumor` executable that the tests drive.
///
/// `$RUMOR_BIN` wins when set. Otherwise SwiftPM puts the executable next to the test binary
/// (`.build/<triple>/debug/`), so the search starts in the folder of `/proc/self/exe` and walks up to `.build`,
/// where it also tries `.build/debug/rumor`.
enum RumorBinary {
    static let located: Result<String, HarnessError> = locate()

    /// The path of the executable, or an error naming every place that was searched.
    static func path() throws -> String {
        try located.get()
    }

    private static let maxLevels = 8

    private static func locate() -> Result<String, HarnessError> {
        if let explicit = ProcessInfo.processInfo.environment["RUMOR_BIN"], !explicit.isEmpty {
            return isExecutableFile(explicit) ? .success(explicit)
                : .failure(HarnessError("RUMOR_BIN=\(explicit) is not an executable file"))
        }
        let executable = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        var directory = URL(fileURLWithPath: executable).deletingLastPathComponent()
        var searched: [String] = []
        for _ in 0..<maxLevels {
            var candidates = [directory.appendingPathComponent("rumor").path]
            if directory.lastPathComponent == ".build" {
                candidates.append(directory.appendingPathComponent("debug/rumor").path)
            }
            for candidate in candidates {
                searched.append(candidate)
                if isExecutableFile(candidate) { return .success(candidate) }
            }
            if directory.lastPathComponent == ".build" || directory.path == "/" { break }
            directory = directory.deletingLastPathComponent()
        }
        return .failure(HarnessError(
            "the rumor executable was not found (searched \(searched.joined(separator: ", "))); run `swift build` first or set RUMOR_BIN"
        ))
    }

    private static func isExecutableFile(_ path: String) -> Bool {
        var isDirectory: ObjCBool = false
        return FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) && !isDirectory.boolValue
            && FileManager.default.isExecutableFile(atPath: path)
    }
}
