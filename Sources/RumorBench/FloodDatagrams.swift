import RumorCrypto
import RumorLink
import RumorMembership
import RumorWire

/// The junk of the flood test (issue 8), one datagram at a time, in three kinds:
///
/// - `random`: random bytes of a random length from 0 to 1,400 (so also `short` and `oversize` ones).
/// - `forgedHeader`: a header that passes the cheap checks (version 1, a known type, reserved 0), naming the
///   target's real session indices and network key id where the capture or `--key-id` gave them, followed
///   by a random body and a random (so bad) tag. These reach the session lookup, the rate limiter or the AEAD.
/// - `replay`: a datagram captured on its way to the target, sent again byte for byte.
///
/// Header layouts and the drop reason each forgery should meet: Docs/PROTOCOL.md, "Datagrams" and
/// "Receive checks and drop reasons".
struct FloodDatagrams {
    enum Kind: String, CaseIterable {
        case random
        case forgedHeader = "forged_header"
        case replay
    }

    enum Forgery: String, CaseIterable {
        /// Type 4 naming a session the target holds: passes the replay pre-check, fails the tag (`auth_failed`).
        case transportKnownSession = "transport_known_session"
        /// Type 4 naming a random session index (`unknown_session`).
        case transportRandomSession = "transport_random_session"
        /// Type 2 under the real key id (`rate_limited`, or `auth_failed` for the few the limiter admits).
        case initiation
        /// Type 3 under the real key id (`auth_failed`).
        case response
        /// Type 3 under a key id the target does not hold (`unknown_key`).
        case responseUnknownKey = "response_unknown_key"
    }

    /// The longest random datagram: past the 1,200-byte limit, so some are `oversize`.
    static let randomMaximumLength = 1400

    private var random: SeededRandom
    private let captured: [[UInt8]]
    private let sessionIndices: [UInt32]
    private let keyIDs: [UInt32]
    private var replayNext = 0
    // Counted by position in `kinds` and `forgeries`: no hashing per datagram, which a debug build feels.
    private var sentByKind = [Int](repeating: 0, count: Kind.allCases.count)
    private var sentByForgery = [Int](repeating: 0, count: Forgery.allCases.count)
    private static let kinds = Kind.allCases
    private static let forgeries = Forgery.allCases

    /// - Parameters:
    ///   - captured: real datagrams to replay (none: only the other two kinds are sent).
    ///   - keyID: the target's network key id, when known; key ids found in captured handshakes are added.
    ///   - seed: the generator's seed, so a run can be repeated.
    init(captured: [[UInt8]], keyID: UInt32?, seed: UInt64) {
        random = SeededRandom(seed: seed)
        self.captured = captured
        sessionIndices = Array(Set(captured.compactMap(FloodDatagrams.sessionIndex(of:)))).sorted()
        keyIDs = Array(Set(captured.compactMap(FloodDatagrams.keyID(of:)) + (keyID.map { [$0] } ?? []))).sorted()
    }

    var sent: [(Kind, Int)] { Array(zip(FloodDatagrams.kinds, sentByKind)) }
    var forged: [(Forgery, Int)] { Array(zip(FloodDatagrams.forgeries, sentByForgery)) }
    var capturedCount: Int { captured.count }
    var knownSessions: Int { sessionIndices.count }
    var knownKeyIDs: Int { keyIDs.count }

    /// Writes the next datagram into `buffer` (at least `randomMaximumLength` bytes) and returns its length.
    mutating func next(into buffer: UnsafeMutableRawBufferPointer) -> Int {
        // `replay` is the last kind, so it drops out when nothing was captured.
        let choice = Int(random.next() % UInt64(captured.isEmpty ? Kind.allCases.count - 1 : Kind.allCases.count))
        sentByKind[choice] += 1
        switch FloodDatagrams.kinds[choice] {
        case .random:
            let length = Int(random.next() % UInt64(FloodDatagrams.randomMaximumLength + 1))
            fillRandom(buffer, from: 0, to: length)
            return length
        case .forgedHeader:
            return forge(into: buffer)
        case .replay:
            let datagram = captured[replayNext]
            replayNext = (replayNext + 1) % captured.count
            buffer.copyBytes(from: datagram)
            return datagram.count
        }
    }

