import RumorCrypto
import RumorLink
import RumorWire
import Testing

/// Two or more `Link` values joined by an in-memory network that records every datagram, so tests can replay,
/// tamper with and inspect the bytes "on the wire".
struct LinkNet {
    var links: [Link]
    var addresses: [PeerAddress]
    var delivered: [[(body: [UInt8], from: NodeID)]]
    var drops: [[DropReason]]
    var wire: [(datagram: [UInt8], from: Int, to: Int)] = []
    var now = Instant.zero
    var wallClock: UInt64 = 1_800_000_000_000_000_000

    static func identity(_ byte: UInt8) -> IdentityKey {
        guard let key = IdentityKey(seed: [UInt8](repeating: byte, count: 32)) else { preconditionFailure("32-byte seed") }
        return key
    }

    static func networkKey(_ byte: UInt8) -> NetworkKey {
        guard let key = NetworkKey(bytes: [UInt8](repeating: byte, count: 32)) else { preconditionFailure("32-byte key") }
        return key
    }

    init(count: Int, settings: LinkSettings = LinkSettings(), identities: [IdentityKey]? = nil) throws {
        let keyring = NetworkKeyring(primary: LinkNet.networkKey(7))
        let ids = identities ?? (0..<count).map { LinkNet.identity(UInt8(1 + $0)) }
        links = try ids.map { try Link(identity: $0, keyring: keyring, settings: settings) }
        addresses = (0..<count).map { PeerAddress(ipv4: [127, 0, 0, 1], port: UInt16(7000 + $0)) }
        delivered = Array(repeating: [], count: count)
        drops = Array(repeating: [], count: count)
    }

    func index(of address: PeerAddress) -> Int? { addresses.firstIndex(of: address) }

    /// Applies effects of node `from`, delivering sends until the network is quiet (bounded).
    mutating func run(_ effects: [LinkEffect], from: Int) {
        var queue = [(effects, from)]
        var steps = 0
        while !queue.isEmpty, steps < 10_000 {
            steps += 1
            let (batch, sender) = queue.removeFirst()
            for effect in batch {
                switch effect {
                case .send(let datagram, let to):
                    guard let target = index(of: to) else { continue }
                    wire.append((datagram, sender, target))
                    var out: [LinkEffect] = []
                    links[target].receive(datagram, from: addresses[sender], now: now, wallClock: wallClock, effects: &out)
                    queue.append((out, target))
                case .deliver(let body, let peer, _):
                    delivered[sender].append((body, peer))
                case .drop(let reason):
                    drops[sender].append(reason)
                case .established:
                    continue
                }
            }
        }
    }

    mutating func send(_ body: [UInt8], from: Int, to: Int) {
        var effects: [LinkEffect] = []
        links[from].send(body, to: addresses[to], now: now, wallClock: wallClock, effects: &effects)
        run(effects, from: from)
    }

    /// Injects raw bytes at node `to` as if `from` sent them.
    mutating func inject(_ datagram: [UInt8], from: Int, to: Int) {
        var effects: [LinkEffect] = []
        links[to].receive(datagram, from: addresses[from], now: now, wallClock: wallClock, effects: &effects)
        run(effects, from: to)
    }

    mutating func advance(_ duration: Duration) {
        now = now + duration
        wallClock += UInt64(duration.nanoseconds)
        for index in links.indices {
            var effects: [LinkEffect] = []
            links[index].tick(now: now, wallClock: wallClock, effects: &effects)
            run(effects, from: index)
        }
    }
}

@Suite struct LinkTests {
    @Test func aHandshakeCarriesTheBodiesThatWaitedForItAndBothSidesTalk() throws {
        var net = try LinkNet(count: 2)
        net.send(Array("first".utf8), from: 0, to: 1)
        net.send(Array("second".utf8), from: 0, to: 1)
        #expect(net.delivered[1].map(\.body) == [Array("first".utf8), Array("second".utf8)])
        #expect(net.delivered[1].allSatisfy { $0.from == net.links[0].me })
        net.send(Array("back".utf8), from: 1, to: 0)
        #expect(net.delivered[0].map(\.body) == [Array("back".utf8)])
        #expect(net.links[0].counters.handshakesCompleted == 1)
        #expect(net.links[1].counters.handshakesAnswered == 1)
        #expect(net.drops.allSatisfy { $0.isEmpty }, "\(net.drops)")
    }

    @Test func aCapturedDatagramSentAgainOnceOrAThousandTimesFromAnyAddressIsNotDeliveredAgain() throws {
        var net = try LinkNet(count: 3)
        net.send(Array("pay 10 coins".utf8), from: 0, to: 1)
        let captured = try #require(net.wire.last { $0.from == 0 && $0.to == 1 && $0.datagram[1] == TransportHeader.type }).datagram
        #expect(net.delivered[1].count == 1)
        for attempt in 0..<1000 { net.inject(captured, from: attempt % 2 == 0 ? 0 : 2, to: 1) }
        #expect(net.delivered[1].count == 1)
        #expect(net.drops[1].filter { $0 == .replay }.count == 1000)
    }

