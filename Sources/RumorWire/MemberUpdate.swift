/// What one member says, or is said, about its state: the unit of gossip and of anti-entropy.
///
/// An `alive` claim carries everything a peer needs to reach and name the member; `suspect` and `dead`
/// claims name their accuser; `left` is the member's own goodbye. See Docs/PROTOCOL.md, "16: member update".
public enum MemberUpdate: Equatable, Sendable {
    case alive(AliveClaim)
    case suspect(subject: NodeID, incarnation: UInt64, accuser: NodeID)
    case dead(subject: NodeID, incarnation: UInt64, accuser: NodeID)
    /// The member's own goodbye, signed by it (`signature` is empty only before the node signs it on its way out).
    case left(subject: NodeID, incarnation: UInt64, signature: [UInt8])

    public var subject: NodeID {
        switch self {
        case .alive(let claim): return claim.id
        case .suspect(let subject, _, _), .dead(let subject, _, _), .left(let subject, _, _): return subject
        }
    }

    public var incarnation: UInt64 {
        switch self {
        case .alive(let claim): return claim.incarnation
        case .suspect(_, let incarnation, _), .dead(_, let incarnation, _), .left(_, let incarnation, _): return incarnation
        }
    }

    enum Kind: UInt8 { case alive = 1, suspect = 2, dead = 3, left = 4 }

    var kind: Kind {
        switch self {
        case .alive: return .alive
        case .suspect: return .suspect
        case .dead: return .dead
        case .left: return .left
        }
    }

    public var encodedSize: Int {
        switch self {
        case .alive(let claim): return 1 + 8 + 32 + claim.bodySize
        case .suspect, .dead: return 1 + 8 + 32 + 32
        case .left: return 1 + 8 + 32 + Signature.size
        }
    }

    public func write(to writer: inout ByteWriter) {
        writer.write(kind.rawValue)
        writer.write(incarnation)
        subject.write(to: &writer)
        switch self {
        case .alive(let claim): claim.writeBody(to: &writer)
        case .suspect(_, _, let accuser), .dead(_, _, let accuser): accuser.write(to: &writer)
        case .left(_, _, let signature): Signature.write(signature, to: &writer)
        }
    }

    public static func read(from reader: inout ByteReader) -> MemberUpdate? {
        guard let raw = reader.readUInt8(), let kind = Kind(rawValue: raw),
              let incarnation = reader.readUInt64(), let subject = NodeID.read(from: &reader) else { return nil }
        switch kind {
        case .alive:
            return AliveClaim.readBody(id: subject, incarnation: incarnation, from: &reader).map { .alive($0) }
        case .suspect:
            return NodeID.read(from: &reader).map { .suspect(subject: subject, incarnation: incarnation, accuser: $0) }
        case .dead:
            return NodeID.read(from: &reader).map { .dead(subject: subject, incarnation: incarnation, accuser: $0) }
        case .left:
            return Signature.read(from: &reader).map { .left(subject: subject, incarnation: incarnation, signature: $0) }
        }
    }
}

/// A member's claim to be alive at an incarnation, with the name, address and tags it goes by, signed by the
/// member itself so that no one else can make it.
public struct AliveClaim: Equatable, Sendable {
    public var id: NodeID
    public var incarnation: UInt64
    public var name: String
    public var address: PeerAddress
    public var tags: Tags
    /// Ed25519 over `signedBytes` by `id`; empty only until the node signs its own claim on the way out.
    public var signature: [UInt8]

    public init(id: NodeID, incarnation: UInt64, name: String, address: PeerAddress, tags: Tags, signature: [UInt8] = []) {
        self.id = id
        self.incarnation = incarnation
        self.name = name
        self.address = address
        self.tags = tags
        self.signature = signature
    }

    /// The same claim, signature aside.
    public func sameContent(as other: AliveClaim) -> Bool {
        id == other.id && incarnation == other.incarnation && name == other.name && address == other.address && tags == other.tags
    }

    /// What the signature covers: "rumor-alive-v1" ‖ id ‖ incarnation ‖ name ‖ address ‖ tags.
    public var signedBytes: [UInt8] {
        var writer = ByteWriter(capacity: 128)
        writer.write(contentsOf: Signature.aliveContext)
        id.write(to: &writer)
        writer.write(incarnation)
        writeContent(to: &writer)
        return writer.bytes
    }

    var bodySize: Int { 1 + name.utf8.count + address.encodedSize + tags.encodedSize + Signature.size }

    func writeContent(to writer: inout ByteWriter) {
        writer.writeShortString(name)
        address.write(to: &writer)
        tags.write(to: &writer)
    }

    func writeBody(to writer: inout ByteWriter) {
        writeContent(to: &writer)
        Signature.write(signature, to: &writer)
    }

