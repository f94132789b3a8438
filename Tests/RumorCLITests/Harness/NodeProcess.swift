import Foundation

/// A `rumor start` process that printed its ready line.
final class NodeProcess {
    let name: String
    let id: String
    /// The address of the ready line, e.g. `127.0.0.1:40123` or `[::1]:40123`.
    let listen: String
    let readyLine: String
    let process: Process

    var pid: Int32 { process.processIdentifier }

    /// The UDP port of `listen`.
    var port: UInt16 { listen.split(separator: ":").last.flatMap { UInt16($0) } ?? 0 }

    /// Reads `ready name=NAME id=HEX listen=ADDRESS`.
    init(readyLine: String, process: Process) throws {
        let words = readyLine.split(separator: " ")
        var fields: [String: String] = [:]
        for word in words.dropFirst() {
            guard let equals = word.firstIndex(of: "=") else { continue }
            fields[String(word[..<equals])] = String(word[word.index(after: equals)...])
        }
        guard words.first == "ready", words.count == 4, let name = fields["name"], let id = fields["id"], let listen = fields["listen"] else {
            throw HarnessError("not a ready line: \(readyLine.debugDescription)")
        }
        self.name = name
        self.id = id
        self.listen = listen
        self.readyLine = readyLine
        self.process = process
    }

    /// Waits for the process to exit; its exit status, or nil if it still runs at the deadline.
    func exitStatus(within timeout: Duration) -> Int32? {
        ProcessControl.waitForExit(process, before: .now + timeout) ? process.terminationStatus : nil
    }
}
