#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Secret files (identity.key, the network key, the keyring) that others can open: `rumor start` warns and
/// goes on, as WireGuard does for its private keys, since refusing would break a running setup over a
/// mode the user may have chosen.
enum SecretFileMode {
    /// A warning line for `path` when users other than its owner may read or write it; nil when it is private
    /// or does not exist.
    static func warning(for path: String) -> String? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        let mode = info.st_mode & 0o777
        let access: String
        if mode & 0o044 != 0 {
            access = "readable"
        } else if mode & 0o022 != 0 {
            access = "writable"
        } else {
            return nil
        }
        return "rumor: warning: \(path) is \(access) by others (mode \(String(mode, radix: 8).leftPadded(to: 4))); chmod 600 it"
    }
}

extension String {
    /// The string with zeros in front, up to `width` characters.
    fileprivate func leftPadded(to width: Int) -> String {
        String(repeating: "0", count: max(0, width - count)) + self
    }
}
