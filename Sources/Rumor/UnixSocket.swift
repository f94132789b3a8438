#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Unix-domain stream sockets for the control plane. Paths longer than `sun_path` (108 bytes) are reached
/// through `/proc/self/fd/N/` of their directory, so a deep `--home` still works.
public enum UnixSocket {
    static func withAddress<R>(_ path: String, _ body: (UnsafePointer<sockaddr>, socklen_t) -> R) -> R {
        var effective = path
        var directoryDescriptor: Int32 = -1
        let maxPath = MemoryLayout.size(ofValue: sockaddr_un().sun_path) - 1
        if path.utf8.count > maxPath, let slash = path.lastIndex(of: "/") {
            directoryDescriptor = open(String(path[..<slash]), O_RDONLY | O_DIRECTORY | O_CLOEXEC)
            if directoryDescriptor >= 0 { effective = "/proc/self/fd/\(directoryDescriptor)" + path[slash...] }
        }
        defer { if directoryDescriptor >= 0 { close(directoryDescriptor) } }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(effective.utf8.prefix(maxPath))
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
        return withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
    }

    /// Connects to a node's control socket; nil (with errno set) when no node listens there.
    public static func connect(path: String) -> Int32? {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return nil }
        let status = withAddress(path) { pointer, length in Glibc.connect(fd, pointer, length) }
        guard status == 0 else {
            let saved = errno
            close(fd)
            errno = saved
            return nil
        }
        return fd
    }

    /// Binds and listens at `path` (mode 0600), replacing a stale socket file.
    static func listen(path: String) throws -> Int32 {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw SystemError(call: "socket", errno: errno) }
        unlink(path)
        let previous = umask(0o177)
        let status = withAddress(path) { pointer, length in bind(fd, pointer, length) }
        umask(previous)
        guard status == 0 else {
            let saved = errno
            close(fd)
            throw SystemError(call: "bind \(path)", errno: saved)
        }
        chmod(path, 0o600)
        guard Glibc.listen(fd, 64) == 0 else {
            let saved = errno
            close(fd)
            throw SystemError(call: "listen", errno: saved)
        }
        return fd
    }

    /// Writes all of `bytes`; false when the peer went away.
    public static func writeAll(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if written < 0 {
                if errno == EINTR { continue }
                return false
            }
            offset += written
        }
        return true
    }
}

/// Reads newline-terminated lines from a descriptor, refusing lines longer than `limit`.
public struct LineReader {
    let fd: Int32
    let limit: Int
    var buffer: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 65_536)

    public init(fd: Int32, limit: Int) {
        self.fd = fd
        self.limit = limit
    }

    public enum Line: Equatable {
        case line([UInt8])
        case end
        case tooLong
        case failed
    }

    public mutating func next() -> Line {
        while true {
            if let newline = buffer.firstIndex(of: 0x0a) {
                guard newline <= limit else { return .tooLong }
                let line = Array(buffer[..<newline])
                buffer.removeSubrange(...newline)
                return .line(line)
            }
            if buffer.count > limit { return .tooLong }
            let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count < 0 {
                if errno == EINTR { continue }
                return .failed
            }
            if count == 0 {
                guard !buffer.isEmpty else { return .end }
                let line = buffer
                buffer.removeAll()
                return .line(line)
            }
            buffer.append(contentsOf: chunk.prefix(count))
        }
    }
}
