import RumorCrypto
import RumorWire

/// Fixed identities, keys, addresses and frames shared by the targets and their seeds.
enum Samples {
    /// A node id whose 32 bytes are all `byte`.
    static func id(_ byte: UInt8) -> NodeID {
        guard let id = NodeID(bytes: [UInt8](repeating: byte, count: NodeID.byteCount)) else { preconditionFailure("32 bytes") }
        return id
    }

    static func identity(_ byte: UInt8) -> IdentityKey {
        guard let key = IdentityKey(seed: [UInt8](repeating: byte, count: IdentityKey.seedSize)) else { preconditionFailure("32-byte seed") }
        return key
    }

    static func networkKey(_ byte: UInt8) -> NetworkKey {
        guard let key = NetworkKey(bytes: [UInt8](repeating: byte, count: NetworkKey.byteCount)) else { preconditionFailure("32 bytes") }
        return key
    }

    static func nodeID(of identity: IdentityKey) -> NodeID {
        guard let id = NodeID(bytes: identity.publicKey) else { preconditionFailure("32-byte public key") }
        return id
    }

    static func ipv4(_ last: UInt8, port: UInt16 = 7946) -> PeerAddress { PeerAddress(ipv4: [10, 0, 0, last], port: port) }
    static let ipv6 = PeerAddress(ipv6: [0x20, 0x01, 0x0d, 0xb8] + [UInt8](repeating: 0, count: 11) + [1], port: 7946)

    static func tags(_ pairs: [String: String]) -> Tags {
        guard let tags = Tags(pairs) else { preconditionFailure("valid tags") }
        return tags
    }

    static func alive(_ byte: UInt8, name: String, incarnation: UInt64 = 1, address: PeerAddress? = nil, tags: Tags = Tags(),
                      signature: [UInt8] = []) -> AliveClaim {
        AliveClaim(id: id(byte), incarnation: incarnation, name: name, address: address ?? ipv4(byte), tags: tags, signature: signature)
    }

    static let frames: [(name: String, frame: Frame)] = [
        ("ping", .ping(sequence: 7, target: id(2))),
        ("ack", .ack(sequence: 7)),
        ("nack", .nack(sequence: 7)),
        ("ping-request-v4", .pingRequest(sequence: 8, target: id(3), address: ipv4(3))),
        ("ping-request-v6", .pingRequest(sequence: 8, target: id(3), address: ipv6)),
        ("alive", .member(.alive(alive(4, name: "node-4", incarnation: 3, tags: tags(["role": "db", "zone": "eu-1"]),
                                       signature: [UInt8](repeating: 0x51, count: 64))))),
        ("suspect", .member(.suspect(subject: id(4), incarnation: 3, accuser: id(5)))),
        ("dead", .member(.dead(subject: id(4), incarnation: 4, accuser: id(5)))),
        ("left", .member(.left(subject: id(4), incarnation: 5, signature: [UInt8](repeating: 0x5e, count: 64)))),
        ("sync-request", .syncRequest),
        ("message", .message(MessageFragment(epoch: 1, messageID: 1, floor: 1, totalLength: 5, index: 0, count: 1,
                                             chunk: Array("hello".utf8)[...]))),
        ("message-ack", .messageAck(MessageAck(epoch: 1, messageID: 1, received: 1))),
        ("datagram", .datagram(Array("fire and forget".utf8)[...])),
    ]

    /// One frame's bytes, header included.
    static func encode(_ frame: Frame) -> [UInt8] {
        var writer = ByteWriter()
        frame.write(to: &writer)
        return writer.bytes
    }
}
