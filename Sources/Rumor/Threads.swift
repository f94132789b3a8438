#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Starts a detached OS thread running `body`. The event loop and the control server each own one: no
/// Task or actor hop sits on the datagram path.
func spawnThread(_ body: @escaping @Sendable () -> Void) throws {
    final class Box: Sendable {
        let body: @Sendable () -> Void
        init(_ body: @escaping @Sendable () -> Void) { self.body = body }
    }
    let box = Unmanaged.passRetained(Box(body)).toOpaque()
    var thread = pthread_t()
    let status = pthread_create(&thread, nil, { argument in
        guard let argument else { return nil }
        Unmanaged<Box>.fromOpaque(argument).takeRetainedValue().body()
        return nil
    }, box)
    guard status == 0 else {
        Unmanaged<Box>.fromOpaque(box).release()
        throw SystemError(call: "pthread_create", errno: status)
    }
    pthread_detach(thread)
}

/// Starts a detached OS thread (for programs built on the library, such as the CLI's chat).
public enum Threads {
    public static func spawn(_ body: @escaping @Sendable () -> Void) throws { try spawnThread(body) }
}
