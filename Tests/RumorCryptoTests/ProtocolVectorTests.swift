import Foundation
import RumorCrypto
import RumorLink
import RumorWire
import Testing

/// Recomputes the test vectors of Docs/PROTOCOL.md ("Test vectors") from their fixed inputs, so the document
/// and the code cannot drift apart: every `vector NAME = HEX` line there MUST equal what the code produces,
/// and every vector the code produces MUST be there. Ed25519 signatures are deterministic and every nonce is
/// fixed, so the bytes are the same on every run.
@Suite("Protocol test vectors")
struct ProtocolVectorTests {
    static let documentPath = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Docs").appendingPathComponent("PROTOCOL.md").path

    static let initiatorIndex: UInt32 = 0x0102_0304
    static let responderIndex: UInt32 = 0x0A0B_0C0D
    static let timestamp: UInt64 = 1_800_000_000_000_000_000
    static let initiationNonce = [UInt8](repeating: 0x09, count: 24)
    static let responseNonce = [UInt8](repeating: 0x0A, count: 24)

    /// Every input of the document's table, and every value derived from them.
    struct Vectors {
        let identityA: IdentityKey, identityB: IdentityKey
        let idA: NodeID, idB: NodeID
        let networkKey: NetworkKey
        let ephemeralA: EphemeralKey, ephemeralB: EphemeralKey
        let initiation: HandshakeInitiation
        let initiationDatagram: [UInt8]
        let response: HandshakeResponse
        let responseDatagram: [UInt8]
        let aKeys: (receive: SecretBytes, send: SecretBytes)
        let bKeys: (receive: SecretBytes, send: SecretBytes)
        let packetBody: [UInt8]
        let transportDatagram: [UInt8]
        let keepaliveDatagram: [UInt8]

        init() throws {
            identityA = try #require(IdentityKey(seed: [UInt8](repeating: 0x01, count: 32)))
            identityB = try #require(IdentityKey(seed: [UInt8](repeating: 0x02, count: 32)))
            idA = try #require(NodeID(bytes: identityA.publicKey))
            idB = try #require(NodeID(bytes: identityB.publicKey))
            networkKey = try #require(NetworkKey(bytes: [UInt8](repeating: 0x07, count: 32)))
            ephemeralA = try #require(EphemeralKey(seed: [UInt8](repeating: 0x11, count: 32)))
            ephemeralB = try #require(EphemeralKey(seed: [UInt8](repeating: 0x22, count: 32)))
            initiation = HandshakeInitiation.make(identity: identityA, initiator: idA, ephemeral: ephemeralA,
                                                  senderIndex: ProtocolVectorTests.initiatorIndex,
                                                  timestamp: ProtocolVectorTests.timestamp, responder: idB)
            initiationDatagram = SealedPacket.seal(body: initiation.encode(), key: networkKey, type: Link.typeInitiation,
                                                   nonce: ProtocolVectorTests.initiationNonce)
            response = HandshakeResponse.make(identity: identityB, responder: idB, ephemeral: ephemeralB,
                                              senderIndex: ProtocolVectorTests.responderIndex, answering: initiation)
            responseDatagram = SealedPacket.seal(body: response.encode(), key: networkKey, type: Link.typeResponse,
                                                 nonce: ProtocolVectorTests.responseNonce)
            aKeys = try #require(ephemeralA.sessionKeys(peerPublicKey: ephemeralB.publicKey, initiator: true))
            bKeys = try #require(ephemeralB.sessionKeys(peerPublicKey: ephemeralA.publicKey, initiator: false))
            packetBody = PacketBody(sender: idA, frames: [.ping(sequence: 1, target: idB)]).encode()
            transportDatagram = Vectors.transport(packetBody, receiverIndex: response.senderIndex, counter: 0, key: aKeys.send)
            keepaliveDatagram = Vectors.transport([], receiverIndex: response.senderIndex, counter: 1, key: aKeys.send)
        }

        static func transport(_ body: [UInt8], receiverIndex: UInt32, counter: UInt64, key: SecretBytes) -> [UInt8] {
            let header = TransportHeader.make(receiverIndex: receiverIndex, counter: counter)
            var datagram = header
            header.withUnsafeBytes { aad in
                body.withUnsafeBytes { plaintext in
                    ChaCha20Poly1305.seal(plaintext: plaintext, additionalData: aad, counter: counter, key: key, appendingTo: &datagram)
                }
            }
            return datagram
        }

