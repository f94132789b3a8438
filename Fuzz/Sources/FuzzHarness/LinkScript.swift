import RumorCrypto
@testable import RumorLink
import RumorWire

/// The steps a fuzz input can take in a `LinkWorld`, one opcode byte each and the operands after it.
enum LinkOp: UInt8, CaseIterable {
    /// Honest traffic: a side sends a body (maybe naming whom it expects at the other end).
    case send
    /// Time passes (0–65 s) and both links run their timers.
    case advance
    /// The network delivers the first n datagrams in flight, or loses, duplicates or reorders one.
    case deliver, lose, duplicate, reorder
    /// The adversary re-sends an old datagram, or a copy of one with a byte changed.
    case replay, mutate
    /// The adversary sends raw bytes: junk, a hand-made transport header, or an oversized datagram.
    case raw
    /// The adversary seals fuzz bytes as a handshake body (type 2 or 3) under the network key or another.
    case sealedHandshake
    /// The adversary, as member S, sends a correctly signed initiation with fuzz fields.
    case adversaryInitiation
    /// …or a correctly signed response to a link's initiation it saw.
    case adversaryResponse
    /// …or a body in a session it made.
    case adversaryTransport
    /// A raw handshake message through its decoder: decode∘encode is the identity on what decodes.
    case decodeHandshake

    static func read(from input: inout FuzzInput) -> LinkOp { allCases[Int(input.byte()) % allCases.count] }
}

enum LinkScript {
    static func run(_ world: inout LinkWorld, _ input: inout FuzzInput) throws(Violation) {
        var ops = 0
        while !input.isAtEnd, ops < LinkWorld.maxOps {
            ops += 1
            let op = LinkOp.read(from: &input)
            Trace.log("\(op); in flight: \(world.wire.map { "\($0.datagram.count > 1 ? $0.datagram[1] : 0)→\($0.to)" })")
            try step(op, &world, &input)
        }
        try world.heal()
    }

    static func step(_ op: LinkOp, _ world: inout LinkWorld, _ input: inout FuzzInput) throws(Violation) {
        switch op {
        case .send:
            let side = input.below(2)
            let expected: NodeID? = [nil, LinkWorld.ids[1 - side], LinkWorld.adversaryID][input.below(3)]
            try world.send(input.blob(max: SealedPacket.maxBodySize - 16), from: side, expected: expected)
        case .advance:
            try world.advance(.milliseconds(Int64(input.uint16())))
        case .deliver:
            try world.deliverFirst(1 + input.below(8))
        case .lose:
            let index = input.below(256)
            if !world.wire.isEmpty { world.wire.remove(at: index % world.wire.count) }
        case .duplicate:
            let index = input.below(256)
            if !world.wire.isEmpty { world.wire.append(world.wire[index % world.wire.count]) }
        case .reorder:
            let index = input.below(256)
            if !world.wire.isEmpty { world.wire.insert(world.wire.remove(at: index % world.wire.count), at: 0) }
        case .replay:
            let index = input.below(256)
            guard !world.history.isEmpty else { return }
            let item = world.history[world.history.count - 1 - index % world.history.count]
            if item.to < 2 { try world.deliver(item) }
        case .mutate:
            let index = input.below(256), position = Int(input.uint16()), mask = input.byte() | 1
            guard !world.history.isEmpty else { return }
            var item = world.history[world.history.count - 1 - index % world.history.count]
            guard item.to < 2, !item.datagram.isEmpty else { return }
            item.datagram[position % item.datagram.count] ^= mask
            try world.deliver(item)
        case .raw:
            let side = input.below(2), address = input.below(4)
            try world.inject(input.blob(max: PacketBody.maxDatagramSize + 64), to: side, from: address)
        case .sealedHandshake:
            let side = input.below(2), address = input.below(4), type = input.pick([Link.typeInitiation, Link.typeResponse, 1, 4])
            let key = input.bool() ? LinkWorld.foreignKey : LinkWorld.key
            let body = input.blob(max: SealedPacket.maxBodySize)
            try world.inject(SealedPacket.seal(body: body, key: key, type: type, nonce: world.nextNonce()), to: side, from: address)
        case .adversaryInitiation:
            try adversaryInitiation(&world, &input)
        case .adversaryResponse:
            try adversaryResponse(&world, &input)
        case .adversaryTransport:
            let choice = input.below(256), address = input.below(4)
            try world.adversaryTransport(input.blob(max: SealedPacket.maxBodySize - 16), session: choice, from: address)
        case .decodeHandshake:
            let bytes = input.blob(max: HandshakeInitiation.size + 8)
            if let initiation = HandshakeInitiation.decode(bytes) {
                try require(initiation.encode() == bytes, "HandshakeInitiation decode∘encode changed the bytes")
            }
            if let response = HandshakeResponse.decode(bytes) {
                try require(response.encode() == bytes, "HandshakeResponse decode∘encode changed the bytes")
            }
        }
    }