    @Test func aReplayedInitiationIsRefused() throws {
        var net = try LinkNet(count: 2)
        net.send([1], from: 0, to: 1)
        let initiation = try #require(net.wire.first { $0.datagram[1] == Link.typeInitiation }).datagram
        net.advance(.seconds(5))
        net.inject(initiation, from: 0, to: 1)
        #expect(net.drops[1] == [.staleHandshake])
        #expect(net.links[1].counters.handshakesAnswered == 1)
    }

    @Test func flippingAnySingleByteOfAHandshakeOrTransportDatagramGetsItDroppedAndCounted() throws {
        var net = try LinkNet(count: 2)
        net.send(Array("payload".utf8), from: 0, to: 1)
        let samples = [Link.typeInitiation, Link.typeResponse, TransportHeader.type].compactMap { type in
            net.wire.first { $0.datagram[1] == type }
        }
        #expect(samples.count == 3)
        for sample in samples {
            for position in sample.datagram.indices {
                // A fresh pair for every flip, so nothing earlier (a replay window, a timestamp) explains the drop.
                var fresh = try LinkNet(count: 2)
                fresh.send(Array("payload".utf8), from: 0, to: 1)
                let original = try #require(fresh.wire.first { $0.datagram[1] == sample.datagram[1] })
                var tampered = original.datagram
                tampered[position] ^= 0x01
                let deliveredBefore = fresh.delivered[original.to].count
                let dropsBefore = fresh.drops[original.to].count
                fresh.advance(.milliseconds(1))
                fresh.inject(tampered, from: original.from, to: original.to)
                #expect(fresh.delivered[original.to].count == deliveredBefore,
                        "type \(original.datagram[1]) byte \(position) flipped was delivered")
                #expect(fresh.drops[original.to].count == dropsBefore + 1,
                        "type \(original.datagram[1]) byte \(position) flipped was not counted as dropped")
            }
        }
    }

    @Test func aMemberWithTheNetworkKeyButNotXsIdentityCannotHandshakeAsX() throws {
        // Node 2 (Mallory) holds the network key. She builds an initiation naming X (node 0) as initiator,
        // signed with her own key: it must be refused.
        var net = try LinkNet(count: 3)
        let mallory = LinkNet.identity(3)
        let x = net.links[0].me
        let forged = HandshakeInitiation.make(identity: mallory, initiator: x, ephemeral: EphemeralKey.generate(), senderIndex: 99,
                                              timestamp: net.wallClock, responder: net.links[1].me)
        let datagram = SealedPacket.seal(body: forged.encode(), key: LinkNet.networkKey(7), type: Link.typeInitiation)
        net.inject(datagram, from: 2, to: 1)
        #expect(net.drops[1] == [.badSignature])
        #expect(net.links[1].counters.handshakesAnswered == 0)
        // Her own honest session proves only her own identity.
        net.send(Array("hi".utf8), from: 2, to: 1)
        #expect(net.delivered[1].map(\.from) == [net.links[2].me])
    }

    @Test func bodiesNeverAppearInPlaintextOnTheWire() throws {
        var net = try LinkNet(count: 2)
        let marker = Array("MARKER-7f3a9c1e-unique".utf8)
        for _ in 0..<5 { net.send(marker, from: 0, to: 1) }
        #expect(net.delivered[1].count == 5)
        for item in net.wire {
            let bytes = item.datagram
            let found = bytes.count >= marker.count && (0...(bytes.count - marker.count)).contains { Array(bytes[$0..<($0 + marker.count)]) == marker }
            #expect(!found, "the marker appeared in plaintext in a datagram of type \(bytes[1])")
        }
    }

    @Test func sessionsRekeyUnderSteadyTrafficWithoutLosingADatagram() throws {
        var settings = LinkSettings()
        settings.rekeyAfterTime = .seconds(2)
        settings.rejectAfterTime = .seconds(3)
        settings.rekeyAfterMessages = 50
        var net = try LinkNet(count: 2, settings: settings)
        var sent = 0
        for step in 0..<2000 {
            net.send(Array("a\(step)".utf8), from: 0, to: 1)
            net.send(Array("b\(step)".utf8), from: 1, to: 0)
            sent += 1
            net.advance(.milliseconds(10))
        }
        #expect(net.delivered[1].count == sent)
        #expect(net.delivered[0].count == sent)
        #expect(net.links[0].counters.rekeys + net.links[1].counters.rekeys >= 20, "rekeys: \(net.links[0].counters.rekeys), \(net.links[1].counters.rekeys)")
        // Old sessions are retired as new ones rotate in: previous, current and next at most, never a pile of keys.
        #expect(net.links[0].sessionCount <= 3)
        #expect(net.links[1].sessionCount <= 3)
        #expect(net.drops.allSatisfy { $0.isEmpty }, "\(net.drops.map { Set($0) })")
    }

    @Test func aFloodOfInitiationsFromOneHostIsRateLimited() throws {
        var net = try LinkNet(count: 2)
        let settings = LinkSettings()
        for attempt in 0..<200 {
            let initiation = HandshakeInitiation.make(identity: LinkNet.identity(1), initiator: net.links[0].me, ephemeral: EphemeralKey.generate(),
                                                      senderIndex: UInt32(attempt + 1), timestamp: net.wallClock + UInt64(attempt),
                                                      responder: net.links[1].me)
            net.inject(SealedPacket.seal(body: initiation.encode(), key: LinkNet.networkKey(7), type: Link.typeInitiation), from: 0, to: 1)
        }
        #expect(net.links[1].counters.handshakesAnswered == Int(settings.handshakeBurst))
        #expect(net.drops[1].filter { $0 == .rateLimited }.count == 200 - Int(settings.handshakeBurst))
    }

    @Test func aResponseIsNeverLargerThanTheInitiationItAnswers() throws {
        var net = try LinkNet(count: 2)
        net.send([1], from: 0, to: 1)
        let initiation = try #require(net.wire.first { $0.datagram[1] == Link.typeInitiation })
        let response = try #require(net.wire.first { $0.datagram[1] == Link.typeResponse })
        #expect(response.datagram.count < initiation.datagram.count)
    }

    @Test func identityPinningRefusesUnknownIdentities() throws {
        var net = try LinkNet(count: 3)
        net.links[1].allowed = [net.links[0].me]
        net.send(Array("ok".utf8), from: 0, to: 1)
        net.send(Array("no".utf8), from: 2, to: 1)
        #expect(net.delivered[1].map(\.body) == [Array("ok".utf8)])
        #expect(net.drops[1].contains(.notAllowed))
    }

    @Test func aNodeWithAnotherNetworkKeyGetsNoSessionAndNoReply() throws {
        var net = try LinkNet(count: 2)
        net.links[0].replaceKeyring(NetworkKeyring(primary: LinkNet.networkKey(8)))
        net.send(Array("let me in".utf8), from: 0, to: 1)
        #expect(net.drops[1] == [.unknownKey])
        #expect(net.wire.filter { $0.from == 1 }.isEmpty, "node 1 answered a datagram it could not authenticate")
    }

    @Test func replayWindowAcceptsEachCounterOnceAndRefusesTheTooOld() throws {
        var net = try LinkNet(count: 2)
        for step in 0..<5000 { net.send([UInt8(step % 256)], from: 0, to: 1) }
        let transports = net.wire.filter { $0.from == 0 && $0.datagram[1] == TransportHeader.type }
        let oldest = try #require(transports.first).datagram
        let recent = try #require(transports.last).datagram
        net.inject(oldest, from: 0, to: 1)
        net.inject(recent, from: 0, to: 1)
        #expect(net.delivered[1].count == 5000)
        #expect(net.drops[1] == [.replay, .replay])
    }
}

