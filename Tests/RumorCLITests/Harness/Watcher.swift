import Foundation

/// The stdout of `rumor watch --json`, one event object per line.
final class Watcher {
    private let command: LaunchedCommand
    private var reader: PipeReader
    /// The `rumor watch` process.
    var process: Process { command.process }
    /// Every event read so far, in order.
    private(set) var events: [[String: Any]] = []

    init(_ command: LaunchedCommand) {
        self.command = command
        reader = PipeReader(command.stdout)
    }

    /// Message events read so far from `sender`.
    func messages(from sender: String) -> [[String: Any]] {
        events.filter { $0["event"] as? String == "message" && $0["from"] as? String == sender }
    }

    /// Reads events until one satisfies `predicate` (returned) or `timeout` passes (nil).
    /// - Throws: `HarnessError` when a line is not a JSON object or the stream ends.
    func next(within timeout: Duration, where predicate: ([String: Any]) -> Bool) throws -> [String: Any]? {
        let deadline = ContinuousClock.now + timeout
        for _ in 0..<100_000 {
            switch reader.nextLine(before: deadline) {
            case .timedOut: return nil
            case .end: throw HarnessError("the watch stream ended; events so far: \(events)")
            case .line(let line):
                guard let event = (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any] else {
                    throw HarnessError("watch --json printed a line that is not a JSON object: \(line.debugDescription)")
                }
                events.append(event)
                if predicate(event) { return event }
            }
        }
        return nil
    }
}
