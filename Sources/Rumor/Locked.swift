#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A value that threads share behind a pthread mutex: the lock of every structure the node loop shares with
/// its callers, control clients and event subscribers.
///
/// Not `Synchronization.Mutex`: on Linux that one locks with atomics and futex calls compiled into the Swift
/// runtime library, which ThreadSanitizer does not instrument, so it cannot see the ordering the lock gives
/// and reports every access it protects as a race (a two-thread program with nothing but a `Mutex` shows it).
/// ThreadSanitizer intercepts `pthread_mutex_lock`, so with this lock its reports mean something. Uncontended,
/// the cost is one pair of library calls, tens of nanoseconds against the microseconds of a datagram.
final class Locked<Value: Sendable>: @unchecked Sendable {
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    /// Read and written only with `mutex` held.
    private var value: Value

    init(_ value: Value) {
        mutex = .allocate(capacity: 1)
        mutex.initialize(to: pthread_mutex_t())
        pthread_mutex_init(mutex, nil)
        self.value = value
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deinitialize(count: 1)
        mutex.deallocate()
    }

    /// Runs `body` with the lock held; `body` must not call back into this lock.
    func withLock<Result>(_ body: (inout Value) throws -> Result) rethrows -> Result {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body(&value)
    }
}