    private mutating func forge(into buffer: UnsafeMutableRawBufferPointer) -> Int {
        let choice = Int(random.next() % UInt64(FloodDatagrams.forgeries.count))
        sentByForgery[choice] += 1
        let forgery = FloodDatagrams.forgeries[choice]
        buffer[0] = SealedPacket.version
        switch forgery {
        case .transportKnownSession, .transportRandomSession:
            let index = forgery == .transportKnownSession && !sessionIndices.isEmpty
                ? sessionIndices[Int(random.next() % UInt64(sessionIndices.count))]
                : UInt32(truncatingIfNeeded: random.next())
            buffer[1] = TransportHeader.type
            buffer[2] = 0
            buffer[3] = 0
            store(index, in: buffer, at: 4)
            // A counter far ahead of any real one: the replay pre-check lets it through to the tag check.
            store(UInt32(truncatingIfNeeded: random.next() >> 32) | 0x8000_0000, in: buffer, at: 8)
            store(UInt32(truncatingIfNeeded: random.next()), in: buffer, at: 12)
            let body = Int(random.next() % UInt64(PacketBody.maxDatagramSize - TransportHeader.size - ChaCha20Poly1305.tagSize + 1))
            let length = TransportHeader.size + body + ChaCha20Poly1305.tagSize
            fillRandom(buffer, from: TransportHeader.size, to: length)
            return length
        case .initiation, .response, .responseUnknownKey:
            let key = forgery != .responseUnknownKey && !keyIDs.isEmpty
                ? keyIDs[Int(random.next() % UInt64(keyIDs.count))]
                : unknownKeyID()
            buffer[1] = forgery == .initiation ? Link.typeInitiation : Link.typeResponse
            store(key, in: buffer, at: 2)
            let plaintext = forgery == .initiation ? HandshakeInitiation.size : HandshakeResponse.size
            let length = SealedPacket.overhead + plaintext
            fillRandom(buffer, from: 6, to: length)
            return length
        }
    }

    private mutating func unknownKeyID() -> UInt32 {
        for _ in 0..<8 {
            let candidate = UInt32(truncatingIfNeeded: random.next())
            if !keyIDs.contains(candidate) { return candidate }
        }
        return (keyIDs.max() ?? 0) &+ 1
    }

    private mutating func fillRandom(_ buffer: UnsafeMutableRawBufferPointer, from start: Int, to end: Int) {
        var offset = start
        while offset + 8 <= end {
            buffer.storeBytes(of: random.next(), toByteOffset: offset, as: UInt64.self)
            offset += 8
        }
        var word = random.next()
        while offset < end {
            buffer[offset] = UInt8(truncatingIfNeeded: word)
            word >>= 8
            offset += 1
        }
    }

    private func store(_ value: UInt32, in buffer: UnsafeMutableRawBufferPointer, at offset: Int) {
        for byte in 0..<4 { buffer[offset + byte] = UInt8(truncatingIfNeeded: value >> UInt32(24 - 8 * byte)) }
    }

    /// The receiver index of a captured transport datagram: a session the target holds.
    static func sessionIndex(of datagram: [UInt8]) -> UInt32? {
        guard datagram.count >= TransportHeader.size + ChaCha20Poly1305.tagSize, datagram[0] == SealedPacket.version,
              datagram[1] == TransportHeader.type else { return nil }
        return readUInt32(datagram, at: 4)
    }

    /// The network key id of a captured handshake datagram.
    static func keyID(of datagram: [UInt8]) -> UInt32? {
        guard datagram.count >= SealedPacket.overhead, datagram[0] == SealedPacket.version,
              datagram[1] == Link.typeInitiation || datagram[1] == Link.typeResponse else { return nil }
        return readUInt32(datagram, at: 2)
    }

    private static func readUInt32(_ bytes: [UInt8], at offset: Int) -> UInt32 {
        bytes[offset..<offset + 4].reduce(0) { $0 << 8 | UInt32($1) }
    }
}
