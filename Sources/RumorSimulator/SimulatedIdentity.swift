import RumorWire

/// Deterministic names for simulated node number `index`: a 32-byte id, a `node-N` name and a fake IPv4
/// address `10.x.y.z:7946` that never touches a socket.
///
/// The id's first four bytes are the index, so `NodeID.short` reads as the index in hex in a log; the rest is
/// SplitMix64 output, so ids sort in no particular relation to the indexes, as real public keys do.
public enum SimulatedIdentity {
    public static let port: UInt16 = 7946
    /// Indexes 0 ..< 2^24 − 1 fit in the three low bytes of a 10.0.0.0/8 address.
    public static let maxNodes = (1 << 24) - 1

    public static func id(of index: Int) -> NodeID {
        precondition(index >= 0 && index < maxNodes, "simulated node index out of range")
        var bytes: [UInt8] = []
        bytes.reserveCapacity(NodeID.byteCount)
        let word = UInt32(index)
        for shift in stride(from: 24, through: 0, by: -8) { bytes.append(UInt8(truncatingIfNeeded: word >> UInt32(shift))) }
        var state = UInt64(index) &* 0xA076_1D64_78BD_642F
        while bytes.count < NodeID.byteCount {
            let value = splitMix(&state)
            for shift in stride(from: 56, through: 0, by: -8) where bytes.count < NodeID.byteCount {
                bytes.append(UInt8(truncatingIfNeeded: value >> UInt64(shift)))
            }
        }
        guard let id = NodeID(bytes: bytes) else { preconditionFailure("32 bytes always make a NodeID") }
        return id
    }

    public static func name(of index: Int) -> String { "node-\(index)" }

    /// `10.x.y.z:7946` where x.y.z is `index + 1`, so no node sits on the network address 10.0.0.0.
    public static func address(of index: Int) -> PeerAddress {
        precondition(index >= 0 && index < maxNodes, "simulated node index out of range")
        let host = UInt32(index + 1)
        return PeerAddress(ipv4: [10, UInt8(truncatingIfNeeded: host >> 16), UInt8(truncatingIfNeeded: host >> 8),
                                  UInt8(truncatingIfNeeded: host)], port: port)
    }

    /// The index `address(of:)` was made from, or nil for any other address.
    public static func index(of address: PeerAddress) -> Int? {
        guard address.family == .ipv4, address.port == port, address.high >> 56 == 10 else { return nil }
        let host = Int((address.high >> 32) & 0xFF_FFFF)
        return host >= 1 ? host - 1 : nil
    }

    static func splitMix(_ state: inout UInt64) -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
