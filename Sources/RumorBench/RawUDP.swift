#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The raw baselines: plain blocking `sendto`/`recvfrom` on 127.0.0.1 between two threads, with the same
/// 4 MiB socket buffers a node asks for. No framing, no crypto, no event loop: what the kernel gives.
enum RawUDP {
    /// One flood: a sender thread calls `sendto` as fast as it can while a receiver thread counts what
    /// `recvfrom` returns. Rates are over the window after a short warm-up.
    struct Flood {
        var sentPerSecond: Double
        var receivedPerSecond: Double
        /// Cores used during the window by the sender and the receiver thread.
        var senderCPU: Double
        var receiverCPU: Double
        var loss: Double { sentPerSecond > 0 ? Swift.max(0, 1 - receivedPerSecond / sentPerSecond) : .nan }
    }

    static func flood(size: Int, window: Double) -> Flood {
        let receiver = RawSocket(receiveTimeoutMilliseconds: 50)
        let sender = RawSocket(receiveTimeoutMilliseconds: 50)
        let stop = StopFlag()
        let sent = Counter()
        let received = Counter()
        let destination = receiver.address
        let existing = Set(ThreadTime.threads())
        let receiving = JoinableThread {
            var buffer = [UInt8](repeating: 0, count: 65_536)
            var count = 0
            while !stop.isSet {
                if buffer.withUnsafeMutableBytes({ receiver.receive(into: $0) }) > 0 {
                    count += 1
                    received.store(count)
                }
            }
        }
        let receiverThread = ThreadTime.threads().first { !existing.contains($0) } ?? 0
        let sending = JoinableThread {
            let payload = [UInt8](repeating: 0xA5, count: size)
            var count = 0
            while !stop.isSet {
                for _ in 0..<64 where payload.withUnsafeBytes({ sender.send($0, to: destination) }) { count += 1 }
                sent.store(count)
            }
        }
        let senderThread = ThreadTime.threads().first { !existing.contains($0) && $0 != receiverThread } ?? 0
        pause(seconds: 0.1)
        let (start, sent0, received0) = (monotonicNanoseconds(), sent.current, received.current)
        let cpu0 = ThreadTime.sample([senderThread, receiverThread])
        pause(seconds: window)
        let (elapsed, sent1, received1) = (secondsSince(start), sent.current, received.current)
        let cpu = ThreadTime.utilisation(cpu0, ThreadTime.sample([senderThread, receiverThread]), seconds: elapsed)
        stop.set()
        sending.join()
        receiving.join()
        return Flood(sentPerSecond: Double(sent1 - sent0) / elapsed, receivedPerSecond: Double(received1 - received0) / elapsed,
                     senderCPU: cpu[0], receiverCPU: cpu[1])
    }

    /// Round trips of a `size`-byte datagram bounced back by an echo thread, in microseconds. A lost datagram
    /// (none on loopback in practice) costs its sample, not the run: each wait is bounded by a second. The
    /// calling thread (the client) and the echo thread run where `placement` says; the caller stays pinned.
    static func pingPong(count: Int, warmUp: Int, size: Int, placement: Placement = .any) -> [Double] {
        let echo = RawSocket(receiveTimeoutMilliseconds: 50)
        let client = RawSocket(receiveTimeoutMilliseconds: 1000)
        let stop = StopFlag()
        placement.pinCaller()
        let echoing = JoinableThread {
            placement.pinAnswerer()
            var buffer = [UInt8](repeating: 0, count: 2048)
            while !stop.isSet {
                var source = sockaddr_in()
                let received = buffer.withUnsafeMutableBytes { echo.receive(into: $0, from: &source) }
                if received > 0 { _ = buffer.withUnsafeBytes { echo.send(UnsafeRawBufferPointer(rebasing: $0[0..<received]), to: source) } }
            }
        }
        let payload = [UInt8](repeating: 0x5A, count: size)
        var buffer = [UInt8](repeating: 0, count: 2048)
        var samples: [Double] = []
        samples.reserveCapacity(count)
        for round in 0..<(warmUp + count) {
            let start = monotonicNanoseconds()
            guard payload.withUnsafeBytes({ client.send($0, to: echo.address) }) else { continue }
            guard buffer.withUnsafeMutableBytes({ client.receive(into: $0) }) > 0 else { continue }
            if round >= warmUp { samples.append(Double(monotonicNanoseconds() - start) / 1000) }
        }
        stop.set()
        echoing.join()
        return samples
    }
}

/// A blocking UDP socket bound to 127.0.0.1 on a free port, with a receive timeout so loops notice their end.
final class RawSocket: @unchecked Sendable {
    // Set once in init; each socket is then used by one thread at a time (send and receive are syscalls).
    let descriptor: Int32
    let address: sockaddr_in

    init(receiveTimeoutMilliseconds: Int) {
        let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        precondition(fd >= 0, "socket: \(String(cString: strerror(errno)))")
        var size: Int32 = 4 << 20
        _ = setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        _ = setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        var timeout = timeval(tv_sec: receiveTimeoutMilliseconds / 1000, tv_usec: (receiveTimeoutMilliseconds % 1000) * 1000)
        _ = setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var bound = sockaddr_in()
        bound.sin_family = sa_family_t(AF_INET)
        bound.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        bound.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let status = withUnsafeMutablePointer(to: &bound) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { raw -> Int32 in
                guard bind(fd, raw, length) == 0 else { return -1 }
                return getsockname(fd, raw, &length)
            }
        }
        precondition(status == 0, "bind: \(String(cString: strerror(errno)))")
        descriptor = fd
        address = bound
    }

    deinit { close(descriptor) }

    func send(_ bytes: UnsafeRawBufferPointer, to destination: sockaddr_in) -> Bool {
        var target = destination
        return withUnsafePointer(to: &target) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { raw in
                sendto(descriptor, bytes.baseAddress, bytes.count, 0, raw, socklen_t(MemoryLayout<sockaddr_in>.size)) >= 0
            }
        }
    }

    /// Bytes received (`recvfrom`, as a node calls it), or -1 on timeout or error.
    func receive(into buffer: UnsafeMutableRawBufferPointer) -> Int {
        var source = sockaddr_in()
        return receive(into: buffer, from: &source)
    }

    func receive(into buffer: UnsafeMutableRawBufferPointer, from source: inout sockaddr_in) -> Int {
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        return withUnsafeMutablePointer(to: &source) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { raw in
                recvfrom(descriptor, buffer.baseAddress, buffer.count, 0, raw, &length)
            }
        }
    }
}