/// `Link.sealIfReady`: the shell's way to seal a body straight into its send batch.
@Suite struct SealInPlaceTests {
    func seal(_ body: [UInt8], in net: inout LinkNet, from: Int, to: Int, room: Int = 1200) -> [UInt8]? {
        var slot = [UInt8](repeating: 0, count: room)
        let length = body.withUnsafeBytes { raw in
            slot.withUnsafeMutableBytes { out in
                net.links[from].sealIfReady(raw, to: net.addresses[to], expected: net.links[to].me, now: net.now, into: out)
            }
        }
        return length.map { Array(slot.prefix($0)) }
    }

    @Test func itSealsOnlyOverAnEstablishedSessionAndSharesItsCountersWithSend() throws {
        var net = try LinkNet(count: 2)
        #expect(seal(Array("early".utf8), in: &net, from: 0, to: 1) == nil, "no session yet: the body must go through send")
        net.send(Array("hello".utf8), from: 0, to: 1)
        let datagram = try #require(seal(Array("in place".utf8), in: &net, from: 0, to: 1))
        #expect(datagram.count == TransportHeader.size + 8 + 16)
        net.inject(datagram, from: 0, to: 1)
        // A body sealed by send after it takes the next counter: no replay drop.
        net.send(Array("after".utf8), from: 0, to: 1)
        #expect(net.delivered[1].map(\.body) == [Array("hello".utf8), Array("in place".utf8), Array("after".utf8)])
        #expect(net.drops[1].isEmpty, "\(net.drops[1])")
        #expect(seal(Array(repeating: 1, count: 100), in: &net, from: 0, to: 1, room: 100) == nil, "a slot too small is refused")
    }
}
