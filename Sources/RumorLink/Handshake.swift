import RumorCrypto
import RumorWire

/// The two handshake messages, each sealed under the network key (datagram types 2 and 3), so an outsider
/// learns nothing from them, not even who talks to whom. Each side signs its ephemeral key with its identity
/// key; the responder's signature also covers the initiator's ephemeral key and timestamp, binding the two.
/// Docs/PROTOCOL.md, "Datagrams", gives every byte; "Sessions" the rules.
///
///     initiation: initiator id (32) | ephemeral (32) | sender index (4) | timestamp (8) | responder id (32)
///                 | signature (64) over "rumor-handshake-init-v1" ‖ the 108 bytes before it
///     response:   responder id (32) | ephemeral (32) | sender index (4) | receiver index (4)
///                 | signature (64) over "rumor-handshake-resp-v1" ‖ initiation's ephemeral ‖ its timestamp
///                   ‖ the 72 bytes before it
public struct HandshakeInitiation: Equatable, Sendable {
    public static let size = 32 + 32 + 4 + 8 + 32 + 64
    static let context = Array("rumor-handshake-init-v1".utf8)

    public var initiator: NodeID
    public var ephemeral: [UInt8]
    public var senderIndex: UInt32
    /// Wall clock of the initiator in nanoseconds: a responder refuses any initiation not newer than the last
    /// it accepted from the same initiator (a replayed handshake).
    public var timestamp: UInt64
    /// The intended responder, or all zeros when the initiator knows only an address (a seed).
    public var responder: NodeID
    public var signature: [UInt8]

    var signedPart: [UInt8] {
        var writer = ByteWriter(capacity: 108)
        initiator.write(to: &writer)
        writer.write(contentsOf: ephemeral)
        writer.write(senderIndex)
        writer.write(timestamp)
        responder.write(to: &writer)
        return writer.bytes
    }

    public static func make(identity: IdentityKey, initiator: NodeID, ephemeral: EphemeralKey, senderIndex: UInt32,
                            timestamp: UInt64, responder: NodeID) -> HandshakeInitiation {
        var message = HandshakeInitiation(initiator: initiator, ephemeral: ephemeral.publicKey, senderIndex: senderIndex,
                                          timestamp: timestamp, responder: responder, signature: [])
        message.signature = identity.sign(context + message.signedPart)
        return message
    }

    public func encode() -> [UInt8] { signedPart + signature }

    public static func decode(_ bytes: [UInt8]) -> HandshakeInitiation? {
        guard bytes.count == size else { return nil }
        var reader = ByteReader(bytes)
        guard let initiator = NodeID.read(from: &reader), let ephemeral = reader.readBytes(32), let index = reader.readUInt32(),
              let timestamp = reader.readUInt64(), let responder = NodeID.read(from: &reader), let signature = reader.readBytes(64) else { return nil }
        return HandshakeInitiation(initiator: initiator, ephemeral: Array(ephemeral), senderIndex: index, timestamp: timestamp,
                                   responder: responder, signature: Array(signature))
    }

    /// Ed25519 check against the initiator's id (its public key).
    public var isSignatureValid: Bool {
        IdentityKey.verify(signature: signature, message: HandshakeInitiation.context + signedPart, publicKey: initiator.bytes)
    }
}

public struct HandshakeResponse: Equatable, Sendable {
    public static let size = 32 + 32 + 4 + 4 + 64
    static let context = Array("rumor-handshake-resp-v1".utf8)

    public var responder: NodeID
    public var ephemeral: [UInt8]
    public var senderIndex: UInt32
    public var receiverIndex: UInt32
    public var signature: [UInt8]

    var ownPart: [UInt8] {
        var writer = ByteWriter(capacity: 72)
        responder.write(to: &writer)
        writer.write(contentsOf: ephemeral)
        writer.write(senderIndex)
        writer.write(receiverIndex)
        return writer.bytes
    }

    static func signedMessage(ownPart: [UInt8], initiation: HandshakeInitiation) -> [UInt8] {
        var writer = ByteWriter(capacity: 128)
        writer.write(contentsOf: context)
        writer.write(contentsOf: initiation.ephemeral)
        writer.write(initiation.timestamp)
        writer.write(contentsOf: ownPart)
        return writer.bytes
    }

    public static func make(identity: IdentityKey, responder: NodeID, ephemeral: EphemeralKey, senderIndex: UInt32,
                            answering initiation: HandshakeInitiation) -> HandshakeResponse {
        var message = HandshakeResponse(responder: responder, ephemeral: ephemeral.publicKey, senderIndex: senderIndex,
                                        receiverIndex: initiation.senderIndex, signature: [])
        message.signature = identity.sign(signedMessage(ownPart: message.ownPart, initiation: initiation))
        return message
    }

    public func encode() -> [UInt8] { ownPart + signature }

    public static func decode(_ bytes: [UInt8]) -> HandshakeResponse? {
        guard bytes.count == size else { return nil }
        var reader = ByteReader(bytes)
        guard let responder = NodeID.read(from: &reader), let ephemeral = reader.readBytes(32), let sender = reader.readUInt32(),
              let receiver = reader.readUInt32(), let signature = reader.readBytes(64) else { return nil }
        return HandshakeResponse(responder: responder, ephemeral: Array(ephemeral), senderIndex: sender, receiverIndex: receiver,
                                 signature: Array(signature))
    }

    public func isSignatureValid(answering initiation: HandshakeInitiation) -> Bool {
        IdentityKey.verify(signature: signature, message: HandshakeResponse.signedMessage(ownPart: ownPart, initiation: initiation),
                           publicKey: responder.bytes)
    }
}

/// The 16-byte header of a transport datagram (type 4), which is also its AEAD additional data:
///
///     version (1) = 1 | type (1) = 4 | reserved (2) = 0 | receiver index (4) | counter (8)
///
/// followed by ChaCha20-Poly1305-IETF ciphertext and tag under the session key, nonce = 4 zero bytes ‖ counter.
public enum TransportHeader {
    public static let size = 16
    public static let type: UInt8 = 4

    public static func make(receiverIndex: UInt32, counter: UInt64) -> [UInt8] {
        var writer = ByteWriter(capacity: size)
        writer.write(SealedPacket.version)
        writer.write(type)
        writer.write(UInt16(0))
        writer.write(receiverIndex)
        writer.write(counter)
        return writer.bytes
    }

    /// Writes the header into the first `size` bytes of `out` (the caller gives at least that many).
    @inline(__always)
    static func write(receiverIndex: UInt32, counter: UInt64, into out: UnsafeMutableRawBufferPointer) {
        out[0] = SealedPacket.version
        out[1] = type
        out.storeBytes(of: UInt16(0), toByteOffset: 2, as: UInt16.self)
        out.storeBytes(of: receiverIndex.bigEndian, toByteOffset: 4, as: UInt32.self)
        out.storeBytes(of: counter.bigEndian, toByteOffset: 8, as: UInt64.self)
    }

    /// The receiver index and counter of a transport header (version and type already checked), or nil when
    /// the reserved bytes are not zero or fewer than `size` bytes are given.
    @inline(__always)
    static func read(_ datagram: UnsafeRawBufferPointer) -> (index: UInt32, counter: UInt64)? {
        guard datagram.count >= size, datagram.loadUnaligned(fromByteOffset: 2, as: UInt16.self) == 0 else { return nil }
        return (UInt32(bigEndian: datagram.loadUnaligned(fromByteOffset: 4, as: UInt32.self)),
                UInt64(bigEndian: datagram.loadUnaligned(fromByteOffset: 8, as: UInt64.self)))
    }
}
