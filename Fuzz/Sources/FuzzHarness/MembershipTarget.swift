import RumorMembership
import RumorWire

/// The membership core (SWIM with Lifeguard) fed packets from six peers — frames decoded from the input, or
/// made from fuzz fields that name its members, their incarnations, names and addresses, and the sequence
/// numbers of its own probes — with a fixed seed and a clock the input moves.
///
/// Claims carry a stand-in signature (`MembershipWorld.sign`), as the node's shell lets only signed claims through.
///
/// Invariants after every step: the peer table's active count is its rows' count; this node is in its table,
/// alive (or left, once leaving) at an incarnation that never goes back, and no member's incarnation goes
/// back; no two active members go by one name; every packet it asks to send fits a datagram, survives the
/// wire codec, goes to a usable address and relays other members' claims exactly as they signed them; a change
/// report is about another member and changes its state (or renews a suspicion); after `tick(now)` the next wake-up
/// is in the future (else the node loop would spin).
public enum MembershipTarget: FuzzTarget {
    public static let name = "membership"
    static let me = Samples.alive(0x70, name: "m0", address: Samples.ipv4(100), tags: Samples.tags(["role": "fuzz"]))
    static let peers = (0x71...0x76).map { Samples.id(UInt8($0)) }
    static let names = ["n1", "n2", "n3", "m0", "shared", "n1"]
    static let addresses = [Samples.ipv4(1), Samples.ipv4(2), Samples.ipv4(3), Samples.ipv4(4), Samples.ipv4(5),
                            PeerAddress(ipv4: [0, 0, 0, 0], port: 7946), Samples.ipv4(100), Samples.ipv6]
    static let maxOps = 96

    public static func run(_ input: [UInt8]) throws(Violation) {
        var input = FuzzInput(input)
        var world = MembershipWorld()
        var ops = 0
        while !input.isAtEnd, ops < maxOps {
            ops += 1
            try world.step(&input)
        }
    }

    public static func seeds() -> [(name: String, bytes: [UInt8])] {
        func script(_ build: (inout ScriptWriter) -> Void) -> [UInt8] {
            var writer = ScriptWriter()
            build(&writer)
            return writer.bytes
        }
        // Op 0: a packet whose frames are decoded from the input.
        func decoded(_ frames: [Frame], from sender: UInt8 = 0, source: UInt8 = 0) -> (inout ScriptWriter) -> Void {
            { writer in
                writer.byte(0); writer.byte(sender); writer.byte(source)
                writer.blob(frames.flatMap(Samples.encode))
            }
        }
        let alive = Frame.member(.alive(Samples.alive(0x71, name: "n1", incarnation: 1, address: Samples.ipv4(1))))
        let alive2 = Frame.member(.alive(Samples.alive(0x72, name: "n2", incarnation: 1, address: Samples.ipv4(2))))
        return [
            ("join-gossip", script(decoded([.syncRequest, alive, alive2]))),
            ("all-frames", script(decoded(Samples.frames.map(\.frame)))),
            ("ping-me", script(decoded([.ping(sequence: 1, target: me.id)]))),
            ("suspect-me", script(decoded([.member(.suspect(subject: me.id, incarnation: 1, accuser: peers[0]))]))),
            ("probe-cycle", script { writer in
                decoded([alive, alive2])(&writer)
                for _ in 0..<6 { writer.byte(2); writer.byte(0); writer.uint16(700) }
            }),
            ("made-frames", script { writer in
                // Op 1: three made frames from peer 1 — alive, suspect of peer 2, ack of the last probe.
                writer.byte(1); writer.byte(0); writer.byte(0); writer.byte(2)
                writer.byte(4); writer.byte(0); writer.byte(1); writer.byte(0); writer.byte(0); writer.byte(1)
                writer.byte(5); writer.byte(1); writer.byte(1); writer.byte(0); writer.byte(0)
                writer.byte(1); writer.byte(0)
            }),
            ("leave", script { writer in decoded([alive])(&writer); writer.byte(4) }),
            ("join-seeds", script { writer in writer.byte(3); writer.byte(0x0f); writer.byte(2); writer.byte(1); writer.uint16(2000) }),
        ]
    }
}

struct MembershipWorld {
    var core: Membership
    var now = Instant(nanoseconds: 1_000_000_000)
    /// Sequence numbers this node used in pings, newest last, so that made acks can answer them.
    var sequences: [UInt32] = [1]
    var incarnations: [NodeID: UInt64] = [:]

    init() {
        core = Membership(me: MembershipTarget.me, settings: .profile(.lan), seed: 1, now: now)
    }

