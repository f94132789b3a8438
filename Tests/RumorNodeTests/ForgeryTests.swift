#if canImport(Glibc)
import Glibc
#endif
import Rumor
import RumorCrypto
import RumorLink
import RumorMessaging
import RumorWire
import Testing

/// Mallory: a member in good standing (she holds the network key and her own identity) who talks to a node
/// over a real UDP socket through her own `Link`, and tries to make it believe things came from someone else.
final class Mallory {
    let identity: IdentityKey
    let id: NodeID
    var link: Link
    let fd: Int32
    let address: PeerAddress
    var delivered: [PacketBody] = []

    init(networkKeyPath: String) throws {
        guard let text = readText(networkKeyPath), case .success(let key) = NetworkKey.parse(fileText: text) else {
            throw RumorError.io("cannot read the network key")
        }
        identity = IdentityKey.generate()
        guard let id = NodeID(bytes: identity.publicKey) else { throw RumorError.io("bad identity") }
        self.id = id
        link = try Link(identity: identity, keyring: NetworkKeyring(primary: key))
        let socketFD = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        var sin = sockaddr_in()
        sin.sin_family = sa_family_t(AF_INET)
        sin.sin_addr.s_addr = UInt32(0x7f00_0001).bigEndian
        _ = withUnsafePointer(to: &sin) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(socketFD, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &sin) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(socketFD, $0, &length) } }
        fd = socketFD
        address = PeerAddress(ipv4: [127, 0, 0, 1], port: UInt16(bigEndian: sin.sin_port))
    }

    deinit { close(fd) }

    let clock = ContinuousClock()
    let start = ContinuousClock.now
    func instant() -> Instant { Instant(nanoseconds: (clock.now - start).nanoseconds) }
    func wall() -> UInt64 {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return UInt64(spec.tv_sec) * 1_000_000_000 + UInt64(spec.tv_nsec)
    }

    /// Sends a packet body to `target` through her session. Without one, the link queues the body behind a
    /// handshake, and it goes out only when `pump` has received the handshake's response.
    func send(_ body: PacketBody, to target: PeerAddress) {
        var effects: [LinkEffect] = []
        link.send(body.encode(), to: target, now: instant(), wallClock: wall(), effects: &effects)
        perform(effects)
    }

    /// Receives what `source` sends her, until `count` bodies in all have been delivered to her, for at most
    /// `timeout` (and at most 10,000 datagrams and waits of 20 ms). Returns whether they were.
    func pump(from source: PeerAddress, untilDelivered count: Int, within timeout: Duration) -> Bool {
        let deadline = clock.now + timeout
        var buffer = [UInt8](repeating: 0, count: 2048)
        for _ in 0..<10_000 where delivered.count < count && clock.now < deadline {
            var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&pfd, 1, 20) > 0 else { continue }
            let received = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            guard received > 0 else { continue }
            var out: [LinkEffect] = []
            link.receive(Array(buffer.prefix(received)), from: source, now: instant(), wallClock: wall(), effects: &out)
            perform(out)
        }
        return delivered.count >= count
    }

    func perform(_ effects: [LinkEffect]) {
        for effect in effects {
            switch effect {
            case .send(let datagram, let to):
                var sin = sockaddr_in()
                sin.sin_family = sa_family_t(AF_INET)
                sin.sin_port = to.port.bigEndian
                sin.sin_addr.s_addr = UInt32(0x7f00_0001).bigEndian
                _ = withUnsafePointer(to: &sin) { pointer in
                    pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { address in
                        datagram.withUnsafeBytes { sendto(fd, $0.baseAddress, $0.count, 0, address, socklen_t(MemoryLayout<sockaddr_in>.size)) }
                    }
                }
            case .deliver(let bytes, _, _):
                if case .success(let body) = PacketBody.decode(bytes[...]) { delivered.append(body) }
            default:
                continue
            }
        }
    }

    /// A one-fragment direct message carrying `envelope`.
    func fragment(_ envelope: Envelope, messageID: UInt64) -> Frame {
        let bytes = envelope.encode()
        return .message(MessageFragment(epoch: 1, messageID: messageID, floor: messageID, totalLength: UInt32(bytes.count), index: 0,
                                        count: 1, chunk: bytes[...]))
    }
}

func readText(_ path: String) -> String? {
    let fd = open(path, O_RDONLY)
    guard fd >= 0 else { return nil }
    defer { close(fd) }
    var buffer = [UInt8](repeating: 0, count: 4096)
    let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
    return count > 0 ? String(decoding: buffer.prefix(count), as: UTF8.self) : nil
}

