#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Dispatch
import CRumorSys
import Rumor

/// Two in-process nodes (profile `local`, 127.0.0.1, port 0) in a temporary home, `b` joined through `a`,
/// both seeing two members alive. Every figure of this file drives the library's `package` callback API
/// from one caller thread, as an embedding program would, with no CLI process per message.
final class NodePair {
    let a: RumorNode
    let b: RumorNode
    static let receiverName = "bench-b"
    /// Messages `b` delivered, by kind, counted by a subscriber (so nothing lands in the inbox).
    let datagramsReceived = Counter()
    let directReceived = Counter()
    private var subscription: UInt64 = 0
    /// The calling thread and the two event-loop threads, to see which one a figure saturates.
    private var threads: [Int32] = []

    init(home: String) throws {
        // Member changes are logged at info level (to stderr); the bench keeps its stderr for progress.
        var first = NodeConfiguration(name: "bench-a", home: home, profile: .local)
        first.logger.logLevel = .warning
        let existing = ThreadTime.threads()
        a = try RumorNode.start(first)
        let loopA = ThreadTime.threads().filter { !existing.contains($0) }
        var second = NodeConfiguration(name: NodePair.receiverName, home: home,
                                       join: [Endpoint(host: "127.0.0.1", port: a.listenAddress.port)], profile: .local)
        second.logger.logLevel = .warning
        b = try RumorNode.start(second)
        let loopB = ThreadTime.threads().filter { !existing.contains($0) && !loopA.contains($0) }
        threads = [getpid(), loopA.first ?? 0, loopB.first ?? 0]
        for node in [a, b] {
            let alive: Result<Int, RumorError>? = waitForCallback(timeout: 35) { node.waitForAlive(2, timeout: .seconds(30), completion: $0) }
            guard case .success = alive else { throw BenchError("\(node.name) did not see 2 members alive within 30 s: \(String(describing: alive))") }
        }
        subscription = b.subscribe { [datagramsReceived, directReceived] event in
            guard case .message(let message) = event else { return }
            switch message.kind {
            case .datagram: datagramsReceived.add()
            case .direct: directReceived.add()
            case .broadcast: break
            }
        }
    }

    /// Pins this (calling) thread and `a`'s event loop to the placement's sending CPU, `b`'s loop to its answering
    /// CPU. A node's loop thread is found once, at start; `.any` gives every thread all CPUs back.
    /// Returns false if a thread could not be pinned (or was not found).
    @discardableResult
    func place(_ placement: Placement) -> Bool {
        var pinned = placement.pinCaller()
        for (thread, cpu) in [(threads[1], placement.cpus.sender), (threads[2], placement.cpus.answerer)] {
            pinned = thread > 0 && rumor_pin_thread(thread, cpu) == 0 && pinned
        }
        return pinned
    }

    func stop() {
        b.unsubscribe(subscription)
        for node in [a, b] { _ = waitForCallback(timeout: 5) { (done: @escaping @Sendable (Bool) -> Void) in node.leave { done(true) } } }
    }

    /// Cores used during a window: the caller's thread, the sender's and the receiver's event loop.
    struct Cores {
        var caller: Double
        var senderLoop: Double
        var receiverLoop: Double
    }

    // MARK: - Fire-and-forget

    struct Flood {
        var sentPerSecond: Double
        var receivedPerSecond: Double
        var cores: Cores
        /// Over the whole run (warm-up included), after the receiver went quiet: 1 − received ÷ sent.
        var loss: Double
        var refused: Int
    }

    /// Calls `sendUnreliable` in a loop with at most `inFlight` calls not yet completed (so the loop's command
    /// queue stays bounded), for a warm-up and then `window` seconds.
    func fireAndForget(size: Int, window: Double, inFlight: Int = 256) -> Flood {
        let payload = [UInt8](repeating: 0xA5, count: size)
        let gate = DispatchSemaphore(value: inFlight)
        let sent = Counter()
        let refused = Counter()
        let receivedBefore = datagramsReceived.current
        let flood = drive(window: window, completed: sent, received: datagramsReceived) {
            gate.wait()
            a.sendUnreliable(payload, to: NodePair.receiverName) { result in
                if case .success = result { sent.add() } else { refused.add() }
                gate.signal()
            }
        }
        drain(gate, inFlight, timeout: 10)
        settle(datagramsReceived)
        let lost = 1 - Double(datagramsReceived.current - receivedBefore) / Double(max(1, sent.current))
        return Flood(sentPerSecond: flood.completed, receivedPerSecond: flood.received, cores: flood.cores, loss: max(0, lost),
                     refused: refused.current)
    }

    // MARK: - Acknowledged

    struct Acked {
        var messagesPerSecond: Double
        var megabytesPerSecond: Double
        var cores: Cores
        var failed: Int
    }

