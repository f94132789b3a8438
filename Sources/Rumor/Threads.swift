#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Starts a detached OS thread running `body`. The event loop and the control server each own one: no
/// Task or actor hop sits on the datagram path.
func spawnThread(_ body: @escaping @Sendable () -> Void) {
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
    if status == 0 {
        pthread_detach(thread)
    } else {
        // No thread could be made: run inline rather than lose the work.
        Unmanaged<Box>.fromOpaque(box).takeRetainedValue().body()
    }
}
