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
    public enum Kind: String, Sendable { case direct }

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

/// Fans events out to any number of subscribers. Handlers run on the event loop thread and MUST be quick
/// (append to a queue, yield to a continuation).
final class EventHub: Sendable {
    typealias Handler = @Sendable (NodeEvent) -> Void
    private let subscribers = Mutex<(next: UInt64, handlers: [UInt64: Handler])>((0, [:]))

    func subscribe(_ handler: @escaping Handler) -> UInt64 {
        subscribers.withLock { state in
            state.next += 1
            state.handlers[state.next] = handler
            return state.next
        }
    }

    func unsubscribe(_ token: UInt64) {
        _ = subscribers.withLock { $0.handlers.removeValue(forKey: token) }
    }

    func emit(_ event: NodeEvent) {
        let handlers = subscribers.withLock { Array($0.handlers.values) }
        for handler in handlers { handler(event) }
    }
}
