import Foundation

extension RumorHome {
    /// Runs `/bin/sh -c SCRIPT` (`$0` the rumor binary, `$1` this home) with `input` on its standard input and
    /// waits for it: for what `Process` cannot set up, such as a closed descriptor or argument bytes that are
    /// not UTF-8.
    func shell(_ script: String, input: [UInt8] = [], timeout: Duration = .seconds(20)) throws -> CommandResult {
        let pipe = Pipe()
        let command = try launchShell(script, input: pipe)
        try pipe.fileHandleForWriting.write(contentsOf: Data(input))
        try pipe.fileHandleForWriting.close()
        return try command.finish(timeout: timeout)
    }

    /// The messages in `node`'s inbox, oldest first, as their `--json` objects.
    func inbox(of node: String) throws -> [[String: Any]] {
        let result = try client("inbox", node: node, ["--json"])
        guard result.exitCode == 0 else { throw HarnessError("inbox failed: \(result)") }
        return try result.stdout.split(separator: "\n").map { line in
            guard let message = (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any] else {
                throw HarnessError("inbox --json printed a line that is not a JSON object: \(line.debugDescription)")
            }
            return message
        }
    }
}