    mutating func step(_ input: inout FuzzInput) throws(Violation) {
        var effects: [MembershipEffect] = []
        switch input.below(7) {
        case 0:
            let sender = pickSender(&input), source = MembershipTarget.addresses[input.below(MembershipTarget.addresses.count)]
            let frames = input.blob(max: PacketBody.maxFramesSize)
            guard case .success(var packet) = PacketBody.decode((sender.bytes + frames)[...]) else { return }
            // Whoever a claim names signed it: the target re-signs, where the node's shell would verify.
            packet.frames = packet.frames.map(MembershipWorld.signed)
            Trace.log("receive from \(sender.short) at \(source): \(packet.frames)")
            core.receive(packet, from: source, now: now, effects: &effects)
        case 1:
            let sender = pickSender(&input), source = MembershipTarget.addresses[input.below(MembershipTarget.addresses.count)]
            let count = 1 + input.below(4)
            var frames: [Frame] = []
            for _ in 0..<count { frames.append(madeFrame(&input)) }
            Trace.log("receive from \(sender.short) at \(source): \(frames)")
            core.receive(PacketBody(sender: sender, frames: frames), from: source, now: now, effects: &effects)
        case 2:
            let scale: Int64 = [1, 1, 1, 2000][input.below(4)]
            now = now + .milliseconds(Int64(input.uint16()) * scale)
            Trace.log("tick at \(now)")
            core.tick(now: now, effects: &effects)
            try require(core.nextWake > now, "after tick(\(now)) the next wake-up is \(core.nextWake): the loop would spin")
        case 3:
            let mask = input.byte()
            // The shell resolves seeds to usable addresses: the unspecified one is not among them.
            let seeds = MembershipTarget.addresses.indices.filter { mask & (1 << $0) != 0 }.map { MembershipTarget.addresses[$0] }
                .filter { !$0.isUnspecified }
            Trace.log("join \(seeds)")
            core.join(seeds: seeds, now: now, effects: &effects)
        case 4:
            Trace.log("leave")
            core.leave(now: now, effects: &effects)
        case 5:
            core.setTags(input.bool() ? Tags() : Samples.tags(["role": "fuzz", "n": String(input.byte())]), now: now)
        default:
            let count = input.below(4)
            // Restored peers come from peers.snapshot, written from the table: usable addresses only.
            let claims = (0..<count).map { _ in madeClaim(&input) }.filter { !$0.address.isUnspecified }
            Trace.log("restore \(claims)")
            core.restore(claims, now: now, effects: &effects)
        }
        for effect in effects { Trace.log("  \(effect)") }
        try check(effects)
    }

    mutating func pickSender(_ input: inout FuzzInput) -> NodeID {
        let choice = input.below(8)
        switch choice {
        case 0..<6: return MembershipTarget.peers[choice]
        case 6: return MembershipTarget.me.id
        default: return Samples.id(0x7f)
        }
    }

    func pickMember(_ input: inout FuzzInput) -> NodeID {
        let choice = input.below(7)
        return choice < 6 ? MembershipTarget.peers[choice] : MembershipTarget.me.id
    }

    /// An incarnation near the one the core holds for `id`: the same, one more, one less, or any.
    func incarnation(of id: NodeID, _ input: inout FuzzInput) -> UInt64 {
        let current = core.members[id]?.incarnation ?? 1
        switch input.below(4) {
        case 0: return current
        case 1: return current &+ 1
        case 2: return current == 0 ? 0 : current - 1
        default: return input.uint64()
        }
    }

    func madeClaim(_ input: inout FuzzInput) -> AliveClaim {
        let id = pickMember(&input)
        let incarnation = incarnation(of: id, &input)
        let name = MembershipTarget.names[input.below(MembershipTarget.names.count)]
        let address = MembershipTarget.addresses[input.below(MembershipTarget.addresses.count)]
        let tags = input.below(4) == 0 ? Samples.tags(["k": String(input.byte())]) : Tags()
        var claim = AliveClaim(id: id, incarnation: incarnation, name: name, address: address, tags: tags)
        claim.signature = MembershipWorld.sign(claim.signedBytes)
        return claim
    }

    /// Stands in for Ed25519 (which would cost more than the rest of the target): a digest of the signed bytes,
    /// 64 bytes long. The node's shell drops claims whose signature does not verify before the core sees them.
    static func sign(_ bytes: [UInt8]) -> [UInt8] {
        var state: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in bytes { state = (state ^ UInt64(byte)) &* 0x0000_0100_0000_01b3 }
        return (0..<8).flatMap { index in
            let word = (state ^ UInt64(index)) &* 0x9E37_79B9_7F4A_7C15
            return (0..<8).map { UInt8(truncatingIfNeeded: word >> UInt64(8 * $0)) }
        }
    }