    /// Keeps `inFlight` acknowledged sends outstanding and counts completions.
    func acknowledged(size: Int, window: Double, inFlight: Int) -> Acked {
        let payload = [UInt8](repeating: 0x3C, count: size)
        let gate = DispatchSemaphore(value: inFlight)
        let acknowledged = Counter()
        let failed = Counter()
        let rate = drive(window: window, completed: acknowledged, received: directReceived) {
            gate.wait()
            a.send(payload, to: NodePair.receiverName, timeout: .seconds(10)) { result in
                if case .success = result { acknowledged.add() } else { failed.add() }
                gate.signal()
            }
        }
        drain(gate, inFlight, timeout: 15)
        return Acked(messagesPerSecond: rate.completed, megabytesPerSecond: rate.completed * Double(size) / 1e6, cores: rate.cores,
                     failed: failed.current)
    }

    // MARK: - Round trip

    /// Sequential acknowledged sends of `size` bytes, timed by the caller from the call to its completion
    /// (microseconds), and the node's own send→ack measure from the receipt.
    func roundTrips(count: Int, warmUp: Int, size: Int) -> (caller: [Double], receipt: [Double], failed: Int) {
        let payload = [UInt8](repeating: 0x01, count: size)
        var caller: [Double] = []
        var receipt: [Double] = []
        var failed = 0
        for round in 0..<(warmUp + count) {
            let start = monotonicNanoseconds()
            let result: Result<SendReceipt, RumorError>? = waitForCallback(timeout: 15) {
                a.send(payload, to: NodePair.receiverName, timeout: .seconds(10), completion: $0)
            }
            let elapsed = Double(monotonicNanoseconds() - start) / 1000
            guard case .success(let sent) = result else {
                failed += 1
                continue
            }
            if round >= warmUp {
                caller.append(elapsed)
                receipt.append(Double(sent.roundTrip.components.attoseconds) / 1e12 + Double(sent.roundTrip.components.seconds) * 1e6)
            }
        }
        return (caller, receipt, failed)
    }

    /// Sequential authenticated pings of `b` (`RumorNode.ping`): the node's own round trip, timed on `a`'s event
    /// loop from the ping's way out to the socket to its ack's arrival, and the same pings timed by this caller
    /// (microseconds).
    func pings(count: Int, warmUp: Int) -> (node: [Double], caller: [Double], failed: Int) {
        var node: [Double] = []
        var caller: [Double] = []
        var failed = 0
        node.reserveCapacity(count)
        caller.reserveCapacity(count)
        for round in 0..<(warmUp + count) {
            let start = monotonicNanoseconds()
            let result: Result<Duration, RumorError>? = waitForCallback(timeout: 15) {
                a.ping(NodePair.receiverName, timeout: .seconds(10), completion: $0)
            }
            let elapsed = Double(monotonicNanoseconds() - start) / 1000
            guard case .success(let roundTrip) = result else {
                failed += 1
                continue
            }
            if round >= warmUp {
                node.append(Double(roundTrip.components.attoseconds) / 1e12 + Double(roundTrip.components.seconds) * 1e6)
                caller.append(elapsed)
            }
        }
        return (node, caller, failed)
    }

    // MARK: - Inside

    /// Runs `issue` in a loop on this thread: 0.1 s of warm-up, then `window` seconds whose completions and
    /// deliveries are counted. Returns both rates per second of the window.
    private func drive(window: Double, completed: Counter, received: Counter, issue: () -> Void)
        -> (completed: Double, received: Double, cores: Cores) {
        let start = monotonicNanoseconds()
        let warmUpEnd = start + 100_000_000
        let end = warmUpEnd + UInt64(window * 1e9)
        var mark: (time: UInt64, completed: Int, received: Int, cpu: [UInt64])?
        while true {
            for _ in 0..<32 { issue() }
            let now = monotonicNanoseconds()
            if mark == nil, now >= warmUpEnd { mark = (now, completed.current, received.current, ThreadTime.sample(threads)) }
            if now >= end { break }
        }
        let now = monotonicNanoseconds()
        let (completedNow, receivedNow, cpuNow) = (completed.current, received.current, ThreadTime.sample(threads))
        guard let mark else { return (.nan, .nan, Cores(caller: .nan, senderLoop: .nan, receiverLoop: .nan)) }
        let seconds = Double(now - mark.time) / 1e9
        let cores = ThreadTime.utilisation(mark.cpu, cpuNow, seconds: seconds)
        return (Double(completedNow - mark.completed) / seconds, Double(receivedNow - mark.received) / seconds,
                Cores(caller: cores[0], senderLoop: cores[1], receiverLoop: cores[2]))
    }

    /// Waits for every outstanding call to complete (bounded), then gives the permits back: libdispatch traps
    /// when a semaphore is released holding less than it started with.
    private func drain(_ gate: DispatchSemaphore, _ permits: Int, timeout: Double) {
        let deadline = DispatchTime.now() + timeout
        for _ in 0..<permits { _ = gate.wait(timeout: deadline) }
        for _ in 0..<permits { gate.signal() }
    }

    /// Waits until `counter` stops moving for 100 ms (at most 3 s): the receiver has drained its socket.
    private func settle(_ counter: Counter) {
        let deadline = monotonicNanoseconds() + 3_000_000_000
        var last = -1
        while counter.current != last, monotonicNanoseconds() < deadline {
            last = counter.current
            pause(seconds: 0.1)
        }
    }
}

/// A failure of the bench itself (not a slow figure): the section reports it as its "reason".
struct BenchError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
