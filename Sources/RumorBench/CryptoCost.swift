import CSodium
import RumorCrypto
import RumorLink
import RumorWire

/// The per-datagram and per-handshake cost of the link layer, single-threaded, against the bare libsodium
/// calls that do the same cryptography. No sockets: `Link` values exchange bytes in memory.
enum CryptoCost {
    static let headerSize = TransportHeader.size
    static let tagSize = Int(crypto_aead_chacha20poly1305_ietf_ABYTES)

    // MARK: - One transport datagram

    /// ns per datagram for `crypto_aead_chacha20poly1305_ietf_encrypt` + `…_decrypt` of `size` bytes with a
    /// 16-byte header as additional data, counter nonce, into buffers allocated once.
    static func bareSealOpen(size: Int, seconds: Double) -> Double {
        let key = UnsafeMutablePointer<UInt8>.allocate(capacity: 32)
        let header = UnsafeMutablePointer<UInt8>.allocate(capacity: headerSize)
        let nonce = UnsafeMutablePointer<UInt8>.allocate(capacity: 12)
        let plaintext = UnsafeMutablePointer<UInt8>.allocate(capacity: size)
        let sealed = UnsafeMutablePointer<UInt8>.allocate(capacity: size + tagSize)
        let opened = UnsafeMutablePointer<UInt8>.allocate(capacity: size)
        defer { for pointer in [key, header, nonce, plaintext, sealed, opened] { pointer.deallocate() } }
        randombytes_buf(key, 32)
        header.initialize(repeating: 4, count: headerSize)
        nonce.initialize(repeating: 0, count: 12)
        plaintext.initialize(repeating: 0xA5, count: size)
        var counter: UInt64 = 0
        var failures = 0
        let perDatagram = timePerOperation(seconds: seconds) {
            counter += 1
            for byte in 0..<8 { nonce[4 + byte] = UInt8(truncatingIfNeeded: counter >> UInt64(56 - 8 * byte)) }
            var sealedLength: UInt64 = 0
            var openedLength: UInt64 = 0
            _ = crypto_aead_chacha20poly1305_ietf_encrypt(sealed, &sealedLength, plaintext, UInt64(size), header, UInt64(headerSize),
                                                          nil, nonce, key)
            if crypto_aead_chacha20poly1305_ietf_decrypt(opened, &openedLength, nil, sealed, sealedLength, header, UInt64(headerSize),
                                                         nonce, key) != 0 { failures += 1 }
        }
        precondition(failures == 0, "bare ChaCha20-Poly1305 failed to open its own datagram")
        return perDatagram
    }

    /// ns per datagram through RumorCrypto's `ChaCha20Poly1305.seal` / `open` (the wrappers `Link` calls),
    /// building the datagram as `Link` does: header array, then ciphertext appended.
    static func wrapperSealOpen(size: Int, seconds: Double) -> Double {
        let key = SecretBytes(SecureRandom.bytes(32))
        let plaintext = [UInt8](repeating: 0xA5, count: size)
        var counter: UInt64 = 0
        var failures = 0
        let perDatagram = timePerOperation(seconds: seconds) {
            counter += 1
            let header = TransportHeader.make(receiverIndex: 7, counter: counter)
            var datagram = header
            datagram.reserveCapacity(headerSize + size + tagSize)
            header.withUnsafeBytes { aad in
                plaintext.withUnsafeBytes { ChaCha20Poly1305.seal(plaintext: $0, additionalData: aad, counter: counter, key: key, appendingTo: &datagram) }
            }
            let opened = datagram.withUnsafeBytes { raw in
                ChaCha20Poly1305.open(ciphertext: UnsafeRawBufferPointer(rebasing: raw[headerSize...]),
                                      additionalData: UnsafeRawBufferPointer(rebasing: raw[0..<headerSize]), counter: counter, key: key)
            }
            if opened?.count != size { failures += 1 }
        }
        precondition(failures == 0, "ChaCha20Poly1305 wrapper failed to open its own datagram")
        return perDatagram
    }

