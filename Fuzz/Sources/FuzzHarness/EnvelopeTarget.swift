@testable import RumorMessaging
import RumorWire

/// Envelopes (the first byte of every direct message) and the broadcast core they feed. The first byte picks:
///
/// - even: the input is one envelope. What decodes re-encodes to as many bytes, and decodes to itself.
/// - odd: a script for a `Broadcasts` core (small memory limits, so eviction runs): broadcasts and digests
///   from three members, decoded from the input or made from fuzz fields, while the clock moves. Its byte
///   count MUST match the bodies it keeps and stay within its limits, it MUST never send to itself or echo a
///   broadcast to its sender or origin, and while timestamps are honest (no later than the receiver's clock plus
///   the skew allowance) and nothing was evicted, it MUST deliver each broadcast at most once.
public enum EnvelopeTarget: FuzzTarget {
    public static let name = "envelope"
    static let me = Samples.id(0x90)
    static let members = [Samples.id(0x91), Samples.id(0x92), Samples.id(0x93)]
    static let maxOps = 128

    public static func run(_ input: [UInt8]) throws(Violation) {
        guard let mode = input.first else { return }
        if mode & 1 == 0 {
            try roundTrip(Array(input.dropFirst()))
        } else {
            var script = FuzzInput(Array(input.dropFirst()))
            var world = BroadcastWorld()
            var ops = 0
            while !script.isAtEnd, ops < maxOps {
                ops += 1
                try world.step(&script)
            }
        }
    }

    static func roundTrip(_ bytes: [UInt8]) throws(Violation) {
        guard let envelope = Envelope.decode(bytes) else { return }
        let encoded = envelope.encode()
        try require(encoded.count == bytes.count, "re-encoding changed the size \(bytes.count) → \(encoded.count)")
        try require(Envelope.decode(encoded) == envelope, "decode(encode(envelope)) differs")
    }

    public static func seeds() -> [(name: String, bytes: [UInt8])] {
        let broadcast = BroadcastMessage(origin: members[0], sequence: 42, sentAtMilliseconds: 1_800_000_000_000, data: Array("to all".utf8))
        let envelopes: [(String, Envelope)] = [
            ("direct", .direct(Array("hello".utf8))),
            ("broadcast", .broadcast(broadcast)),
            ("digest", .digest(BroadcastDigest(wantsReply: true, keys: [broadcast.key, BroadcastKey(origin: members[1], sequence: 1)]))),
            ("key-list", .keyRequest(KeyRequest(id: 1, action: .list))),
            ("key-install", .keyRequest(KeyRequest(id: 2, action: .install([UInt8](repeating: 7, count: 32))))),
            ("key-use", .keyRequest(KeyRequest(id: 3, action: .use(0xdead_beef)))),
            ("key-remove", .keyRequest(KeyRequest(id: 4, action: .remove(0xdead_beef)))),
            ("key-response", .keyResponse(KeyResponse(id: 5, ok: false, error: "key deadbeef is not installed",
                                                      keys: [.init(id: 1, primary: true), .init(id: 2, primary: false)]))),
        ]
        var seeds = envelopes.map { (name: $0.0, bytes: [0] + $0.1.encode()) }
        var script = ScriptWriter()
        script.byte(1)
        for origin in 0..<3 as Range<UInt8> {
            // A made broadcast, then the same one again (a duplicate), then a digest that lacks it.
            for _ in 0..<2 { script.byte(1); script.byte(origin); script.byte(origin + 1); script.byte(1); script.uint16(500); script.byte(12); script.byte(1) }
            script.byte(2); script.byte(origin); script.byte(1); script.byte(origin); script.byte(5); script.byte(1)
        }
        script.byte(3); script.uint16(60_000)
        var decoded = ScriptWriter()
        decoded.byte(1)
        decoded.byte(0); decoded.byte(1); decoded.blob(Envelope.broadcast(broadcast).encode())
        decoded.byte(4); decoded.uint16(100)
        seeds += [("broadcast-script", script.bytes), ("broadcast-decoded", decoded.bytes)]
        return seeds
    }
}

struct BroadcastWorld {
    var core: Broadcasts
    var now = Instant(nanoseconds: 1_000_000_000)
    var wall: Int64 = 1_800_000_000_000
    var delivered: Set<BroadcastKey> = []
    /// Set once anything was received with a timestamp ahead of the clock by more than the allowance, or with
    /// two timestamps for one key (origins sign each sequence once), or evicted.
    var exactlyOnceVoid = false
    /// The timestamp of every broadcast made so far: an origin stamps (and signs) each sequence once.
    var stamps: [BroadcastKey: Int64] = [:]
    var originated: Set<BroadcastKey> = []

