@testable import Rumor
import Testing

/// Fire-and-forget datagrams between two real nodes on 127.0.0.1: the path `rumor send --unreliable` and
/// `RumorNode.sendUnreliable` take, posted to the event loop without a closure per datagram and sent in batches.
@Suite(.serialized) struct DatagramTests {
    /// A value shared with event handlers (which run on a node's loop thread), behind the node's own lock type
    /// so that ThreadSanitizer sees the ordering (Locked.swift).
    final class Shared<Value: Sendable>: Sendable {
        let value: Locked<Value>
        init(_ value: Value) { self.value = Locked(value) }
        func update(_ body: (inout Value) -> Void) { value.withLock { body(&$0) } }
        var current: Value { value.withLock { $0 } }
    }

    @Test func aBurstOfManyBatchesArrivesWholeAndInOrder() async throws {
        let home = try TemporaryHome()
        let a = try startNode("a", home: home)
        let b = try startNode("b", home: home, join: [a.listenAddress])
        for node in [a, b] { try await node.waitForAlive(2, timeout: .seconds(10)) }
        let received = Shared<[UInt16]>([])
        let count = Shared(0)
        let token = b.subscribe { event in
            guard case .message(let message) = event, message.kind == .datagram, message.data.count == 2 else { return }
            received.update { $0.append(UInt16(message.data[0]) << 8 | UInt16(message.data[1])) }
            count.update { $0 += 1 }
        }
        // 1,000 datagrams in five windows of 200, each window posted in one go (more than three sendmmsg batches
        // of 64) and awaited before the next. Fire-and-forget datagrams are never sent again, so all 1,000 at once
        // would test the receive buffer's size instead: the node asks for 4 MiB, but under Linux's default
        // net.core.rmem_max (212,992) it holds about 500 small datagrams (the kernel charges each some 800 bytes),
        // and a burst of 1,000 overflows it whenever b's loop is descheduled for a few milliseconds.
        for window in stride(from: 0, to: 1000, by: 200) {
            for number in window..<(window + 200) {
                try await a.sendUnreliable([UInt8(number >> 8), UInt8(number & 0xff)], to: "b")
            }
            let arrived = try await observe { count.current } until: { $0 >= window + 200 }
            guard arrived == window + 200 else {
                Issue.record("after the window from \(window), \(arrived) datagrams arrived")
                break
            }
        }
        #expect(received.current == (0..<1000).map { UInt16($0) }, "all 1,000 datagrams, each once, in order")
        b.unsubscribe(token)
        await a.stop()
        await b.stop()
    }

    @Test func anEventHandlerThatOutrunsTheLoopIsToldTheQueueIsFullInsteadOfHangingTheNode() async throws {
        let home = try TemporaryHome()
        let a = try startNode("a", home: home)
        let b = try startNode("b", home: home, join: [a.listenAddress])
        for node in [a, b] { try await node.waitForAlive(2, timeout: .seconds(10)) }
        let outcomes = Shared((queued: 0, full: 0, other: 0))
        let handled = Shared(0)
        // The handler runs on b's event loop thread, which is the thread that would empty the queue: waiting for
        // room there would wait forever.
        let token = b.subscribe { [b] event in
            guard case .message(let message) = event, message.kind == .datagram, message.data == [42] else { return }
            for _ in 0..<5000 {
                b.sendUnreliable([7], to: "a") { result in
                    outcomes.update { counts in
                        switch result {
                        case .success: counts.queued += 1
                        case .failure(.queueFull): counts.full += 1
                        case .failure: counts.other += 1
                        }
                    }
                }
            }
            handled.update { $0 += 1 }
        }
        try await a.sendUnreliable([42], to: "b")
        #expect(try await observe { handled.current } until: { $0 >= 1 } == 1)
        let counts = outcomes.current
        #expect(counts.queued == 4096)
        #expect(counts.full == 5000 - 4096)
        #expect(counts.other == 0)
        // b's loop went on: it answers a ping.
        let roundTrip = try await a.ping("b", timeout: .seconds(5))
        #expect(roundTrip > .zero)
        b.unsubscribe(token)
        await a.stop()
        await b.stop()
    }
}
