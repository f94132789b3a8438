#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A `rumor start` process: spawned with its stdout on a pipe (for the ready line) and its stderr in a log
/// file, stopped by PID. Every PID is also appended to a file so that Scripts/bench.sh can stop what a
/// crashed bench left behind.
final class ChildProcess {
    let name: String
    let pid: pid_t
    let logPath: String
    /// The read end of the child's stdout, non-blocking; -1 once closed.
    private(set) var output: Int32
    private var pending: [UInt8] = []
    private(set) var exitStatus: Int32?

    init(binary: String, arguments: [String], name: String, logPath: String, pidFile: String) throws {
        var pipeEnds: [Int32] = [-1, -1]
        guard pipe(&pipeEnds) == 0 else { throw BenchError("pipe: \(String(cString: strerror(errno)))") }
        // Children are spawned from this one thread, so no other spawn can inherit the ends before this.
        for end in pipeEnds { _ = fcntl(end, F_SETFD, FD_CLOEXEC) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, pipeEnds[1], 1)
        posix_spawn_file_actions_addopen(&actions, 2, logPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        let argv: [UnsafeMutablePointer<CChar>?] = ([binary] + arguments).map { strdup($0) } + [nil]
        defer { for argument in argv { free(argument) } }
        var child = pid_t()
        let status = posix_spawn(&child, binary, &actions, nil, argv, environ)
        close(pipeEnds[1])
        guard status == 0 else {
            close(pipeEnds[0])
            throw BenchError("posix_spawn \(binary): \(String(cString: strerror(status)))")
        }
        _ = fcntl(pipeEnds[0], F_SETFL, fcntl(pipeEnds[0], F_GETFL) | O_NONBLOCK)
        self.name = name
        self.pid = child
        self.logPath = logPath
        self.output = pipeEnds[0]
        appendLine(String(child), to: pidFile)
    }

    deinit { closeOutput() }

    /// Reads what the pipe holds and returns the complete lines; nil at end of file (the child closed stdout).
    func readLines() -> [String]? {
        guard output >= 0 else { return nil }
        var chunk = [UInt8](repeating: 0, count: 4096)
        var lines: [String] = []
        while true {
            let count = chunk.withUnsafeMutableBytes { read(output, $0.baseAddress, $0.count) }
            if count > 0 {
                pending.append(contentsOf: chunk[0..<count])
                while let newline = pending.firstIndex(of: 10) {
                    lines.append(String(decoding: pending[..<newline], as: UTF8.self))
                    pending.removeSubrange(...newline)
                }
                continue
            }
            if count == 0 {
                closeOutput()
                return lines.isEmpty ? nil : lines
            }
            if errno == EINTR { continue }
            return lines
        }
    }

    func closeOutput() {
        if output >= 0 { close(output) }
        output = -1
    }

    /// True while the process has not exited (reaps it when it has).
    var isRunning: Bool {
        guard exitStatus == nil else { return false }
        var status: Int32 = 0
        let result = waitpid(pid, &status, WNOHANG)
        if result == pid || (result < 0 && errno == ECHILD) {
            exitStatus = status
            return false
        }
        return true
    }

    func signal(_ number: Int32) {
        if isRunning { kill(pid, number) }
    }

    /// The last `count` lines of the child's stderr, for an error report.
    func logTail(_ count: Int = 5) -> String {
        guard let text = readTextFile(logPath) else { return "" }
        return text.split(separator: "\n").suffix(count).joined(separator: " | ")
    }

    /// SIGTERM to every child (a graceful leave), SIGKILL to those still running after `grace` seconds; reaps
    /// all. Returns how many needed SIGKILL.
    @discardableResult
    static func stopAll(_ children: [ChildProcess], grace: Double) -> Int {
        for child in children { child.signal(SIGTERM) }
        let deadline = monotonicNanoseconds() + UInt64(grace * 1e9)
        while children.contains(where: \.isRunning), monotonicNanoseconds() < deadline { pause(seconds: 0.02) }
        let stubborn = children.filter(\.isRunning)
        for child in stubborn { kill(child.pid, SIGKILL) }
        for child in stubborn where child.exitStatus == nil {
            var status: Int32 = 0
            _ = waitpid(child.pid, &status, 0)
            child.exitStatus = status
        }
        for child in children { child.closeOutput() }
        return stubborn.count
    }
}

/// A client of a node's control socket (newline-delimited JSON, Docs/CLI.md), non-blocking.
final class ControlConnection {
    private(set) var descriptor: Int32
    private var pending: [UInt8] = []

    init(path: String) throws {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw BenchError("socket(AF_UNIX): \(String(cString: strerror(errno)))") }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else {
            Glibc.close(fd)
            throw BenchError("control socket path too long: \(path)")
        }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
        let status = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard status == 0 else {
            let reason = String(cString: strerror(errno))
            Glibc.close(fd)
            throw BenchError("connect \(path): \(reason)")
        }
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        descriptor = fd
    }

    deinit { close() }

    func close() {
        if descriptor >= 0 { Glibc.close(descriptor) }
        descriptor = -1
    }

