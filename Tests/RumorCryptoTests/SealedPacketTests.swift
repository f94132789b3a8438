import RumorCrypto
import RumorLink
import RumorWire
import Testing

@Suite("SealedPacket")
struct SealedPacketTests {
    private let key: NetworkKey
    private let keyring: NetworkKeyring
    /// A real packet body: sender id and a ping frame.
    private let body: [UInt8]

    init() throws {
        key = try networkKey((0..<32).map { UInt8($0) })
        keyring = NetworkKeyring(primary: key)
        let sender = try #require(NodeID(bytes: [UInt8](repeating: 0xAB, count: 32)))
        body = PacketBody(sender: sender, frames: [.ping(sequence: 1, target: sender), .ack(sequence: 2)]).encode()
    }

    private func open(_ datagram: [UInt8], _ keyring: NetworkKeyring? = nil) -> Result<[UInt8], DropReason> {
        datagram.withUnsafeBytes { SealedPacket.open($0, keyring: keyring ?? self.keyring) }
    }

    @Test("seal then open gives the body back")
    func roundTrip() {
        let datagram = SealedPacket.seal(body: body, key: key)
        #expect(datagram.count == body.count + SealedPacket.overhead)
        #expect(open(datagram) == .success(body))
    }

    @Test("the header is version 1, type 1, the key id big-endian, then the nonce")
    func headerLayout() {
        let datagram = SealedPacket.seal(body: body, key: key)
        // 0xfa4dad4a is this key's id (see NetworkKeyTests).
        #expect(Array(datagram.prefix(6)) == [0x01, 0x01, 0xFA, 0x4D, 0xAD, 0x4A])
    }

    @Test("each seal draws a fresh nonce, so equal bodies seal to different bytes")
    func freshNonces() {
        let a = SealedPacket.seal(body: body, key: key), b = SealedPacket.seal(body: body, key: key)
        #expect(a[6..<30] != b[6..<30])
        #expect(a[30...] != b[30...])
        #expect(open(a) == .success(body))
        #expect(open(b) == .success(body))
    }

    @Test("flipping any single byte is caught, with the reason its position implies")
    func everyByteFlipped() {
        let datagram = SealedPacket.seal(body: body, key: key)
        for position in datagram.indices {
            let expected: DropReason = switch position {
            case 0: .badVersion
            case 1: .badType
            case 2...5: .unknownKey
            default: .authFailed  // nonce, ciphertext and tag
            }
            for mask: UInt8 in [0x01, 0x80, 0xFF] {
                var tampered = datagram
                tampered[position] ^= mask
                #expect(open(tampered) == .failure(expected), "byte \(position) ^ \(mask)")
            }
        }
    }

    @Test("a datagram cut at every length is short, or fails authentication")
    func everyTruncation() {
        let datagram = SealedPacket.seal(body: body, key: key)
        for length in 0..<datagram.count {
            let expected: DropReason = length < SealedPacket.minimumSize ? .short : .authFailed
            #expect(open(Array(datagram.prefix(length))) == .failure(expected), "length \(length)")
        }
    }

    @Test("the smallest valid datagram opens; one byte less is short")
    func minimumSize() {
        #expect(SealedPacket.minimumSize == 30 + 16 + 32 + 3)
        let smallest = [UInt8](repeating: 0x5C, count: NodeID.byteCount + Frame.headerSize)
        let datagram = SealedPacket.seal(body: smallest, key: key)
        #expect(datagram.count == SealedPacket.minimumSize)
        #expect(open(datagram) == .success(smallest))
        #expect(open(SealedPacket.seal(body: Array(smallest.dropLast()), key: key)) == .failure(.short))
    }

    @Test("a datagram sealed under another network's key is an unknown key")
    func otherNetwork() throws {
        let other = try networkKey([UInt8](repeating: 0xFF, count: 32))
        #expect(other.id != key.id)
        let datagram = SealedPacket.seal(body: body, key: other)
        #expect(open(datagram) == .failure(.unknownKey))
        #expect(open(datagram, NetworkKeyring(primary: other)) == .success(body))
    }

