import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Reads a child's output pipe without ever blocking past a deadline: `poll(2)` first, then one `read(2)`.
struct PipeReader {
    let fd: Int32
    private(set) var buffer: [UInt8] = []
    private(set) var isAtEnd = false

    init(_ handle: FileHandle) {
        fd = handle.fileDescriptor
    }

    /// Waits at most `milliseconds` for the pipe to be readable, then reads what is there.
    /// - Returns: true when bytes arrived or the pipe reached its end.
    @discardableResult
    mutating func pull(waitingAtMost milliseconds: Int32) -> Bool {
        guard !isAtEnd else { return false }
        var descriptor = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        let ready = poll(&descriptor, 1, max(0, milliseconds))
        guard ready > 0 else { return false }
        var chunk = [UInt8](repeating: 0, count: 65_536)
        let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if count > 0 {
            buffer.append(contentsOf: chunk.prefix(count))
        } else if count == 0 || (errno != EINTR && errno != EAGAIN) {
            isAtEnd = true
        }
        return true
    }

    enum Line: Equatable {
        case line(String)
        /// The pipe ended (the writer exited or closed it).
        case end
        case timedOut
    }

    /// The next complete line without its newline (the unterminated rest once the pipe has ended), waiting
    /// until `deadline` at most.
    mutating func nextLine(before deadline: ContinuousClock.Instant) -> Line {
        // Every round either returns or waits in poll(2) (at most 1 s), so the deadline bounds the rounds too.
        for _ in 0..<100_000 {
            if let newline = buffer.firstIndex(of: UInt8(ascii: "\n")) {
                let line = String(decoding: buffer[..<newline], as: UTF8.self)
                buffer.removeSubrange(...newline)
                return .line(line)
            }
            if isAtEnd {
                guard !buffer.isEmpty else { return .end }
                defer { buffer.removeAll() }
                return .line(String(decoding: buffer, as: UTF8.self))
            }
            let remaining = deadline - .now
            guard remaining > .zero else { return .timedOut }
            pull(waitingAtMost: Int32(min(remaining.milliseconds + 1, 1000)))
        }
        return .timedOut
    }

    /// Takes everything read so far.
    mutating func takeAll() -> [UInt8] {
        defer { buffer.removeAll() }
        return buffer
    }
}

extension Duration {
    var milliseconds: Int64 {
        components.seconds * 1000 + components.attoseconds / 1_000_000_000_000_000
    }

    var seconds: Double {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }
}