        /// The vectors in the order the document lists them.
        var named: [(name: String, bytes: [UInt8])] {
            func bytes(_ secret: SecretBytes) -> [UInt8] { secret.withUnsafeBytes { Array($0) } }
            let keyID = (0..<4).map { UInt8(truncatingIfNeeded: networkKey.id >> UInt32(24 - 8 * $0)) }
            return [
                ("identity_a_public", idA.bytes),
                ("identity_b_public", idB.bytes),
                ("network_key_id", keyID),
                ("ephemeral_a_public", ephemeralA.publicKey),
                ("ephemeral_b_public", ephemeralB.publicKey),
                ("initiation_body", initiation.encode()),
                ("initiation_datagram", initiationDatagram),
                ("response_body", response.encode()),
                ("response_datagram", responseDatagram),
                ("a_receive_key", bytes(aKeys.receive)),
                ("a_send_key", bytes(aKeys.send)),
                ("transport_plaintext", packetBody),
                ("transport_datagram", transportDatagram),
                ("keepalive_datagram", keepaliveDatagram),
            ]
        }
    }

    /// The `vector NAME = HEX` lines of PROTOCOL.md, by name.
    static func documented() throws -> [String: String] {
        let text = try String(contentsOfFile: documentPath, encoding: .utf8)
        var vectors: [String: String] = [:]
        for line in text.split(separator: "\n") {
            let words = line.split(separator: " ")
            guard words.count == 4, words[0] == "vector", words[2] == "=" else { continue }
            let name = String(words[1])
            #expect(vectors[name] == nil, "vector \(name) appears twice in PROTOCOL.md")
            vectors[name] = String(words[3])
        }
        return vectors
    }

    static func documentedBytes(_ name: String) throws -> [UInt8] {
        let text = try #require(try documented()[name], "vector \(name) is missing from PROTOCOL.md")
        return try hex(text)
    }

    @Test("every vector in PROTOCOL.md equals what the code computes, and none is missing")
    func documentMatchesCode() throws {
        let documented = try Self.documented()
        let computed = try Vectors().named
        for (name, bytes) in computed {
            let actual = Hex.encode(bytes)
            guard let stated = documented[name] else {
                Issue.record("vector \(name) is missing from PROTOCOL.md; the code gives \(actual)")
                continue
            }
            #expect(stated == actual, "vector \(name) differs from PROTOCOL.md; the code gives \(actual)")
        }
        let unknown = Set(documented.keys).subtracting(computed.map(\.name))
        #expect(unknown.isEmpty, "PROTOCOL.md lists vectors this test does not compute: \(unknown.sorted())")
    }

    @Test("the documented sizes: initiation 172 and 218 bytes, response 136 and 182, transport 16 + body + 16")
    func sizes() throws {
        let vectors = try Vectors()
        #expect(vectors.initiation.encode().count == HandshakeInitiation.size)
        #expect(HandshakeInitiation.size == 172 && vectors.initiationDatagram.count == 218)
        #expect(HandshakeResponse.size == 136 && vectors.responseDatagram.count == 182)
        #expect(vectors.responseDatagram.count < vectors.initiationDatagram.count)
        #expect(vectors.transportDatagram.count == 16 + vectors.packetBody.count + 16)
        #expect(vectors.keepaliveDatagram.count == 32)
    }

    @Test("the documented handshake datagrams open with the network key, decode and carry valid signatures")
    func handshakesOpen() throws {
        let vectors = try Vectors()
        let keyring = NetworkKeyring(primary: vectors.networkKey)
        let initiationDatagram = try Self.documentedBytes("initiation_datagram")
        let openedInitiation = initiationDatagram.withUnsafeBytes {
            SealedPacket.open($0, keyring: keyring, type: Link.typeInitiation, minimumBody: HandshakeInitiation.size)
        }
        let initiationBody = try openedInitiation.get()
        #expect(initiationBody == (try Self.documentedBytes("initiation_body")))
        let initiation = try #require(HandshakeInitiation.decode(initiationBody))
        #expect(initiation.isSignatureValid)
        #expect(initiation.initiator == vectors.idA && initiation.responder == vectors.idB)
        #expect(initiation.senderIndex == Self.initiatorIndex && initiation.timestamp == Self.timestamp)

        let responseDatagram = try Self.documentedBytes("response_datagram")
        let openedResponse = responseDatagram.withUnsafeBytes {
            SealedPacket.open($0, keyring: keyring, type: Link.typeResponse, minimumBody: HandshakeResponse.size)
        }
        let responseBody = try openedResponse.get()
        #expect(responseBody == (try Self.documentedBytes("response_body")))
        let response = try #require(HandshakeResponse.decode(responseBody))
        #expect(response.isSignatureValid(answering: initiation))
        #expect(response.responder == vectors.idB)
        #expect(response.senderIndex == Self.responderIndex && response.receiverIndex == Self.initiatorIndex)
    }

