#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Rumor

/// The CLI's side of the control socket: one JSON request per line, one response per line.
final class ControlClient {
    let fd: Int32
    let name: String
    var reader: LineReader

    init(files: NodeFiles) throws {
        guard let fd = UnixSocket.connect(path: files.controlSocketPath) else {
            let reason = errno == ENOENT ? "no control socket at \(files.controlSocketPath)" : String(cString: strerror(errno))
            throw CLIFailure(message: "node '\(files.name)' is not running (\(reason))", code: ExitStatus.unavailable)
        }
        self.fd = fd
        name = files.name
        reader = LineReader(fd: fd, limit: 64 << 20)
    }

    deinit { close(fd) }

    func send(_ request: JSON) throws {
        guard UnixSocket.writeAll(fd, Array((request.text + "\n").utf8)) else {
            throw CLIFailure(message: "lost the connection to node '\(name)'", code: ExitStatus.unavailable)
        }
    }

    /// Reads the next line as JSON; nil at end of stream.
    func next() throws -> JSON? {
        switch reader.next() {
        case .end: return nil
        case .failed, .tooLong: throw CLIFailure(message: "lost the connection to node '\(name)'", code: ExitStatus.unavailable)
        case .line(let bytes):
            switch JSON.parse(bytes) {
            case .success(let json): return json
            case .failure(let error): throw CLIFailure(message: "node '\(name)' sent a malformed response: \(error)", code: ExitStatus.failure)
            }
        }
    }

    /// Sends a request and returns its successful response, or throws the mapped failure.
    func call(_ request: JSON) throws -> JSON {
        try send(request)
        guard let response = try next() else {
            throw CLIFailure(message: "node '\(name)' closed the connection", code: ExitStatus.unavailable)
        }
        try ControlClient.check(response)
        return response
    }

    static func check(_ response: JSON) throws {
        guard response["ok"]?.boolValue == true else {
            let message = response["error"]?.stringValue ?? "request failed"
            throw CLIFailure(message: message, code: exitCode(forErrorCode: response["code"]?.stringValue ?? ""))
        }
    }

    /// Maps a control-protocol error code to the CLI's exit code (Docs/CLI.md, "Exit codes").
    static func exitCode(forErrorCode code: String) -> Int32 {
        switch code {
        case "unknown_peer", "ambiguous_peer", "too_large": return ExitStatus.dataError
        case "empty_peer", "invalid_tags": return ExitStatus.usage
        case "timeout": return ExitStatus.timeout
        case "stopped", "busy": return ExitStatus.unavailable
        default: return ExitStatus.failure
        }
    }
}
