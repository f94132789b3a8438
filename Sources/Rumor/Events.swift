import RumorMembership
import RumorWire

/// Something a node's consumers hear about: a message or a membership change.
public enum NodeEvent: Sendable, Equatable {
    case message(ReceivedMessage)
    case member(MemberEvent)
}

/// A message delivered to this node.
public struct ReceivedMessage: Sendable, Equatable {
    public enum Kind: String, Sendable { case direct, broadcast, datagram }

    public var from: String
    public var fromID: NodeID
    public var kind: Kind
    public var data: [UInt8]
    /// Wall-clock receive time, nanoseconds since 1970.
    public var receivedAt: Int64

    /// The body as text when it is valid UTF-8, else nil.
    public var text: String? { String(validating: data, as: UTF8.self) }
}

/// A member's state as this node sees it changed (or a new member appeared: `previous` is nil).
public struct MemberEvent: Sendable, Equatable {
    public var name: String
    public var id: NodeID
    public var state: MemberState
    public var previous: MemberState?
    public var address: PeerAddress
}

/// Fans events out to any number of subscribers, and keeps messages that arrive while nobody subscribes in
/// a bounded inbox (oldest dropped first, counted). Handlers run on the event loop thread and MUST be quick
/// (append to a queue, yield to a continuation).
///
/// It also remembers the last few seconds of events, so that a subscriber can ask for those since a moment
/// just past: `rumor watch` started in the background of a script, with a `send` right after it, connects a
/// few milliseconds after the message may have arrived, and is still shown it (`subscribe(replayingSince:)`).
final class EventHub: Sendable {
    typealias Handler = @Sendable (NodeEvent) -> Void

    /// Inbox limits: at most this many messages and this many bytes of message bodies.
    let inboxCapacity: Int
    let inboxByteCapacity: Int

    /// How much recent history a replay can reach: events, bytes of message bodies, and age.
    static let recentCapacity = 256
    static let recentByteCapacity = 256 << 10
    static let recentAge: Int64 = 10_000_000_000

    private struct State {
        var next: UInt64 = 0
        var handlers: [UInt64: Handler] = [:]
        /// The handlers as an array, rebuilt only when one subscribes or unsubscribes, so emitting an event
        /// hands out a shared buffer instead of building a new array.
        var snapshot: [Handler] = []
        var inbox: [ReceivedMessage] = []
        var inboxBytes = 0
        var inboxDropped = 0
        var recent = RecentEvents()
    }

    private let state = Locked(State())

    init(inboxCapacity: Int, inboxByteCapacity: Int) {
        self.inboxCapacity = inboxCapacity
        self.inboxByteCapacity = inboxByteCapacity
    }

    /// Adds a handler. With `since` (wall-clock nanoseconds since 1970), it is first given, in order, the events
    /// of the recent history from that moment on, and messages among them leave the inbox (they have been seen).
    /// Replay and registration happen under one lock, so no event is both replayed and delivered, or neither.
    func subscribe(replayingSince since: Int64? = nil, _ handler: @escaping Handler) -> UInt64 {
        state.withLock { state in
            if let since {
                state.recent.trim(before: wallClockNanoseconds() - Self.recentAge)
                for (at, event) in state.recent.events where at >= since {
                    handler(event)
                    guard case .message(let message) = event,
                          let index = state.inbox.firstIndex(where: { $0.receivedAt == message.receivedAt && $0 == message }) else { continue }
                    state.inboxBytes -= state.inbox.remove(at: index).data.count
                }
            }
            state.next += 1
            state.handlers[state.next] = handler
            state.snapshot = Array(state.handlers.values)
            return state.next
        }
    }

    func unsubscribe(_ token: UInt64) {
        state.withLock { state in
            if state.handlers.removeValue(forKey: token) != nil { state.snapshot = Array(state.handlers.values) }
        }
    }

    func emit(_ event: NodeEvent) {
        let at: Int64
        switch event {
        case .message(let message): at = message.receivedAt
        case .member: at = wallClockNanoseconds()
        }
        let handlers = state.withLock { state -> [Handler] in
            state.recent.append(event, at: at)
            state.recent.trim(before: at - Self.recentAge)
            if state.handlers.isEmpty, case .message(let message) = event {
                state.inbox.append(message)
                state.inboxBytes += message.data.count
                while state.inbox.count > inboxCapacity || state.inboxBytes > inboxByteCapacity, !state.inbox.isEmpty {
                    state.inboxBytes -= state.inbox.removeFirst().data.count
                    state.inboxDropped += 1
                }
            }
            return state.snapshot
        }
        for handler in handlers { handler(event) }
    }

    /// The messages waiting in the inbox (oldest first) and how many were dropped because it was full.
    func inbox(clear: Bool) -> (messages: [ReceivedMessage], dropped: Int) {
        state.withLock { state in
            defer {
                if clear {
                    state.inbox.removeAll()
                    state.inboxBytes = 0
                }
            }
            return (state.inbox, state.inboxDropped)
        }
    }

    var inboxStatus: (count: Int, dropped: Int) { state.withLock { ($0.inbox.count, $0.inboxDropped) } }
}

/// The recent history of a hub: a ring of at most `EventHub.recentCapacity` events holding at most
/// `EventHub.recentByteCapacity` bytes of message bodies, oldest overwritten first.
struct RecentEvents {
    private var slots: [(at: Int64, event: NodeEvent)?] = []
    private var head = 0
    private(set) var count = 0
    private(set) var bytes = 0

    mutating func append(_ event: NodeEvent, at: Int64) {
        if slots.isEmpty { slots = Array(repeating: nil, count: EventHub.recentCapacity) }
        if count == slots.count { dropOldest() }
        slots[(head + count) % slots.count] = (at, event)
        count += 1
        bytes += Self.size(of: event)
        while bytes > EventHub.recentByteCapacity, count > 1 { dropOldest() }
    }

    /// Forgets events from before `cutoff`; an empty history gives its storage back.
    mutating func trim(before cutoff: Int64) {
        while count > 0, let oldest = slots[head], oldest.at < cutoff { dropOldest() }
        if count == 0, !slots.isEmpty { slots = [] }
    }

    /// Oldest first.
    var events: [(at: Int64, event: NodeEvent)] {
        (0..<count).compactMap { slots[(head + $0) % slots.count] }
    }

    private mutating func dropOldest() {
        guard count > 0 else { return }
        if let oldest = slots[head] { bytes -= Self.size(of: oldest.event) }
        slots[head] = nil
        head = (head + 1) % slots.count
        count -= 1
        if count == 0 { head = 0 }
    }

    private static func size(of event: NodeEvent) -> Int {
        if case .message(let message) = event { return message.data.count }
        return 0
    }
}