    @Test("B's keys mirror A's, and the documented transport datagrams open with B's receive key")
    func transportOpens() throws {
        let vectors = try Vectors()
        #expect(vectors.bKeys.receive.isEqual(to: vectors.aKeys.send))
        #expect(vectors.bKeys.send.isEqual(to: vectors.aKeys.receive))
        #expect(!vectors.aKeys.send.isEqual(to: vectors.aKeys.receive))

        for (name, counter, body) in [("transport_datagram", UInt64(0), vectors.packetBody), ("keepalive_datagram", 1, [])] {
            let datagram = try Self.documentedBytes(name)
            #expect(Array(datagram.prefix(16)) == TransportHeader.make(receiverIndex: Self.responderIndex, counter: counter))
            let opened = datagram.withUnsafeBytes { raw in
                ChaCha20Poly1305.open(ciphertext: UnsafeRawBufferPointer(rebasing: raw[16...]),
                                      additionalData: UnsafeRawBufferPointer(rebasing: raw[0..<16]),
                                      counter: counter, key: vectors.bKeys.receive)
            }
            #expect(opened == body, "\(name) does not open to its plaintext")
        }
        let packet = try PacketBody.decode(try Self.documentedBytes("transport_plaintext")[...]).get()
        #expect(packet == PacketBody(sender: vectors.idA, frames: [.ping(sequence: 1, target: vectors.idB)]))
    }

    @Test("a whole handshake between two links with these keys delivers the vector's packet body")
    func linksAgree() throws {
        let vectors = try Vectors()
        let keyring = NetworkKeyring(primary: vectors.networkKey)
        let ephemeralA = vectors.ephemeralA, ephemeralB = vectors.ephemeralB
        var a = try Link(identity: vectors.identityA, keyring: keyring, randomIndex: { ProtocolVectorTests.initiatorIndex },
                         makeEphemeral: { ephemeralA })
        var b = try Link(identity: vectors.identityB, keyring: keyring, randomIndex: { ProtocolVectorTests.responderIndex },
                         makeEphemeral: { ephemeralB })
        let addressA = PeerAddress(ipv4: [127, 0, 0, 1], port: 7001), addressB = PeerAddress(ipv4: [127, 0, 0, 1], port: 7002)
        var fromA: [LinkEffect] = [], fromB: [LinkEffect] = []
        a.send(vectors.packetBody, to: addressB, expected: vectors.idB, now: .zero, wallClock: Self.timestamp, effects: &fromA)
        guard case .send(let initiation, _)? = fromA.first else {
            Issue.record("A sent no initiation: \(fromA)")
            return
        }
        // The nonce is random on the wire, so compare what is sealed, not the datagram.
        let opened = try initiation.withUnsafeBytes {
            SealedPacket.open($0, keyring: keyring, type: Link.typeInitiation, minimumBody: HandshakeInitiation.size)
        }.get()
        #expect(opened == vectors.initiation.encode())
        b.receive(initiation, from: addressA, now: .zero, wallClock: Self.timestamp, effects: &fromB)
        guard case .send(let response, _)? = fromB.first else {
            Issue.record("B sent no response: \(fromB)")
            return
        }
        fromA = []
        a.receive(response, from: addressB, now: .zero, wallClock: Self.timestamp, effects: &fromA)
        let sent = fromA.compactMap { effect -> [UInt8]? in if case .send(let datagram, _) = effect { datagram } else { nil } }
        #expect(sent == [vectors.transportDatagram])
    }
}
