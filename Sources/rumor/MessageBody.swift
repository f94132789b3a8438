#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Rumor
import RumorWire

/// The body of `send` and `broadcast`: MESSAGE, else the contents of `--file`, else all of standard input; and
/// the node's size limits, checked before the body goes to the node.
///
/// The body travels to the node in base64 on one request line, and the control socket refuses a line over
/// `ControlServer.maxRequestBytes` (256 KiB) before the node looks at the size: a body of about 196 KB or more
/// failed as a bad request (exit 1) or a lost connection (exit 69) instead of `too_large` (exit 65). Checked
/// here, every oversized body gets the node's own error text and exit code.
enum MessageBody {
    /// The largest direct message (`send`).
    static let directLimit = MessagingSettings.maxUserMessageSize
    /// The largest fire-and-forget datagram (`send --unreliable`).
    static let datagramLimit = Frame.maxDatagramPayload
    /// The largest broadcast.
    static let broadcastLimit = BroadcastSettings.maxSize

    /// Reads the body: `message` (its bytes exactly as given on the command line), else the contents of `file`,
    /// else all of standard input.
    /// - Throws: `CLIFailure` (exit 65) when the body cannot be read or is over `limit` bytes.
    static func read(message: String?, file: String?, limit: Int) throws -> [UInt8] {
        let body: [UInt8]
        if let message {
            body = MessageOperand.rawBytes(of: message)
        } else if let file {
            guard let bytes = readFile(file) else {
                throw CLIFailure(message: "cannot read --file \(file): \(String(cString: strerror(errno)))", code: ExitStatus.dataError)
            }
            body = bytes
        } else {
            body = try readStandardInput()
        }
        if let error = oversize(body, limit: limit) {
            throw CLIFailure(message: error.description, code: ControlClient.exitCode(forErrorCode: ControlJSON.errorCode(error)))
        }
        return body
    }

    /// All of standard input; an empty input (`</dev/null`) is an empty body.
    /// - Throws: `CLIFailure` (exit 65) when it cannot be read: closed (`<&-`), a directory, an I/O error. An
    ///   empty body in its place would be sent and acknowledged, a false success.
    static func readStandardInput() throws -> [UInt8] {
        guard let bytes = readAll(STDIN_FILENO) else {
            throw CLIFailure(message: "cannot read standard input: \(String(cString: strerror(errno)))", code: ExitStatus.dataError)
        }
        return bytes
    }

    /// The error the node gives a body over `limit` (`too_large`), or nil when it fits.
    static func oversize(_ body: [UInt8], limit: Int) -> RumorError? {
        body.count > limit ? .messageTooLarge(body.count, limit: limit) : nil
    }
}
