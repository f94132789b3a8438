import Testing
import RumorWire

@Suite("PeerAddress and Endpoint")
struct PeerAddressTests {
    @Test("Endpoint splits HOST:PORT, names and IPv6 literals included", arguments: [
        ("127.0.0.1:0", "127.0.0.1", UInt16(0)),
        ("[::1]:7946", "::1", 7946),
        ("localhost:80", "localhost", 80),
        ("node-7.example.org:65535", "node-7.example.org", 65535),
        ("[2001:db8::1]:00443", "2001:db8::1", 443),
    ])
    func parsesEndpoints(text: String, host: String, port: UInt16) {
        #expect(Endpoint(parsing: text) == Endpoint(host: host, port: port))
    }

    @Test("Endpoint rejects text that is not HOST:PORT", arguments: [
        "nonsense", "1.2.3.4", "1.2.3.4:99999", "1.2.3.4:65536", "[::1]", "::1:80", ":80", "host:", "host:-1",
        "host:8a", "host:+80", "host: 80", "host:080000", "host:٨٠", "[::1]80", "[::1:80", "[]:80", "", ":",
        // A bracket inside the host: `[x` would describe itself as `[x:80`, which does not parse back.
        "[[x]:80", "[x[]:80", "x]:80", "a[b:80",
    ])
    func rejectsBadEndpoints(text: String) {
        #expect(Endpoint(parsing: text) == nil)
    }

    @Test("Endpoint's description brackets IPv6 hosts")
    func endpointDescription() {
        #expect(Endpoint(host: "localhost", port: 80).description == "localhost:80")
        #expect(Endpoint(host: "::1", port: 7946).description == "[::1]:7946")
    }

    @Test("PeerAddress parses numeric literals only")
    func parsesNumericAddresses() throws {
        let v4 = try #require(PeerAddress(parsing: "127.0.0.1:0"))
        #expect(v4.family == .ipv4)
        #expect(v4.addressBytes == [127, 0, 0, 1])
        #expect(v4.port == 0)
        let v6 = try #require(PeerAddress(parsing: "[::1]:7946"))
        #expect(v6.family == .ipv6)
        #expect(v6.addressBytes == [UInt8](repeating: 0, count: 15) + [1])
        #expect(v6.port == 7946)
        #expect(PeerAddress(parsing: "localhost:80") == nil)
        #expect(PeerAddress(parsing: "1.2.3:80") == nil)
        #expect(PeerAddress(parsing: "256.1.1.1:80") == nil)
        #expect(PeerAddress(parsing: "[::g]:80") == nil)
        #expect(PeerAddress(numericHost: "[::1]", port: 1) == nil)
    }

    @Test("a NUL byte cannot smuggle junk past the literal parser")
    func rejectsEmbeddedNUL() {
        #expect(PeerAddress(parsing: "1.2.3.4\u{0}junk:80") == nil)
        #expect(PeerAddress(numericHost: "::1\u{0}x", port: 80) == nil)
    }

    @Test("description is HOST:PORT with IPv6 in brackets", arguments: [
        (PeerAddress(ipv4: [127, 0, 0, 1], port: 7946), "127.0.0.1:7946"),
        (PeerAddress(ipv4: [0, 0, 0, 0], port: 0), "0.0.0.0:0"),
        (PeerAddress(ipv4: [255, 255, 255, 255], port: 65535), "255.255.255.255:65535"),
        (Fixtures.loopback6, "[::1]:80"),
        (Fixtures.ipv6, "[2001:db8::42]:443"),
        (PeerAddress(ipv6: [UInt8](repeating: 0, count: 16), port: 1), "[::]:1"),
        (PeerAddress(ipv6: [UInt8](repeating: 0, count: 10) + [0xFF, 0xFF, 192, 0, 2, 1], port: 9), "[::ffff:192.0.2.1]:9"),
        (PeerAddress(ipv6: [0xFE, 0x80] + [UInt8](repeating: 0, count: 13) + [1], port: 7946), "[fe80::1]:7946"),
    ])
    func describes(address: PeerAddress, text: String) {
        #expect(address.description == text)
        #expect(PeerAddress(parsing: text) == address)
    }