    init() {
        var settings = BroadcastSettings()
        settings.maxRemembered = 8
        settings.maxStoredBytes = 4096
        core = Broadcasts(me: EnvelopeTarget.me, firstSequence: 1000, seed: 1, settings: settings, now: now)
    }

    var allMembers: [NodeID] { [EnvelopeTarget.me] + EnvelopeTarget.members }

    mutating func step(_ input: inout FuzzInput) throws(Violation) {
        var effects: [BroadcastEffect] = []
        var received: (message: BroadcastMessage, sender: NodeID)?
        switch input.below(5) {
        case 0:
            // An envelope decoded from the input, from one of the members.
            let from = EnvelopeTarget.members[input.below(3)]
            switch Envelope.decode(input.blob(max: 1024)) {
            case .broadcast(let message)?:
                received = (message, from)
                receive(message, from: from, effects: &effects)
            case .digest(let digest)?: core.receive(digest, from: from, now: now, effects: &effects)
            default: return
            }
        case 1:
            let from = EnvelopeTarget.members[input.below(3)]
            let origin = allMembers[input.below(4)]
            let sequence = UInt64(input.byte() % 16)
            let age = Int64(Int16(bitPattern: input.uint16())) * 100
            let data = [UInt8](repeating: input.byte(), count: input.below(4) == 0 ? Int(input.uint16()) % (BroadcastSettings.maxSize + 2) : 12)
            let key = BroadcastKey(origin: origin, sequence: sequence)
            let message = BroadcastMessage(origin: origin, sequence: sequence, sentAtMilliseconds: stamps[key] ?? wall - age, data: data)
            received = (message, from)
            receive(message, from: from, effects: &effects)
        case 2:
            let from = EnvelopeTarget.members[input.below(3)]
            let count = input.below(8)
            let keys = (0..<count).map { _ in BroadcastKey(origin: allMembers[input.below(4)], sequence: UInt64(input.byte() % 16)) }
            core.receive(BroadcastDigest(wantsReply: input.bool(), keys: keys), from: from, now: now, effects: &effects)
        case 3:
            let step: Duration = .milliseconds(Int64(input.uint16()) * 10)
            now = now + step
            wall += step.nanoseconds / 1_000_000
            core.tick(members: allMembers, now: now, effects: &effects)
        default:
            let size = Int(input.uint16()) % (BroadcastSettings.maxSize + 2)
            if case .success(let key) = core.broadcast([UInt8](repeating: 0xB0, count: size), members: allMembers,
                                                         wallClockMilliseconds: wall, now: now, effects: &effects) {
                try require(originated.insert(key).inserted, "originated \(key) twice")
            }
        }
        try check(effects, received: received)
    }

    mutating func receive(_ message: BroadcastMessage, from sender: NodeID, effects: inout [BroadcastEffect]) {
        if message.sentAtMilliseconds > wall + core.settings.clockSkewAllowance.nanoseconds / 1_000_000 { exactlyOnceVoid = true }
        if stamps.updateValue(message.sentAtMilliseconds, forKey: message.key).map({ $0 != message.sentAtMilliseconds }) ?? false {
            exactlyOnceVoid = true
        }
        core.receive(message, from: sender, members: EnvelopeTarget.members, wallClockMilliseconds: wall, now: now, effects: &effects)
    }

    mutating func check(_ effects: [BroadcastEffect], received: (message: BroadcastMessage, sender: NodeID)?) throws(Violation) {
        if core.counters.evicted > 0 { exactlyOnceVoid = true }
        for effect in effects {
            switch effect {
            case .deliver(let message):
                try require(message.data.count <= BroadcastSettings.maxSize, "delivered a broadcast of \(message.data.count) bytes")
                try require(delivered.insert(message.key).inserted || exactlyOnceVoid, "delivered \(message.key) twice")
            case .send(let target, let envelope):
                try require(target != EnvelopeTarget.me, "sent to itself")
                try EnvelopeTarget.roundTrip(envelope.encode())
                if let received, envelope == .broadcast(received.message) {
                    try require(target != received.message.origin && target != received.sender,
                                "forwarded a broadcast back to its origin or to the member it came from")
                }
                if case .digest(let digest) = envelope {
                    try require(digest.keys.count <= BroadcastDigest.maxKeys, "a digest of \(digest.keys.count) keys")
                }
            }
        }
        let kept = core.known.values.reduce(0) { $0 + ($1.message?.data.count ?? 0) }
        try require(core.storedBytes == kept, "storedBytes is \(core.storedBytes), the bodies kept hold \(kept)")
        try require(core.storedBytes <= core.settings.maxStoredBytes, "keeps \(core.storedBytes) bytes")
        try require(core.known.count <= core.settings.maxRemembered, "remembers \(core.known.count) broadcasts")
    }
}