    /// S signs an initiation: to a link, to anyone, or to someone else; with a good ephemeral key or 32 fuzz
    /// bytes (low-order points included); a timestamp around the wall clock; from any address.
    static func adversaryInitiation(_ world: inout LinkWorld, _ input: inout FuzzInput) throws(Violation) {
        let side = input.below(2), address = input.below(4)
        let responder = [LinkWorld.ids[side], LinkWorld.anyone, LinkWorld.ids[1 - side]][input.below(3)]
        let fuzzIndex = input.uint32()
        let index = [fuzzIndex, LinkWorld.indexBase + 1, 2 * LinkWorld.indexBase + 1][input.below(3)]
        let skew = Int64(Int16(bitPattern: input.uint16())) * 1_000_000
        let timestamp = UInt64(clamping: Int64(clamping: world.wallClock) &+ skew)
        let ephemeral = world.adversaryEphemeral()
        var message = HandshakeInitiation.make(identity: LinkWorld.adversaryIdentity, initiator: LinkWorld.adversaryID, ephemeral: ephemeral,
                                               senderIndex: index, timestamp: timestamp, responder: responder)
        if input.below(4) == 0 {
            // A public key of the fuzzer's choosing (low-order points included), signed as such, so that only the
            // key agreement can refuse it.
            let raw = input.bytes(32)
            message.ephemeral = raw + [UInt8](repeating: 0, count: 32 - raw.count)
            message.signature = LinkWorld.adversaryIdentity.sign(HandshakeInitiation.context + message.signedPart)
        } else {
            world.adversaryPending[index] = ephemeral
        }
        let key = input.below(8) == 0 ? LinkWorld.foreignKey : LinkWorld.key
        try world.inject(SealedPacket.seal(body: message.encode(), key: key, type: Link.typeInitiation, nonce: world.nextNonce()),
                         to: side, from: address)
    }

    /// S answers the newest (or an older) initiation a link sent, as if it were the responder.
    static func adversaryResponse(_ world: inout LinkWorld, _ input: inout FuzzInput) throws(Violation) {
        let side = input.below(2), address = input.below(4), which = input.below(4), index = input.uint32(), junkIndex = input.bool()
        let seen = world.initiations(from: side)
        guard !seen.isEmpty else { return }
        var initiation = seen[which % seen.count]
        if junkIndex { initiation.senderIndex = index }
        let ephemeral = world.adversaryEphemeral()
        let response = HandshakeResponse.make(identity: LinkWorld.adversaryIdentity, responder: LinkWorld.adversaryID, ephemeral: ephemeral,
                                              senderIndex: index, answering: initiation)
        if let keys = ephemeral.sessionKeys(peerPublicKey: initiation.ephemeral, initiator: false) {
            world.adversarySessions.append(LinkWorld.AdversarySession(victim: side, remoteIndex: initiation.senderIndex, send: keys.send))
        }
        try world.inject(SealedPacket.seal(body: response.encode(), key: LinkWorld.key, type: Link.typeResponse, nonce: world.nextNonce()),
                         to: side, from: address)
    }
}