    @Test("host is the address without brackets or port")
    func host() {
        #expect(Fixtures.ipv4.host == "10.0.0.1")
        #expect(Fixtures.ipv6.host == "2001:db8::42")
    }

    @Test("random addresses survive description and parsing")
    func descriptionRoundTrip() throws {
        var generator = SeededGenerator(seed: 3)
        for _ in 0..<2_000 {
            let port = UInt16.random(in: .min ... .max, using: &generator)
            let address = Bool.random(using: &generator)
                ? PeerAddress(ipv4: generator.bytes(4), port: port)
                : PeerAddress(ipv6: generator.bytes(16), port: port)
            let parsed = try #require(PeerAddress(parsing: address.description))
            #expect(parsed == address)
            #expect(parsed.addressBytes == address.addressBytes)
        }
    }

    @Test("loopback and unspecified are recognised in both families")
    func classification() {
        #expect(PeerAddress(ipv4: [127, 1, 2, 3], port: 1).isLoopback)
        #expect(!PeerAddress(ipv4: [128, 0, 0, 1], port: 1).isLoopback)
        #expect(Fixtures.loopback6.isLoopback)
        #expect(!Fixtures.ipv6.isLoopback)
        #expect(PeerAddress(ipv4: [0, 0, 0, 0], port: 1).isUnspecified)
        #expect(!PeerAddress(ipv4: [0, 0, 0, 1], port: 1).isUnspecified)
        #expect(PeerAddress(ipv6: [UInt8](repeating: 0, count: 16), port: 1).isUnspecified)
        #expect(!Fixtures.loopback6.isUnspecified)
    }

    @Test("withPort keeps the address and family")
    func withPort() {
        #expect(Fixtures.ipv4.withPort(1) == PeerAddress(ipv4: [10, 0, 0, 1], port: 1))
        #expect(Fixtures.ipv6.withPort(2).description == "[2001:db8::42]:2")
        #expect(Fixtures.ipv4.withPort(7946) == Fixtures.ipv4)
    }

    @Test("an IPv4 address never equals an IPv6 one")
    func familiesDiffer() {
        let v4 = PeerAddress(ipv4: [0, 0, 0, 0], port: 5)
        let v6 = PeerAddress(ipv6: [UInt8](repeating: 0, count: 16), port: 5)
        #expect(v4 != v6)
        #expect(Set([v4, v6, v4]).count == 2)
    }

    @Test("wire form: family, address bytes, port — known answers")
    func wireKnownAnswers() {
        var writer = ByteWriter()
        Fixtures.ipv4.write(to: &writer)
        #expect(writer.bytes == [4, 10, 0, 0, 1, 0x1F, 0x0A])
        #expect(Fixtures.ipv4.encodedSize == 7)
        writer = ByteWriter()
        Fixtures.ipv6.write(to: &writer)
        #expect(writer.bytes == [6, 0x20, 0x01, 0x0D, 0xB8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x42, 0x01, 0xBB])
        #expect(Fixtures.ipv6.encodedSize == 19)
    }

    @Test("the wire form round trips; every short read and every unknown family is nil")
    func wireDecoding() {
        for address in [Fixtures.ipv4, Fixtures.ipv6] {
            var writer = ByteWriter()
            address.write(to: &writer)
            var reader = ByteReader(writer.bytes)
            #expect(PeerAddress.read(from: &reader) == address)
            #expect(reader.isAtEnd)
            for length in 0..<writer.count {
                var short = ByteReader(Array(writer.bytes.prefix(length)))
                #expect(PeerAddress.read(from: &short) == nil, "length \(length)")
            }
        }
        for family in UInt8.min ... UInt8.max where family != 4 && family != 6 {
            var reader = ByteReader([family] + [UInt8](repeating: 1, count: 18))
            #expect(PeerAddress.read(from: &reader) == nil)
        }
    }
}