    /// Writes one request line (requests are small: one write, retried on EINTR/EAGAIN for up to a second).
    func send(_ line: String) throws {
        let bytes = Array((line + "\n").utf8)
        var offset = 0
        let deadline = monotonicNanoseconds() + 1_000_000_000
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
            if written > 0 { offset += written; continue }
            guard written < 0, errno == EINTR || errno == EAGAIN, monotonicNanoseconds() < deadline else {
                throw BenchError("control socket write failed: \(String(cString: strerror(errno)))")
            }
            pause(seconds: 0.001)
        }
    }

    /// Complete lines available now; nil when the node closed the connection.
    func readLines() -> [String]? {
        var chunk = [UInt8](repeating: 0, count: 16_384)
        var lines: [String] = []
        while true {
            let count = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count > 0 {
                pending.append(contentsOf: chunk[0..<count])
                while let newline = pending.firstIndex(of: 10) {
                    lines.append(String(decoding: pending[..<newline], as: UTF8.self))
                    pending.removeSubrange(...newline)
                }
                continue
            }
            if count == 0 { return lines.isEmpty ? nil : lines }
            if errno == EINTR { continue }
            return lines
        }
    }

    /// Sends `request` and waits (at most `timeout` seconds) for its one-line answer.
    func request(_ request: String, timeout: Double) throws -> String {
        try send(request)
        let deadline = monotonicNanoseconds() + UInt64(timeout * 1e9)
        while monotonicNanoseconds() < deadline {
            guard let lines = readLines() else { throw BenchError("the node closed its control connection") }
            if let first = lines.first { return first }
            var fd = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
            _ = poll(&fd, 1, 50)
        }
        throw BenchError("no answer to \(request) within \(timeout) s")
    }
}

/// A whole small file (/proc entries, logs), or nil.
func readTextFile(_ path: String) -> String? {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { return nil }
    defer { close(fd) }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 8192)
    while bytes.count < 16 << 20 {
        let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if count < 0 && errno == EINTR { continue }
        guard count > 0 else { break }
        bytes.append(contentsOf: chunk[0..<count])
    }
    return String(decoding: bytes, as: UTF8.self)
}

func appendLine(_ line: String, to path: String) {
    let fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
    guard fd >= 0 else { return }
    defer { close(fd) }
    let bytes = Array((line + "\n").utf8)
    _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
}

/// What /proc says about one process: CPU time used (user + system) and resident memory: VmRSS (every resident
/// page it maps, shared library pages included), RssAnon (its own heap and stacks), and Pss (shared pages
/// divided among the processes sharing them).
struct ProcessSample {
    /// On-CPU nanoseconds of the threads alive now (`/proc/PID/task/*/schedstat`). `/proc/PID/stat` counts in
    /// 10 ms clock ticks: an idle node uses about 5 ms in a quick run's 5 s window, so most nodes read 0 ticks and
    /// a few 1 or 2, and the per-node minimum and maximum said nothing. Falls back to the ticks, converted, when
    /// the kernel has no schedstat.
    var cpuNanoseconds: UInt64
    var rssKiB: Int
    var rssAnonKiB: Int
    var pssKiB: Int

    init?(pid: pid_t) {
        guard let stat = readTextFile("/proc/\(pid)/stat"), let close = stat.lastIndex(of: ")"),
              let status = readTextFile("/proc/\(pid)/status") else { return nil }
        // Fields after "pid (comm) ": state is field 3, utime field 14, stime field 15.
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 13, let user = Int(fields[11]), let system = Int(fields[12]) else { return nil }
        func kibibytes(_ key: String, in text: String = status) -> Int? {
            for line in text.split(separator: "\n") where line.hasPrefix(key + ":") {
                return line.split(whereSeparator: { $0 == " " || $0 == "\t" }).dropFirst().first.flatMap { Int($0) }
            }
            return nil
        }
        guard let rss = kibibytes("VmRSS") else { return nil }
        cpuNanoseconds = Self.onCPU(pid: pid) ?? UInt64(Double(user + system) / Self.ticksPerSecond * 1e9)
        rssKiB = rss
        rssAnonKiB = kibibytes("RssAnon") ?? 0
        pssKiB = readTextFile("/proc/\(pid)/smaps_rollup").flatMap { kibibytes("Pss", in: $0) } ?? 0
    }

    static let ticksPerSecond = Double(sysconf(Int32(_SC_CLK_TCK)))

    /// The sum of the first field of each thread's schedstat, or nil if a thread has none.
    static func onCPU(pid: pid_t) -> UInt64? {
        guard let directory = opendir("/proc/\(pid)/task") else { return nil }
        defer { closedir(directory) }
        var total: UInt64 = 0
        var threads = 0
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            guard Int32(name) != nil else { continue }
            guard let text = readTextFile("/proc/\(pid)/task/\(name)/schedstat"),
                  let first = text.split(separator: " ").first, let nanoseconds = UInt64(first) else { return nil }
            total += nanoseconds
            threads += 1
        }
        return threads > 0 ? total : nil
    }

    /// Resident KiB by what is mapped (a file's name, `[heap]`, `[stack]`, or `anonymous`), largest first:
    /// what a process's VmRSS is made of (`/proc/PID/smaps`).
    static func residentByMapping(pid: pid_t) -> [(String, Int)] {
        guard let smaps = readTextFile("/proc/\(pid)/smaps") else { return [] }
        var totals: [String: Int] = [:]
        var current = "anonymous"
        for line in smaps.split(separator: "\n") {
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard let first = fields.first else { continue }
            if first.contains("-"), first.allSatisfy({ $0.isHexDigit || $0 == "-" }) {
                current = fields.count >= 6 ? String(fields[5].split(separator: "/").last ?? fields[5]) : "anonymous"
            } else if first == "Rss:", fields.count >= 2, let kib = Int(fields[1]) {
                totals[current, default: 0] += kib
            }
        }
        return totals.filter { $0.value > 0 }.sorted { ($1.value, $0.key) < ($0.value, $1.key) }
    }
}
