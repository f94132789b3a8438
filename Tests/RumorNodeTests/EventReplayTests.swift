import Foundation
@testable import Rumor
import RumorWire
import Synchronization
import Testing

/// `rumor watch` asks for the events since its own start: a watcher launched in the background of a script,
/// with a `send` right after it, connects a few milliseconds after the message may have arrived. The hub's
/// recent history must give it exactly the events from that moment on, once, in order.
struct EventReplayTests {
    /// What a handler was given, readable from the test.
    final class Seen: Sendable {
        private let events = Locked<[NodeEvent]>([])
        func add(_ event: NodeEvent) { events.withLock { $0.append(event) } }
        var all: [NodeEvent] { events.withLock { $0 } }
        func clear() { events.withLock { $0.removeAll() } }
    }

    static let sender = NodeID(words: 1, 2, 3, 4)

    static func message(_ text: String, at time: Int64) -> NodeEvent {
        .message(ReceivedMessage(from: "a", fromID: sender, kind: .direct, data: Array(text.utf8), receivedAt: time))
    }

    static func texts(_ events: [NodeEvent]) -> [String] {
        events.compactMap { if case .message(let message) = $0 { message.text } else { nil } }
    }

    @Test("a subscriber is given the messages since its moment, and they leave the inbox; older ones stay")
    func replaySince() {
        let hub = EventHub(inboxCapacity: 16, inboxByteCapacity: 1 << 20)
        let now = wallClockNanoseconds()
        hub.emit(Self.message("before", at: now - 2_000_000))
        hub.emit(Self.message("after-1", at: now))
        hub.emit(Self.message("after-2", at: now + 1_000))
        let seen = Seen()
        let token = hub.subscribe(replayingSince: now - 1_000_000) { event in seen.add(event) }
        defer { hub.unsubscribe(token) }
        hub.emit(Self.message("live", at: now + 2_000))
        #expect(Self.texts(seen.all) == ["after-1", "after-2", "live"])
        #expect(Self.texts(hub.inbox(clear: false).messages.map { .message($0) }) == ["before"],
                "replayed messages have been watched: only the older one waits in the inbox")
    }

    @Test("without since, nothing is replayed and the inbox is untouched")
    func noReplayWithoutSince() {
        let hub = EventHub(inboxCapacity: 16, inboxByteCapacity: 1 << 20)
        hub.emit(Self.message("waiting", at: wallClockNanoseconds()))
        let seen = Seen()
        let token = hub.subscribe { event in seen.add(event) }
        defer { hub.unsubscribe(token) }
        #expect(seen.all.isEmpty)
        #expect(hub.inbox(clear: false).messages.count == 1)
    }

    @Test("membership changes are replayed too, and events older than the history's reach are not")
    func memberEventsAndAge() {
        let hub = EventHub(inboxCapacity: 16, inboxByteCapacity: 1 << 20)
        let start = wallClockNanoseconds()
        hub.emit(Self.message("stale", at: start - EventHub.recentAge - 1_000_000_000))
        hub.emit(.member(MemberEvent(name: "c", id: NodeID(words: 5, 6, 7, 8), state: .alive, previous: nil,
                                     address: PeerAddress(ipv4: [127, 0, 0, 1], port: 7946))))
        let seen = Seen()
        let token = hub.subscribe(replayingSince: 0) { event in seen.add(event) }
        defer { hub.unsubscribe(token) }
        let events = seen.all
        #expect(events.count == 1, "\(events)")
        if case .member(let change)? = events.first { #expect(change.name == "c") } else { Issue.record("no member event: \(events)") }
    }

    @Test("the history is bounded in events and bytes")
    func bounded() {
        let hub = EventHub(inboxCapacity: 4096, inboxByteCapacity: 64 << 20)
        let now = wallClockNanoseconds()
        for index in 0..<1_000 { hub.emit(Self.message("m\(index)", at: now + Int64(index))) }
        let seen = Seen()
        var token = hub.subscribe(replayingSince: now) { event in seen.add(event) }
        #expect(Self.texts(seen.all) == (1_000 - EventHub.recentCapacity..<1_000).map { "m\($0)" },
                "the newest \(EventHub.recentCapacity) events, oldest first")
        hub.unsubscribe(token)

        let big = [UInt8](repeating: 7, count: 64 << 10)
        for index in 0..<10 {
            hub.emit(.message(ReceivedMessage(from: "a", fromID: Self.sender, kind: .direct, data: big, receivedAt: now + 10_000 + Int64(index))))
        }
        seen.clear()
        token = hub.subscribe(replayingSince: now + 10_000) { event in seen.add(event) }
        hub.unsubscribe(token)
        #expect(seen.all.count == EventHub.recentByteCapacity / big.count)
    }

    @Test("events emitted while a subscriber joins reach it exactly once, in order")
    func concurrentEmitAndSubscribe() async {
        let hub = EventHub(inboxCapacity: 16, inboxByteCapacity: 1 << 20)
        let since = wallClockNanoseconds()
        let seen = Seen()
        let subscribed = Flag()
        let after = 2_000
        // Two threads of their own, not tasks: the test pool's threads can be held for a minute by the
        // simulations running beside this test, and a task waiting for one would join after the stream ended.
        // The stream stamps each event with the wall clock as it is emitted, as a node does, and goes on until
        // the subscriber is in and `after` more events have followed (bounded: 5 minutes or a billion events).
        Thread.detachNewThread {
            let deadline = ContinuousClock.now + .seconds(300)
            while hub.inboxStatus.count < 3 && hub.inboxStatus.dropped == 0 && ContinuousClock.now < deadline { sched_yield() }
            _ = hub.subscribe(replayingSince: since) { event in seen.add(event) }
            subscribed.set()
        }
        let last = await withCheckedContinuation { (done: CheckedContinuation<Int, Never>) in
            Thread.detachNewThread {
                let deadline = ContinuousClock.now + .seconds(300)
                var index = 0
                var remaining = after
                while remaining > 0, index < 1_000_000_000, ContinuousClock.now < deadline {
                    hub.emit(Self.message("e\(index)", at: wallClockNanoseconds()))
                    index += 1
                    if subscribed.isSet { remaining -= 1 }
                }
                done.resume(returning: index - 1)
            }
        }
        let numbers = Self.texts(seen.all).compactMap { Int($0.dropFirst()) }
        #expect(numbers.count >= after, "the subscriber joined while the stream was running")
        #expect(numbers.last == last, "the subscriber missed the end of the stream")
        #expect(Set(numbers).count == numbers.count, "an event arrived twice")
        #expect(numbers == numbers.sorted(), "events out of order")
        if let first = numbers.first { #expect(numbers == Array(first...last), "a gap after the first event") }
    }

    /// Set once, read from another thread.
    final class Flag: Sendable {
        private let value = Atomic<Bool>(false)
        func set() { value.store(true, ordering: .releasing) }
        var isSet: Bool { value.load(ordering: .acquiring) }
    }
}