@Suite struct ForgeryTests {
    @Test func aMemberWithTheNetworkKeyButNotXsIdentityCannotMakeANodeBelieveAMessageAnAliveClaimOrALeaveFromX() async throws {
        let home = try TemporaryHome()
        let x = try startNode("x", home: home)
        let victim = try startNode("victim", home: home, join: [x.listenAddress])
        for node in [x, victim] { try await node.waitForAlive(2, timeout: .seconds(10)) }
        let xBefore = try #require(await victim.peers().first { $0.id == x.id })
        let events = victim.events()
        let collector = Task { () -> [NodeEvent] in
            var seen: [NodeEvent] = []
            for await event in events { seen.append(event) }
            return seen
        }

        let mallory = try Mallory(networkKeyPath: home.path + "/network.key")
        // Her own, honest hello first: she is a member.
        let hello = AliveClaim(id: mallory.id, incarnation: 1, name: "mallory", address: mallory.address, tags: Tags())
        var signedHello = hello
        signedHello.signature = mallory.identity.sign(hello.signedBytes)
        mallory.send(PacketBody(sender: mallory.id, frames: [.syncRequest, .member(.alive(signedHello))]), to: victim.listenAddress)
        try #require(mallory.pump(from: victim.listenAddress, untilDelivered: 1, within: patience),
                     "the victim did not answer Mallory's honest sync")
        // The answer comes from handling her packet, claim and all: she is a member, under her own name, with her
        // own identity. (Checked now: she answers no probes, so the victim will soon suspect her.)
        #expect(await victim.peers().contains { $0.id == mallory.id && $0.name == "mallory" })

        // 1. A direct message with X as the sender id, inside her own session.
        mallory.send(PacketBody(sender: x.id, frames: [mallory.fragment(.direct(Array("from x, honest".utf8)), messageID: 1)]),
                     to: victim.listenAddress)
        // 2. An alive claim for X (new address, new tags, higher incarnation), signed by her, and one unsigned.
        var forgedAlive = AliveClaim(id: x.id, incarnation: xBefore.incarnation + 100, name: "x", address: mallory.address,
                                     tags: Tags(["owner": "mallory"]) ?? Tags())
        let unsigned = forgedAlive
        forgedAlive.signature = mallory.identity.sign(forgedAlive.signedBytes)
        // 3. A leave for X, signed by her.
        let leaveIncarnation = xBefore.incarnation + 200
        let forgedLeave = MemberUpdate.left(subject: x.id, incarnation: leaveIncarnation,
                                            signature: mallory.identity.sign(Signature.leftBytes(subject: x.id, incarnation: leaveIncarnation)))
        mallory.send(PacketBody(sender: mallory.id, frames: [.member(.alive(forgedAlive)), .member(.alive(unsigned)), .member(forgedLeave)]),
                     to: victim.listenAddress)
        // 4. A broadcast claiming X as its origin, signed by her, as a message from her own identity.
        var broadcast = BroadcastMessage(origin: x.id, sequence: 42, sentAtMilliseconds: Int64(mallory.wall() / 1_000_000),
                                         data: Array("x says: trust mallory".utf8))
        broadcast.signature = mallory.identity.sign(broadcast.signedBytes)
        mallory.send(PacketBody(sender: mallory.id, frames: [mallory.fragment(.broadcast(broadcast), messageID: 1)]),
                     to: victim.listenAddress)

        // Each forgery is counted as it is refused, the broadcast (in her last packet) last: once the counts are
        // there, the victim has handled all she sent, however late a loaded machine let it read its socket.
        let traffic = try await observe { try #require(await victim.status()).traffic } until: {
            ($0.dropped[.identityMismatch] ?? 0) >= 1 && ($0.dropped[.forged] ?? 0) >= 4
        }
        #expect((traffic.dropped[.identityMismatch] ?? 0) >= 1)
        #expect((traffic.dropped[.forged] ?? 0) >= 4, "forged: \(traffic.dropped[.forged] ?? 0)")
        // The victim still sees X exactly as X itself says.
        let xAfter = try #require(await victim.peers().first { $0.id == x.id })
        #expect(xAfter.state == .alive)
        #expect(xAfter.address == xBefore.address)
        #expect(xAfter.tags["owner"] == nil)
        #expect(xAfter.incarnation < xBefore.incarnation + 100)

        // A real message from X still arrives: the fence after which nothing forged may have been delivered.
        // No wait after it: the victim hands a message to its subscribers before it sends the acknowledgement
        // that `send` returns on (NodeLoop.performMessaging emits on `.deliver` and sends the packed ack after),
        // and stopping finishes the event stream only after everything yielded to it.
        try await x.send(Array("the real x".utf8), to: "victim", timeout: patience)
        await victim.stop()
        let seen = await collector.value
        let messages = seen.compactMap { event -> ReceivedMessage? in if case .message(let message) = event { return message } else { return nil } }
        #expect(messages.map(\.text) == ["the real x"], "the victim believed: \(messages.map { "\($0.kind) from \($0.from): \($0.text ?? "?")" })")
        #expect(!seen.contains { if case .member(let member) = $0 { return member.id == x.id && member.state == .left } else { return false } })
        await x.stop()
    }
}
