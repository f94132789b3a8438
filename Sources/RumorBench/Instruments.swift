#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Dispatch
import Synchronization

// The instruments every section measures with: clocks, counters, threads, statistics, per-thread CPU time.

/// The monotonic clock, in nanoseconds.
func monotonicNanoseconds() -> UInt64 {
    var spec = timespec()
    clock_gettime(CLOCK_MONOTONIC, &spec)
    return UInt64(spec.tv_sec) * 1_000_000_000 + UInt64(spec.tv_nsec)
}

/// Seconds elapsed since `start` (a `monotonicNanoseconds()` reading).
func secondsSince(_ start: UInt64) -> Double { Double(monotonicNanoseconds() &- start) / 1e9 }

/// Sleeps the calling thread, resuming after EINTR.
func pause(seconds: Double) {
    guard seconds > 0 else { return }
    var request = timespec(tv_sec: Int(seconds), tv_nsec: Int((seconds - Double(Int(seconds))) * 1e9))
    var remaining = timespec()
    while nanosleep(&request, &remaining) != 0 && errno == EINTR { request = remaining }
}

/// Progress and the readable table go to stderr; stdout carries the JSON document only.
func progress(_ line: String) {
    writeAll("bench: \(line)\n", to: 2)
}

/// Writes all of `text` to a file descriptor (1 or 2), resuming after partial writes and EINTR.
func writeAll(_ text: String, to descriptor: Int32) {
    let bytes = Array(text.utf8)
    var offset = 0
    while offset < bytes.count {
        let written = bytes[offset...].withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
        if written > 0 { offset += written } else if written < 0, errno == EINTR { continue } else { return }
    }
}

/// A counter many threads add to and one thread reads (relaxed: only totals matter).
final class Counter: Sendable {
    private let value = Atomic<Int>(0)
    func add(_ amount: Int = 1) { value.add(amount, ordering: .relaxed) }
    func store(_ amount: Int) { value.store(amount, ordering: .relaxed) }
    var current: Int { value.load(ordering: .relaxed) }
}

/// A one-way switch, set by one thread and polled by others.
final class StopFlag: Sendable {
    private let value = Atomic<Bool>(false)
    func set() { value.store(true, ordering: .releasing) }
    var isSet: Bool { value.load(ordering: .acquiring) }
}

/// Holds the one value a callback hands back to a thread blocked in `waitForCallback`.
final class CallbackResult<Value: Sendable>: Sendable {
    private let value = Mutex<Value?>(nil)
    private let done = DispatchSemaphore(value: 0)

    func put(_ result: Value) {
        value.withLock { $0 = result }
        done.signal()
    }

    /// The value, or nil when none came within `timeout` seconds.
    func take(timeout: Double) -> Value? {
        guard done.wait(timeout: .now() + timeout) == .success else { return nil }
        return value.withLock { $0 }
    }
}

/// Calls a callback-style API and blocks until its completion runs (or `timeout` seconds pass: nil).
func waitForCallback<Value: Sendable>(timeout: Double, _ call: (@escaping @Sendable (Value) -> Void) -> Void) -> Value? {
    let result = CallbackResult<Value>()
    call { result.put($0) }
    return result.take(timeout: timeout)
}

/// An OS thread that can be joined: the baselines need two plain threads and nothing else.
final class JoinableThread {
    private var thread = pthread_t()

    private final class Box {
        let body: () -> Void
        init(_ body: @escaping () -> Void) { self.body = body }
    }

    init(_ body: @escaping () -> Void) {
        let box = Unmanaged.passRetained(Box(body)).toOpaque()
        let status = pthread_create(&thread, nil, { argument in
            guard let argument else { return nil }
            Unmanaged<Box>.fromOpaque(argument).takeRetainedValue().body()
            return nil
        }, box)
        precondition(status == 0, "pthread_create: \(String(cString: strerror(status)))")
    }

    func join() { pthread_join(thread, nil) }
}

/// Repeated measurements of one figure: the median is reported, min and max show the spread.
struct Samples {
    var values: [Double]

    init(_ values: [Double]) { self.values = values }

    var sorted: [Double] { values.sorted() }
    var median: Double {
        let s = sorted
        guard !s.isEmpty else { return .nan }
        return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
    }
    var min: Double { values.min() ?? .nan }
    var max: Double { values.max() ?? .nan }
    var mean: Double { values.isEmpty ? .nan : values.reduce(0, +) / Double(values.count) }

    /// Nearest-rank percentile, `p` in 0...100.
    func percentile(_ p: Double) -> Double {
        let s = sorted
        guard !s.isEmpty else { return .nan }
        let rank = Int((p / 100 * Double(s.count)).rounded(.up))
        return s[Swift.min(s.count - 1, Swift.max(0, rank - 1))]
    }

    /// (max − min) / median: how much the repeats disagree.
    var relativeSpread: Double { median > 0 ? (max - min) / median : .nan }
}

/// A division that says "no figure" (NaN, printed as null) instead of trapping or inventing infinity.
func ratio(_ numerator: Double, _ denominator: Double) -> Double {
    denominator > 0 && numerator.isFinite && denominator.isFinite ? numerator / denominator : .nan
}

/// On-CPU time of this process's threads (`/proc/self/task/TID/schedstat`, nanoseconds), to say which thread
/// bounds a throughput figure: a thread near 1.0 of a core during the window is the bottleneck.
enum ThreadTime {
    /// The thread ids of this process, ascending.
    static func threads() -> [Int32] {
        guard let directory = opendir("/proc/self/task") else { return [] }
        defer { closedir(directory) }
        var ids: [Int32] = []
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            if let id = Int32(name) { ids.append(id) }
        }
        return ids.sorted()
    }

    static func onCPU(_ thread: Int32) -> UInt64 {
        guard let text = readTextFile("/proc/self/task/\(thread)/schedstat"), let first = text.split(separator: " ").first else { return 0 }
        return UInt64(first) ?? 0
    }

    static func sample(_ threads: [Int32]) -> [UInt64] { threads.map(onCPU) }

    /// Fraction of one core each thread used between two samples `seconds` apart.
    static func utilisation(_ before: [UInt64], _ after: [UInt64], seconds: Double) -> [Double] {
        zip(before, after).map { Double($1 &- $0) / 1e9 / seconds }
    }
}
