#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import CRumorSys
import RumorWire

/// A non-blocking UDP socket bound to one address, IPv4 or IPv6. The event loop polls its descriptor.
final class UDPSocket: @unchecked Sendable {
    // The descriptor is set once; only the event loop thread sends, receives and closes.
    let descriptor: Int32
    private var isClosed = false
    let localAddress: PeerAddress

    /// Receive buffer asked of the kernel: large enough that a burst at full rate is not dropped.
    static let receiveBufferBytes: Int32 = 4 << 20

    init(binding address: PeerAddress) throws {
        let family = address.family == .ipv4 ? AF_INET : AF_INET6
        let fd = try retryingSyscall("socket") { socket(family, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0) }
        var size = UDPSocket.receiveBufferBytes
        _ = setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        _ = setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        if family == AF_INET6 {
            var only: Int32 = 1
            _ = setsockopt(fd, Int32(IPPROTO_IPV6), IPV6_V6ONLY, &only, socklen_t(MemoryLayout<Int32>.size))
        }
        do {
            _ = try SocketAddress.with(address) { pointer, length in
                try retryingSyscall("bind") { bind(fd, pointer, length) }
            }
            var storage = sockaddr_storage()
            var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
            _ = try withUnsafeMutablePointer(to: &storage) { pointer in
                try pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { raw in
                    try retryingSyscall("getsockname") { getsockname(fd, raw, &length) }
                }
            }
            guard let bound = SocketAddress.peerAddress(from: &storage) else { throw SystemError(call: "getsockname", errno: EAFNOSUPPORT) }
            descriptor = fd
            localAddress = bound
        } catch {
            Glibc.close(fd)
            throw error
        }
    }

    /// Sends one datagram. Returns false (after counting nothing) when the kernel refused it: a full buffer,
    /// an unreachable network, or an address of the other family. UDP is lossy; the protocol recovers.
    func send(_ bytes: UnsafeRawBufferPointer, to address: PeerAddress) -> Bool {
        guard address.family == localAddress.family else { return false }
        return SocketAddress.with(address) { pointer, length in
            while true {
                let sent = sendto(descriptor, bytes.baseAddress, bytes.count, Int32(MSG_DONTWAIT), pointer, length)
                if sent >= 0 { return true }
                if errno == EINTR { continue }
                return false
            }
        }
    }

    /// Sends every datagram of `batch` (sendmmsg) and empties it. A datagram the kernel refuses is skipped, not
    /// retried: a full socket buffer refuses the rest of the batch. Returns how many went out (and their bytes)
    /// and how many not.
    func send(_ batch: DatagramBatch) -> (sent: Int, bytes: Int, failed: Int) {
        var start = 0
        var failed = 0
        var bytes = 0
        // Each pass moves `start` forward by at least one datagram, so this ends within `count` passes.
        while start < batch.count {
            let sent = batch.send(on: descriptor, from: start)
            if sent > 0 {
                for index in start..<(start + sent) { bytes += batch.bytes(index).count }
                start += sent
            } else if errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS {
                failed += batch.count - start
                break
            } else {
                // An error of the first datagram alone (an unreachable network, the other address family).
                failed += 1
                start += 1
            }
        }
        let sent = batch.count - failed
        batch.count = 0
        return (sent, bytes, failed)
    }

    /// Closes the socket (once) so its port is free again as soon as the node stops.
    func close() {
        guard !isClosed else { return }
        isClosed = true
        Glibc.close(descriptor)
    }

    deinit { close() }
}

/// Conversions between `PeerAddress` and the C socket address structures.
enum SocketAddress {
    static func with<R>(_ address: PeerAddress, _ body: (UnsafePointer<sockaddr>, socklen_t) throws -> R) rethrows -> R {
        var storage = sockaddr_storage()
        let length = write(address, into: &storage)
        return try withUnsafePointer(to: &storage) { pointer in
            try pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { raw in try body(raw, length) }
        }
    }

    /// Fills `storage` with `address` and returns its length; allocates nothing (this runs per datagram sent).
    static func write(_ address: PeerAddress, into storage: inout sockaddr_storage) -> socklen_t {
        withUnsafeMutablePointer(to: &storage) { pointer in
            switch address.family {
            case .ipv4:
                return pointer.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { sin in
                    sin.pointee = sockaddr_in()
                    sin.pointee.sin_family = sa_family_t(AF_INET)
                    sin.pointee.sin_port = address.port.bigEndian
                    sin.pointee.sin_addr.s_addr = address.ipv4Host.bigEndian
                    return socklen_t(MemoryLayout<sockaddr_in>.size)
                }
            case .ipv6:
                return pointer.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { sin6 in
                    sin6.pointee = sockaddr_in6()
                    sin6.pointee.sin6_family = sa_family_t(AF_INET6)
                    sin6.pointee.sin6_port = address.port.bigEndian
                    withUnsafeMutableBytes(of: &sin6.pointee.sin6_addr) { raw in
                        raw.storeBytes(of: address.high.bigEndian, toByteOffset: 0, as: UInt64.self)
                        raw.storeBytes(of: address.low.bigEndian, toByteOffset: 8, as: UInt64.self)
                    }
                    return socklen_t(MemoryLayout<sockaddr_in6>.size)
                }
            }
        }
    }

    static func peerAddress(from storage: inout sockaddr_storage) -> PeerAddress? {
        switch Int32(storage.ss_family) {
        case AF_INET:
            return withUnsafePointer(to: &storage) { pointer in
                pointer.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { sin in
                    PeerAddress(ipv4: UInt32(bigEndian: sin.pointee.sin_addr.s_addr), port: UInt16(bigEndian: sin.pointee.sin_port))
                }
            }
        case AF_INET6:
            return withUnsafePointer(to: &storage) { pointer in
                pointer.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { sin6 in
                    withUnsafeBytes(of: sin6.pointee.sin6_addr) { raw in
                        PeerAddress(ipv6High: UInt64(bigEndian: raw.loadUnaligned(fromByteOffset: 0, as: UInt64.self)),
                                    low: UInt64(bigEndian: raw.loadUnaligned(fromByteOffset: 8, as: UInt64.self)),
                                    port: UInt16(bigEndian: sin6.pointee.sin6_port))
                    }
                }
            }
        default:
            return nil
        }
    }
}

/// Resolves `HOST:PORT` (a literal or a name such as `localhost`) with getaddrinfo, preferring `family`.
enum Resolver {
    static func resolve(_ endpoint: Endpoint, preferring family: PeerAddress.Family? = nil) -> PeerAddress? {
        if let literal = PeerAddress(numericHost: endpoint.host, port: endpoint.port) { return literal }
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_DGRAM.rawValue)
        hints.ai_family = family == .ipv4 ? AF_INET : family == .ipv6 ? AF_INET6 : AF_UNSPEC
        var result: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(endpoint.host, nil, &hints, &result) == 0, let first = result else { return nil }
        defer { freeaddrinfo(first) }
        var cursor: UnsafeMutablePointer<addrinfo>? = first
        while let info = cursor {
            if let sockaddrPointer = info.pointee.ai_addr {
                var storage = sockaddr_storage()
                withUnsafeMutableBytes(of: &storage) { raw in
                    raw.copyMemory(from: UnsafeRawBufferPointer(start: sockaddrPointer, count: Int(info.pointee.ai_addrlen)))
                }
                if let address = SocketAddress.peerAddress(from: &storage) { return address.withPort(endpoint.port) }
            }
            cursor = info.pointee.ai_next
        }
        return nil
    }
}
