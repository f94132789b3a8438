/// How long a test waits for something a working node does at once: long enough that a loaded 2-core CI machine
/// descheduling a node's loop for seconds still passes, so that only a broken node fails.
let patience: Duration = .seconds(30)

/// Reads `read` every `interval` until `isDone` accepts what it read, and returns the value read last, accepted
/// or not, for the caller's assertion to check and to show.
///
/// Bounded twice: by `timeout` on the continuous clock, and by `timeout / interval + 1` reads.
func observe<Value>(within timeout: Duration = patience, every interval: Duration = .milliseconds(20),
                    _ read: () async throws -> Value, until isDone: (Value) -> Bool) async throws -> Value {
    let deadline = ContinuousClock.now + timeout
    var value = try await read()
    for _ in 0..<(Int(timeout / interval) + 1) {
        if isDone(value) || ContinuousClock.now >= deadline { break }
        try await Task.sleep(for: interval)
        value = try await read()
    }
    return value
}