    static func readBody(id: NodeID, incarnation: UInt64, from reader: inout ByteReader) -> AliveClaim? {
        guard let name = reader.readShortString(), NodeName.isValid(name),
              let address = PeerAddress.read(from: &reader), let tags = Tags.read(from: &reader),
              let signature = Signature.read(from: &reader) else { return nil }
        return AliveClaim(id: id, incarnation: incarnation, name: name, address: address, tags: tags, signature: signature)
    }
}

/// Ed25519 signatures on the wire: always 64 bytes; all zeros stands for "not signed" (which receivers refuse).
public enum Signature {
    public static let size = 64
    public static let aliveContext = Array("rumor-alive-v1".utf8)
    public static let leftContext = Array("rumor-left-v1".utf8)

    /// What a `left` signature covers: "rumor-left-v1" ‖ subject ‖ incarnation.
    public static func leftBytes(subject: NodeID, incarnation: UInt64) -> [UInt8] {
        var writer = ByteWriter(capacity: 64)
        writer.write(contentsOf: leftContext)
        subject.write(to: &writer)
        writer.write(incarnation)
        return writer.bytes
    }

    static func write(_ signature: [UInt8], to writer: inout ByteWriter) {
        if signature.count == size {
            writer.write(contentsOf: signature)
        } else {
            writer.writeZeros(count: size)
        }
    }

    static func read(from reader: inout ByteReader) -> [UInt8]? {
        guard let bytes = reader.readBytes(size) else { return nil }
        return bytes.allSatisfy { $0 == 0 } ? [] : Array(bytes)
    }
}

/// The rules for a node name: 1–64 characters from `A–Z a–z 0–9 . _ -`, not starting with `-` or `.`.
public enum NodeName {
    public static let maxLength = 64

    public static func isValid(_ name: String) -> Bool {
        let utf8 = Array(name.utf8)
        guard (1...maxLength).contains(utf8.count), let first = utf8.first,
              first != UInt8(ascii: "-"), first != UInt8(ascii: ".") else { return false }
        return utf8.allSatisfy { char in
            (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(char) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(char)
                || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(char)
                || char == UInt8(ascii: ".") || char == UInt8(ascii: "_") || char == UInt8(ascii: "-")
        }
    }
}

/// A member's key/value labels, kept sorted by key so that equal tag sets encode to equal bytes.
public struct Tags: Equatable, Hashable, Sendable, Sequence {
    /// At most this many tags, and at most `maxEncodedSize` bytes for all of them on the wire.
    public static let maxCount = 32
    public static let maxEncodedSize = 512

    public private(set) var pairs: [(key: String, value: String)]

    public init() { pairs = [] }

    /// Returns nil if any key is empty, a key or value exceeds 255 bytes, or the limits above are exceeded.
    public init?(_ dictionary: [String: String]) {
        let sorted = dictionary.sorted { $0.key < $1.key }.map { (key: $0.key, value: $0.value) }
        guard Tags.isValid(sorted) else { return nil }
        pairs = sorted
    }

    public var dictionary: [String: String] {
        Dictionary(pairs.map { ($0.key, $0.value) }, uniquingKeysWith: { _, last in last })
    }

    public subscript(key: String) -> String? { pairs.first { $0.key == key }?.value }

    public func makeIterator() -> IndexingIterator<[(key: String, value: String)]> { pairs.makeIterator() }

    public static func == (lhs: Tags, rhs: Tags) -> Bool {
        lhs.pairs.count == rhs.pairs.count && zip(lhs.pairs, rhs.pairs).allSatisfy { $0.key == $1.key && $0.value == $1.value }
    }

    public func hash(into hasher: inout Hasher) {
        for pair in pairs { hasher.combine(pair.key); hasher.combine(pair.value) }
    }

    var encodedSize: Int { 1 + pairs.reduce(0) { $0 + 2 + $1.key.utf8.count + $1.value.utf8.count } }

    static func isValid(_ pairs: [(key: String, value: String)]) -> Bool {
        guard pairs.count <= maxCount else { return false }
        var size = 1
        for pair in pairs {
            let keyCount = pair.key.utf8.count, valueCount = pair.value.utf8.count
            guard keyCount >= 1, keyCount <= 255, valueCount <= 255 else { return false }
            size += 2 + keyCount + valueCount
        }
        return size <= maxEncodedSize
    }

    func write(to writer: inout ByteWriter) {
        writer.write(UInt8(pairs.count))
        for pair in pairs {
            writer.writeShortString(pair.key)
            writer.writeShortString(pair.value)
        }
    }

    static func read(from reader: inout ByteReader) -> Tags? {
        guard let count = reader.readUInt8() else { return nil }
        var dictionary: [String: String] = [:]
        for _ in 0..<count {
            guard let key = reader.readShortString(), let value = reader.readShortString(),
                  dictionary.updateValue(value, forKey: key) == nil else { return nil }
        }
        return Tags(dictionary)
    }
}
