/// Why a received datagram was dropped without a reply. Each reason has its own counter in `rumor status`.
public enum DropReason: String, CaseIterable, Sendable, Error {
    /// Shorter than the smallest valid datagram.
    case short
    /// Longer than the largest datagram Rumor sends.
    case oversize
    /// The version byte is not one this node speaks.
    case badVersion = "bad_version"
    /// The type byte is unknown.
    case badType = "bad_type"
    /// The key id names no key in this node's keyring (typically: another mesh's network key).
    case unknownKey = "unknown_key"
    /// The AEAD tag did not verify: tampered, truncated, or sealed under another key with a colliding id.
    case authFailed = "auth_failed"
    /// Authenticated, but the frames inside did not decode.
    case malformed
    /// Authenticated, but it claims to come from this very node (a reflection or a copy of our own traffic).
    case fromSelf = "from_self"
}
