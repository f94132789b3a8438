import RumorMembership
import RumorWire
import Synchronization

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
final class EventHub: Sendable {
    typealias Handler = @Sendable (NodeEvent) -> Void

    /// Inbox limits: at most this many messages and this many bytes of message bodies.
    let inboxCapacity: Int
    let inboxByteCapacity: Int

    private struct State {
        var next: UInt64 = 0
        var handlers: [UInt64: Handler] = [:]
        /// The handlers as an array, rebuilt only when one subscribes or unsubscribes, so emitting an event
        /// hands out a shared buffer instead of building a new array.
        var snapshot: [Handler] = []
        var inbox: [ReceivedMessage] = []
        var inboxBytes = 0
        var inboxDropped = 0
    }

    private let state = Mutex(State())

    init(inboxCapacity: Int, inboxByteCapacity: Int) {
        self.inboxCapacity = inboxCapacity
        self.inboxByteCapacity = inboxByteCapacity
    }

    func subscribe(_ handler: @escaping Handler) -> UInt64 {
        state.withLock { state in
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
        let handlers = state.withLock { state -> [Handler] in
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
