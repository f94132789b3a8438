#if canImport(Glibc)
import Glibc
#endif
import RumorWire

/// Captures real datagrams on their way to the flood's target, for the flood to replay: a packet socket
/// (`AF_PACKET`, cooked, IPv4 only) on the loopback interface, keeping the UDP payloads addressed to the
/// target's address and port. Needs root (CAP_NET_RAW); without it the flood runs without replays.
enum FloodCapture {
    /// `ETH_P_IP` of <linux/if_ether.h>: IPv4 packets only.
    static let ethernetTypeIPv4: UInt16 = 0x0800
    /// `PACKET_OUTGOING` of <linux/if_packet.h>: loopback shows every packet twice, once leaving, once arriving.
    static let packetOutgoing: UInt8 = 4
    static let ipProtocolUDP: UInt8 = 17

    /// `struct sockaddr_ll` of <linux/if_packet.h>, which Swift's Glibc module does not import: its size and
    /// the offsets of the fields used here.
    enum LinkAddress {
        static let size = socklen_t(20)
        static let family = 0
        static let protocolNumber = 2
        static let interfaceIndex = 4
        static let packetType = 10
    }

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    /// Listens on `lo` for `seconds` and returns up to `limit` distinct UDP payloads sent to `target`.
    /// - Throws: `Failure` naming the system call when the packet socket cannot be opened or bound.
    static func capture(to target: sockaddr_in, seconds: Double, limit: Int) throws -> [[UInt8]] {
        let protocolNumber = Int32(ethernetTypeIPv4.bigEndian)
        let fd = socket(AF_PACKET, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), protocolNumber)
        guard fd >= 0 else { throw Failure(description: "socket(AF_PACKET): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        let interface = if_nametoindex("lo")
        guard interface > 0 else { throw Failure(description: "if_nametoindex(lo): \(String(cString: strerror(errno)))") }
        var link = sockaddr_storage()
        withUnsafeMutableBytes(of: &link) { raw in
            raw.storeBytes(of: UInt16(AF_PACKET), toByteOffset: LinkAddress.family, as: UInt16.self)
            raw.storeBytes(of: ethernetTypeIPv4.bigEndian, toByteOffset: LinkAddress.protocolNumber, as: UInt16.self)
            raw.storeBytes(of: Int32(interface), toByteOffset: LinkAddress.interfaceIndex, as: Int32.self)
        }
        let bound = withUnsafePointer(to: &link) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, LinkAddress.size) }
        }
        guard bound == 0 else { throw Failure(description: "bind(AF_PACKET, lo): \(String(cString: strerror(errno)))") }
        var timeout = timeval(tv_sec: 0, tv_usec: 100_000)
        _ = setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))

        let address = UInt32(bigEndian: target.sin_addr.s_addr)
        let port = UInt16(bigEndian: target.sin_port)
        var seen = Set<[UInt8]>()
        var kept: [[UInt8]] = []
        var packet = [UInt8](repeating: 0, count: 65_536)
        let start = monotonicNanoseconds()
        while secondsSince(start) < seconds, kept.count < limit {
            var source = sockaddr_storage()
            var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
            let count = packet.withUnsafeMutableBytes { buffer in
                withUnsafeMutablePointer(to: &source) { pointer in
                    pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { recvfrom(fd, buffer.baseAddress, buffer.count, 0, $0, &length) }
                }
            }
            let packetType = withUnsafeBytes(of: &source) { $0[LinkAddress.packetType] }
            guard count > 0, packetType != packetOutgoing else { continue }
            guard let payload = udpPayload(packet[0..<count], to: address, port: port), seen.insert(payload).inserted else { continue }
            kept.append(payload)
        }
        return kept
    }

    /// The payload of an IPv4 UDP packet to `address:port` (host byte order), if that is what `packet` is and
    /// the payload is one a node could accept (2 to 1,200 bytes).
    static func udpPayload(_ packet: ArraySlice<UInt8>, to address: UInt32, port: UInt16) -> [UInt8]? {
        let ip = packet.startIndex
        guard packet.count >= 28, packet[ip] >> 4 == 4, packet[ip + 9] == ipProtocolUDP else { return nil }
        let destination = packet[(ip + 16)..<(ip + 20)].reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
        let udp = ip + Int(packet[ip] & 0x0F) * 4
        guard destination == address, udp + 8 <= packet.endIndex,
              UInt16(packet[udp + 2]) << 8 | UInt16(packet[udp + 3]) == port else { return nil }
        let udpLength = Int(packet[udp + 4]) << 8 | Int(packet[udp + 5])
        let end = udp + udpLength
        guard udpLength >= 8, end <= packet.endIndex else { return nil }
        let payload = Array(packet[(udp + 8)..<end])
        return (2...PacketBody.maxDatagramSize).contains(payload.count) ? payload : nil
    }
}