    /// ns per datagram for `Link.send` on one side and `Link.receive` on the other over an established session:
    /// seal, header, session and replay-window bookkeeping, effects.
    static func linkSealOpen(size: Int, seconds: Double) throws -> Double {
        var pair = try LinkPair()
        pair.handshake()
        let body = [UInt8](repeating: 0xA5, count: size)
        var sent: [LinkEffect] = []
        var received: [LinkEffect] = []
        var failures = 0
        let perDatagram = timePerOperation(seconds: seconds) {
            pair.initiator.send(body, to: LinkPair.responderAddress, now: pair.now, wallClock: pair.wallClock, effects: &sent)
            for case .send(let datagram, _) in sent {
                pair.responder.receive(datagram, from: LinkPair.initiatorAddress, now: pair.now, wallClock: pair.wallClock, effects: &received)
            }
            if received.count != 1 { failures += 1 } else if case .deliver(let opened, _, _) = received[0], opened.count == size {} else { failures += 1 }
            sent.removeAll(keepingCapacity: true)
            received.removeAll(keepingCapacity: true)
        }
        guard failures == 0 else { throw BenchError("Link delivered something other than the datagram sent (\(failures) times)") }
        return perDatagram
    }

    // MARK: - Handshakes

    /// Complete handshakes per second between fresh pairs of `Link` values (initiation, response, and the first
    /// transport datagram that confirms the session), both sides on this one thread.
    static func handshakesPerSecond(seconds: Double) throws -> Double {
        let identities = (IdentityKey.generate(), IdentityKey.generate())
        let keyring = NetworkKeyring(primary: NetworkKey.generate())
        var failures = 0
        let perHandshake = try timePerOperation(seconds: seconds) {
            var pair = try LinkPair(identities: identities, keyring: keyring)
            if !pair.handshake() { failures += 1 }
        }
        guard failures == 0 else { throw BenchError("\(failures) handshakes did not complete") }
        return 1e9 / perHandshake
    }

    /// Handshakes per second if a handshake cost only its libsodium calls: on each side one X25519 key pair,
    /// one session-key derivation, one Ed25519 signature and one verification, one XChaCha20-Poly1305 seal
    /// and one open of the other side's message, and a random nonce.
    static func bareHandshakesPerSecond(seconds: Double) -> Double {
        var signPublic = [UInt8](repeating: 0, count: Int(crypto_sign_PUBLICKEYBYTES))
        var signSecret = [UInt8](repeating: 0, count: Int(crypto_sign_SECRETKEYBYTES))
        crypto_sign_keypair(&signPublic, &signSecret)
        let networkKey = SecureRandom.bytes(32)
        let initiation = [UInt8](repeating: 1, count: HandshakeInitiation.size)
        let signedInitiation = [UInt8](repeating: 1, count: HandshakeInitiation.size - 64 + 23)
        let response = [UInt8](repeating: 2, count: HandshakeResponse.size)
        let signedResponse = [UInt8](repeating: 2, count: HandshakeResponse.size - 64 + 23 + 40)
        var ephemeralPublic = [[UInt8]](repeating: [UInt8](repeating: 0, count: 32), count: 2)
        var ephemeralSecret = [[UInt8]](repeating: [UInt8](repeating: 0, count: 32), count: 2)
        var signature = [UInt8](repeating: 0, count: 64)
        var sessionRx = [UInt8](repeating: 0, count: 32)
        var sessionTx = [UInt8](repeating: 0, count: 32)
        var nonce = [UInt8](repeating: 0, count: 24)
        let sealedHeader = [UInt8](repeating: 1, count: SealedPacket.headerSize)
        var sealed = [UInt8](repeating: 0, count: 256)
        var opened = [UInt8](repeating: 0, count: 256)
        var failures = 0
        let perHandshake = timePerOperation(seconds: seconds) {
            for (side, message, signed) in [(0, initiation, signedInitiation), (1, response, signedResponse)] {
                crypto_kx_keypair(&ephemeralPublic[side], &ephemeralSecret[side])
                crypto_sign_detached(&signature, nil, signed, UInt64(signed.count), signSecret)
                randombytes_buf(&nonce, 24)
                var sealedLength: UInt64 = 0
                var openedLength: UInt64 = 0
                crypto_aead_xchacha20poly1305_ietf_encrypt(&sealed, &sealedLength, message, UInt64(message.count), sealedHeader,
                                                     UInt64(sealedHeader.count), nil, nonce, networkKey)
                if crypto_aead_xchacha20poly1305_ietf_decrypt(&opened, &openedLength, nil, sealed, sealedLength, sealedHeader,
                                                          UInt64(sealedHeader.count), nonce, networkKey) != 0 {
                    failures += 1
                }
                if crypto_sign_verify_detached(signature, signed, UInt64(signed.count), signPublic) != 0 { failures += 1 }
            }
            if crypto_kx_server_session_keys(&sessionRx, &sessionTx, ephemeralPublic[1], ephemeralSecret[1], ephemeralPublic[0]) != 0 { failures += 1 }
            if crypto_kx_client_session_keys(&sessionRx, &sessionTx, ephemeralPublic[0], ephemeralSecret[0], ephemeralPublic[1]) != 0 { failures += 1 }
        }
        precondition(failures == 0, "bare handshake crypto failed")
        return 1e9 / perHandshake
    }

