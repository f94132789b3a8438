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
    /// A transport datagram for a session index this node does not hold (expired, or never existed).
    case unknownSession = "unknown_session"
    /// A transport datagram for a session past its reject-after time.
    case expiredSession = "expired_session"
    /// A transport counter already received, or too far behind the window: a replay.
    case replay
    /// An initiation not newer than the last one accepted from the same initiator: a replayed handshake.
    case staleHandshake = "stale_handshake"
    /// A handshake whose Ed25519 signature does not verify, or whose ephemeral key is unusable.
    case badSignature = "bad_signature"
    /// A handshake meant for another identity.
    case misdirected
    /// Identity pinning: the peer is not on the allow list.
    case notAllowed = "not_allowed"
    /// Too many initiations from one source address (or from all of them together).
    case rateLimited = "rate_limited"
    /// The session table is full.
    case tooManySessions = "too_many_sessions"
    /// The packet's sender id is not the identity its session was made with.
    case identityMismatch = "identity_mismatch"
    /// A member claim or broadcast whose origin signature does not verify.
    case forged
}
