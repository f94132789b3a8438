#if canImport(Glibc)
import Glibc
#endif

/// A UDP socket of the test's own, for throwing datagrams at a node (Foundation has no UDP API).
final class DatagramSocket {
    private let fd: Int32

    /// Opens an unbound IPv4 UDP socket.
    init() throws {
        fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        guard fd >= 0 else { throw HarnessError("socket(): \(String(cString: strerror(errno)))") }
    }

    deinit { close(fd) }

    /// Sends one datagram to the IPv4 loopback address, 127.0.0.1:`port`; sendto(2) failures throw.
    func send(_ bytes: [UInt8], toLoopbackPort port: UInt16) throws {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        let sent = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { raw in
                bytes.withUnsafeBytes { sendto(fd, $0.baseAddress, $0.count, 0, raw, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
        }
        guard sent == bytes.count else { throw HarnessError("sendto(127.0.0.1:\(port)) of \(bytes.count) bytes: \(String(cString: strerror(errno)))") }
    }

    /// True when a UDP socket can be bound to [::1]:0, i.e. the IPv6 loopback address exists here.
    static func ipv6LoopbackAvailable() -> Bool {
        let fd = socket(AF_INET6, Int32(SOCK_DGRAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = sockaddr_in6()
        address.sin6_family = sa_family_t(AF_INET6)
        address.sin6_addr = in6addr_loopback
        return withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in6>.size)) == 0 }
        }
    }
}