    @Test("another key behind this key's id fails authentication")
    func collidingKeyID() throws {
        let other = try networkKey([UInt8](repeating: 0xFF, count: 32))
        var datagram = SealedPacket.seal(body: body, key: other)
        datagram.replaceSubrange(2..<6, with: [0xFA, 0x4D, 0xAD, 0x4A])
        #expect(open(datagram) == .failure(.authFailed))
    }

    @Test("datagrams over 1,200 bytes are oversize, checked before anything else")
    func oversize() {
        let largest = [UInt8](repeating: 7, count: SealedPacket.maxBodySize)
        let fits = SealedPacket.seal(body: largest, key: key)
        #expect(fits.count == PacketBody.maxDatagramSize)
        #expect(open(fits) == .success(largest))
        let tooBig = SealedPacket.seal(body: largest + [7], key: key)
        #expect(open(tooBig) == .failure(.oversize))
        #expect(open([UInt8](repeating: 0, count: 1_201)) == .failure(.oversize))
        #expect(open([UInt8](repeating: 0, count: 65_507)) == .failure(.oversize))
    }

    @Test("random junk is always dropped")
    func randomJunk() {
        var generator = SeededGenerator(seed: 30)
        var reasons: [DropReason: Int] = [:]
        for round in 0..<4_000 {
            var junk = generator.bytes(Int.random(in: 0...1_300, using: &generator))
            // A third of the time a header this keyring accepts, so the junk reaches the AEAD and must fail there;
            // a third of the time a valid version and type, so the key id check sees random ids.
            if round % 3 == 0, junk.count >= 6 {
                junk.replaceSubrange(0..<6, with: [0x01, 0x01, 0xFA, 0x4D, 0xAD, 0x4A])
            } else if round % 3 == 1, junk.count >= 2 {
                junk.replaceSubrange(0..<2, with: [0x01, 0x01])
            }
            switch open(junk) {
            case .success: Issue.record("junk of \(junk.count) bytes opened")
            case .failure(let reason): reasons[reason, default: 0] += 1
            }
        }
        #expect(Set(reasons.keys) == [.short, .oversize, .badVersion, .badType, .unknownKey, .authFailed])
        #expect(reasons[.authFailed, default: 0] > 800)
    }

    @Test("the body never appears in plaintext in the sealed datagram")
    func noPlaintext() {
        let marker = Array("RUMOR-PLAINTEXT-MARKER-7f3c2a91-never-in-ciphertext".utf8)
        let secretBody = Array(body.prefix(32)) + marker + marker
        for _ in 0..<50 {
            let datagram = SealedPacket.seal(body: secretBody, key: key)
            #expect(!contains(datagram, marker))
            #expect(!contains(datagram, Array(marker.prefix(16))))
            #expect(open(datagram) == .success(secretBody))
        }
        #expect(contains(secretBody, marker))
    }

    @Test("the keyring holds its primary key and finds keys by id only")
    func keyringLookup() {
        #expect(keyring.primary.id == key.id)
        #expect(keyring.keyIDs == [key.id])
        #expect(keyring.key(id: key.id)?.secret.isEqual(to: key.secret) == true)
        #expect(keyring.key(id: key.id ^ 1) == nil)
    }

    @Test("drop reasons keep the names their status counters go by")
    func dropReasonNames() {
        #expect(DropReason.allCases.map(\.rawValue) == [
            "short", "oversize", "bad_version", "bad_type", "unknown_key", "auth_failed", "malformed", "from_self",
            "unknown_session", "expired_session", "replay", "stale_handshake", "bad_signature", "misdirected", "not_allowed",
            "rate_limited", "too_many_sessions", "identity_mismatch", "forged",
        ])
    }

    @Test("the size constants agree with the wire layer")
    func sizes() {
        #expect(SealedPacket.headerSize == 30)
        #expect(SealedPacket.overhead == PacketBody.sealOverhead)
        #expect(SealedPacket.maxBodySize == 1_200 - 46)
    }
}