    static func signed(_ frame: Frame) -> Frame {
        switch frame {
        case .member(.alive(var claim)):
            claim.signature = sign(claim.signedBytes)
            return .member(.alive(claim))
        case .member(.left(let subject, let incarnation, _)):
            return .member(.left(subject: subject, incarnation: incarnation, signature: sign(Signature.leftBytes(subject: subject, incarnation: incarnation))))
        default:
            return frame
        }
    }

    /// Whether a claim about another member that this node relays still verifies at the receiver.
    static func verifies(_ frame: Frame) -> Bool {
        switch frame {
        case .member(.alive(let claim)) where claim.id != MembershipTarget.me.id: return claim.signature == sign(claim.signedBytes)
        case .member(.left(let subject, let incarnation, let signature)) where subject != MembershipTarget.me.id:
            return signature == sign(Signature.leftBytes(subject: subject, incarnation: incarnation))
        default: return true
        }
    }

    func madeFrame(_ input: inout FuzzInput) -> Frame {
        switch input.below(8) {
        case 0: return .ping(sequence: input.uint32(), target: input.bool() ? MembershipTarget.me.id : pickMember(&input))
        case 1: return .ack(sequence: sequences[sequences.count - 1 - input.below(256) % sequences.count])
        case 2: return .nack(sequence: sequences[sequences.count - 1 - input.below(256) % sequences.count])
        case 3:
            return .pingRequest(sequence: input.uint32(), target: pickMember(&input),
                                address: MembershipTarget.addresses[input.below(MembershipTarget.addresses.count)])
        case 4: return .member(.alive(madeClaim(&input)))
        case 5:
            let subject = pickMember(&input)
            let incarnation = incarnation(of: subject, &input)
            let accuser = pickMember(&input)
            switch input.below(3) {
            case 0: return .member(.suspect(subject: subject, incarnation: incarnation, accuser: accuser))
            case 1: return .member(.dead(subject: subject, incarnation: incarnation, accuser: accuser))
            default:
                return .member(.left(subject: subject, incarnation: incarnation,
                                     signature: MembershipWorld.sign(Signature.leftBytes(subject: subject, incarnation: incarnation))))
            }
        case 6: return .syncRequest
        default: return .ack(sequence: input.uint32())
        }
    }

    mutating func check(_ effects: [MembershipEffect]) throws(Violation) {
        let me = MembershipTarget.me.id
        for effect in effects {
            switch effect {
            case .send(let address, let frames):
                try require(!frames.isEmpty, "a packet without frames")
                try require(!address.isUnspecified, "a packet to the unspecified address \(address): \(frames.map(\.kind))")
                let body = PacketBody(sender: me, frames: frames)
                try require(body.encodedSize - NodeID.byteCount <= PacketBody.maxFramesSize,
                            "\(body.encodedSize - NodeID.byteCount) bytes of frames do not fit a datagram")
                try PacketTarget.check(body, knownFramesOnly: true, inputCount: body.encodedSize)
                for frame in frames {
                    try require(MembershipWorld.verifies(frame), "relays a claim its subject did not sign: \(frame)")
                }
                for case .ping(let sequence, _) in frames {
                    sequences.append(sequence)
                    if sequences.count > 64 { sequences.removeFirst() }
                }
            case .changed(let change):
                // Suspect → suspect is a new suspicion at a higher incarnation; any other report changes the state.
                try require(change.previousState != change.member.state || change.member.state == .suspect,
                            "a change to the same state \(change.member.state)")
                try require(change.member.id != me, "a change report about this node itself")
            case .conflict(let conflict):
                try require(conflict.holder != conflict.claimant, "a name conflict with itself")
            }
        }
        let members = core.members
        try require(core.activeCount == members.values.filter(\.state.isActive).count,
                    "activeCount \(core.activeCount), the table holds \(members.values.filter(\.state.isActive).count) active")
        guard let myself = members[me] else { throw Violation(message: "this node left its own table", location: "\(#fileID):\(#line)") }
        try require(myself.state == (core.isLeaving ? .left : .alive), "this node is \(myself.state)\(core.isLeaving ? " while leaving" : "")")
        var activeNames: [String: NodeID] = [:]
        for member in members.values.sorted(by: { $0.id < $1.id }) {
            try require(member.incarnation >= incarnations[member.id] ?? 0, "\(member.name)'s incarnation went back to \(member.incarnation)")
            try require(NodeName.isValid(member.name), "a member named '\(member.name)'")
            if member.state.isActive, let holder = activeNames.updateValue(member.id, forKey: member.name) {
                throw Violation(message: "two active members named '\(member.name)': \(holder.short) and \(member.id.short)", location: "\(#fileID):\(#line)")
            }
        }
        incarnations = members.mapValues(\.incarnation)
    }
}