    // MARK: - Inside

    /// Runs `body` in batches until `seconds` have passed; returns ns per call.
    static func timePerOperation(seconds: Double, _ body: () throws -> Void) rethrows -> Double {
        for _ in 0..<16 { try body() }
        let start = monotonicNanoseconds()
        let end = start + UInt64(seconds * 1e9)
        var operations = 0
        var now = start
        var batch = 1
        while now < end {
            let batchStart = now
            for _ in 0..<batch { try body() }
            operations += batch
            now = monotonicNanoseconds()
            // Batches grow until one takes about a millisecond, so reading the clock costs nothing measurable.
            if batch < 1 << 16, now - batchStart < 1_000_000 { batch *= 2 }
        }
        return Double(now - start) / Double(operations)
    }
}

/// Two `Link` values at fixed addresses, handing each other's datagrams over in memory.
struct LinkPair {
    static let initiatorAddress = PeerAddress(ipv4: [127, 0, 0, 1], port: 7001)
    static let responderAddress = PeerAddress(ipv4: [127, 0, 0, 1], port: 7002)
    var initiator: Link
    var responder: Link
    let now = Instant(nanoseconds: 1_000_000_000)
    let wallClock: UInt64 = 1_800_000_000_000_000_000

    init(identities: (IdentityKey, IdentityKey) = (IdentityKey.generate(), IdentityKey.generate()),
         keyring: NetworkKeyring = NetworkKeyring(primary: NetworkKey.generate())) throws {
        initiator = try Link(identity: identities.0, keyring: keyring)
        responder = try Link(identity: identities.1, keyring: keyring)
    }

    /// Sends one byte from the initiator, which starts the handshake, and carries datagrams both ways until
    /// the network is quiet (bounded). True when the byte arrived and the initiator completed one handshake.
    @discardableResult
    mutating func handshake() -> Bool {
        var effects: [LinkEffect] = []
        initiator.send([1], to: LinkPair.responderAddress, now: now, wallClock: wallClock, effects: &effects)
        var pending = [(effects, true)]
        var delivered = 0
        for _ in 0..<16 {
            guard !pending.isEmpty else { break }
            let (batch, fromInitiator) = pending.removeFirst()
            for effect in batch {
                switch effect {
                case .send(let datagram, _):
                    var next: [LinkEffect] = []
                    if fromInitiator {
                        responder.receive(datagram, from: LinkPair.initiatorAddress, now: now, wallClock: wallClock, effects: &next)
                    } else {
                        initiator.receive(datagram, from: LinkPair.responderAddress, now: now, wallClock: wallClock, effects: &next)
                    }
                    pending.append((next, !fromInitiator))
                case .deliver: delivered += 1
                case .drop, .established: continue
                }
            }
        }
        return delivered == 1 && initiator.counters.handshakesCompleted == 1
    }
}
