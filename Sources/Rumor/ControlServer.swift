#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import CRumorSys
import RumorCrypto
import RumorMessaging
import RumorWire
import Synchronization

/// Serves a node's control socket: newline-delimited JSON requests, one JSON response each (a `watch`
/// request instead streams one event per line). Built only on `RumorNode`'s public behaviour.
///
/// One thread accepts; each client gets a thread, at most `maxClients` at once. A malformed request gets an
/// error response and the connection stays usable; a request line over `maxRequestBytes` closes it.
public final class ControlServer: Sendable {
    public static let maxClients = 64
    public static let maxRequestBytes = 256 * 1024
    /// Events a slow `watch` client may fall behind by before the oldest are dropped.
    public static let maxWatchBacklog = 10_000

    let node: RumorNode
    let path: String
    private let listener: Int32
    private let clients = Atomic<Int>(0)
    private let closed = Atomic<Bool>(false)
    private let ended = Atomic<Int>(0)

    /// Control connections that have ended since start, and how many are open now: a caller that sees both
    /// unchanged for a while knows no control work ran meanwhile (`rumor start` then gives back the pages
    /// that work mapped in; Docs/PERFORMANCE.md, "RSS").
    public var connections: (ended: Int, open: Int) {
        (ended.load(ordering: .acquiring), clients.load(ordering: .acquiring))
    }

    public init(node: RumorNode) throws {
        self.node = node
        path = node.files.controlSocketPath
        do {
            listener = try UnixSocket.listen(path: path)
        } catch {
            throw RumorError.io("cannot open the control socket: \(error)")
        }
        do {
            try spawnThread { [self] in acceptLoop() }
        } catch {
            Glibc.close(listener)
            throw RumorError.io("cannot start the control server: \(error)")
        }
    }

    /// Stops accepting and removes the socket file.
    public func close() {
        guard !closed.exchange(true, ordering: .acquiringAndReleasing) else { return }
        shutdown(listener, Int32(SHUT_RDWR))
        Glibc.close(listener)
        unlink(path)
    }

    private func acceptLoop() {
        while !closed.load(ordering: .acquiring) {
            let fd = accept(listener, nil, nil)
            if fd < 0 {
                if errno == EINTR || errno == ECONNABORTED { continue }
                if closed.load(ordering: .acquiring) { return }
                if errno == EMFILE || errno == ENFILE { usleep(10_000); continue }
                return
            }
            if clients.wrappingAdd(1, ordering: .acquiringAndReleasing).newValue > ControlServer.maxClients {
                _ = UnixSocket.writeAll(fd, Array((ControlJSON.failure("busy", "too many control clients").text + "\n").utf8))
                Glibc.close(fd)
                clients.wrappingSubtract(1, ordering: .acquiringAndReleasing)
                continue
            }
            do {
                try spawnThread { [self] in
                    serve(fd)
                    Glibc.close(fd)
                    ended.wrappingAdd(1, ordering: .acquiringAndReleasing)
                    clients.wrappingSubtract(1, ordering: .acquiringAndReleasing)
                }
            } catch {
                _ = UnixSocket.writeAll(fd, Array((ControlJSON.failure("busy", "cannot start a thread for this client").text + "\n").utf8))
                Glibc.close(fd)
                clients.wrappingSubtract(1, ordering: .acquiringAndReleasing)
            }
        }
    }

    private func serve(_ fd: Int32) {
        var reader = LineReader(fd: fd, limit: ControlServer.maxRequestBytes)
        while true {
            switch reader.next() {
            case .end, .failed: return
            case .tooLong:
                _ = reply(fd, ControlJSON.failure("bad_request", "request longer than \(ControlServer.maxRequestBytes) bytes"))
                return
            case .line(let bytes):
                if bytes.allSatisfy({ $0 == 0x20 || $0 == 0x0d || $0 == 0x09 }) { continue }
                switch JSON.parse(bytes) {
                case .failure(let error):
                    guard reply(fd, ControlJSON.failure("bad_request", error.description)) else { return }
                case .success(let request):
                    guard handle(request, fd: fd, reader: &reader) else { return }
                }
            }
        }
    }

    private func reply(_ fd: Int32, _ json: JSON) -> Bool {
        UnixSocket.writeAll(fd, Array((json.text + "\n").utf8))
    }

    /// Runs `start` with a completion and blocks this client thread until it is called.
    private func blocking<T: Sendable>(_ start: (@escaping @Sendable (T) -> Void) -> Void) -> T {
        let box = Locked<T?>(nil)
        let wake = WakeSignal()
        start { value in
            box.withLock { $0 = value }
            wake.signal()
        }
        while true {
            if let value = box.withLock({ $0 }) { return value }
            wake.wait(milliseconds: 1000)
        }
    }

    /// Handles one request; false when the connection should close.
    private func handle(_ request: JSON, fd: Int32, reader: inout LineReader) -> Bool {
        guard case .object = request, let op = request["op"]?.stringValue else {
            return reply(fd, ControlJSON.failure("bad_request", "a request is a JSON object with a string field \"op\""))
        }
        if let problem = Self.mistypedField(in: request, op: op) { return reply(fd, ControlJSON.failure("bad_request", problem)) }
        switch op {
        case "ping":
            return reply(fd, .object([("ok", .bool(true)), ("name", .string(node.name)), ("id", .string(node.id.hex))]))
        case "peers":
            let peers = blocking { self.node.peers($0) }
            return reply(fd, .object([("ok", .bool(true)), ("peers", .array(peers.map(ControlJSON.peer)))]))
        case "status":
            guard let status = blocking({ self.node.status($0) }) else { return reply(fd, ControlJSON.failure("stopped", "the node is stopping")) }
            return reply(fd, .object([("ok", .bool(true)), ("status", ControlJSON.status(status))]))
        case "send":
            guard let peer = request["peer"]?.stringValue else {
                return reply(fd, ControlJSON.failure("bad_request", "send needs a string field \"peer\""))
            }
            guard let encoded = request["data"]?.stringValue, let data = Base64.decode(encoded) else {
                return reply(fd, ControlJSON.failure("bad_request", "send needs \"data\": the message in base64"))
            }
            let timeout = request["timeout"]?.doubleValue ?? 10
            guard timeout > 0, timeout <= 86_400 else { return reply(fd, ControlJSON.failure("bad_request", "timeout must be in (0, 86400] seconds")) }
            let unreliable = request["unreliable"]?.boolValue ?? false
            let result = blocking { done in
                unreliable ? self.node.sendUnreliable(data, to: peer, completion: done)
                    : self.node.send(data, to: peer, timeout: .milliseconds(Int64(timeout * 1000)), completion: done)
            }
            switch result {
            case .success(let receipt):
                return reply(fd, .object([
                    ("ok", .bool(true)), ("peer", .string(receipt.peer)), ("id", .string(receipt.peerID.hex)),
                    ("bytes", .number(Double(receipt.bytes))),
                    ("rtt_ms", unreliable ? .null : .number((receipt.roundTrip.seconds * 1e6).rounded() / 1000)),
                    ("acknowledged", .bool(!unreliable)),
                ]))
            case .failure(let error):
                return reply(fd, ControlJSON.failure(ControlJSON.errorCode(error), error.description))
            }
        case "broadcast":
            guard let encoded = request["data"]?.stringValue, let data = Base64.decode(encoded) else {
                return reply(fd, ControlJSON.failure("bad_request", "broadcast needs \"data\": the message in base64"))
            }
            switch blocking({ self.node.broadcast(data, completion: $0) }) {
            case .success(let key):
                return reply(fd, .object([("ok", .bool(true)), ("seq", .number(Double(key.sequence))), ("bytes", .number(Double(data.count)))]))
            case .failure(let error):
                return reply(fd, ControlJSON.failure(ControlJSON.errorCode(error), error.description))
            }
        case "keys":
            let action: KeyAction
            switch request["action"]?.stringValue {
            case "list": action = .list
            case "install":
                guard let text = request["key"]?.stringValue, let bytes = Base64.decode(text), let key = NetworkKey(bytes: bytes) else {
                    return reply(fd, ControlJSON.failure("bad_request", "install needs \"key\": a 32-byte network key in base64"))
                }
                action = .install(key)
            case "use", "remove":
                guard let text = request["key_id"]?.stringValue, text.count == 8, let id = UInt32(text, radix: 16) else {
                    return reply(fd, ControlJSON.failure("bad_request", "\(request["action"]?.stringValue ?? "") needs \"key_id\": 8 hex characters"))
                }
                action = request["action"]?.stringValue == "use" ? .use(keyID: id) : .remove(keyID: id)
            default:
                return reply(fd, ControlJSON.failure("bad_request", "keys needs \"action\": list, install, use or remove"))
            }
            let timeout = request["timeout"]?.doubleValue ?? 10
            guard timeout > 0, timeout <= 86_400 else { return reply(fd, ControlJSON.failure("bad_request", "timeout must be in (0, 86400] seconds")) }
            let local = request["local"]?.boolValue ?? false
            let report = blocking { self.node.keys(action, local: local, timeout: .milliseconds(Int64(timeout * 1000)), completion: $0) }
            return reply(fd, ControlJSON.keyReport(report, action: action))
        case "wait":
            guard let count = request["alive"]?.intValue, count >= 1 else {
                return reply(fd, ControlJSON.failure("bad_request", "wait needs \"alive\": a whole number ≥ 1"))
            }
            let timeout = request["timeout"]?.doubleValue ?? 30
            guard timeout >= 0, timeout <= 86_400 else { return reply(fd, ControlJSON.failure("bad_request", "timeout must be in [0, 86400] seconds")) }
            let result = blocking { self.node.waitForAlive(count, timeout: .milliseconds(Int64(timeout * 1000)), completion: $0) }
            switch result {
            case .success(let alive): return reply(fd, .object([("ok", .bool(true)), ("alive", .number(Double(alive)))]))
            case .failure(let error): return reply(fd, ControlJSON.failure(ControlJSON.errorCode(error), error.description))
            }
        case "watch":
            var since: Int64?
            if let seconds = request["since"]?.doubleValue {
                guard seconds.isFinite, seconds >= 0, seconds < 1e10 else {
                    return reply(fd, ControlJSON.failure("bad_request", "since must be seconds since 1970 (a number ≥ 0)"))
                }
                since = Int64(seconds * 1e9)
            }
            return watch(fd, since: since)
        case "inbox":
            let (messages, dropped) = node.inbox(clear: request["clear"]?.boolValue ?? false)
            return reply(fd, .object([
                ("ok", .bool(true)), ("messages", .array(messages.map { ControlJSON.event(.message($0)) })),
                ("dropped", .number(Double(dropped))),
            ]))
        case "tags":
            var set: [String: String] = [:]
            if case .object(let pairs)? = request["set"] {
                for (key, value) in pairs {
                    guard let text = value.stringValue else { return reply(fd, ControlJSON.failure("bad_request", "tag values must be strings")) }
                    set[key] = text
                }
            }
            let delete = (request["delete"]?.arrayValue ?? []).compactMap(\.stringValue)
            guard let tags = blocking({ self.node.updateTags(set: set, delete: delete, completion: $0) }) else {
                return reply(fd, ControlJSON.failure("invalid_tags", "tags must have non-empty keys, keys and values of at most 255 bytes, at most 32 tags and 512 bytes in all"))
            }
            return reply(fd, .object([("ok", .bool(true)), ("tags", .object(tags.sorted { $0.key < $1.key }.map { ($0.key, .string($0.value)) }))]))
        case "leave":
            // Answer first: the process exits once the node has stopped, and would take an unsent reply with it.
            // The connection then stays open until that exit, so the client can wait for its end.
            guard reply(fd, .object([("ok", .bool(true)), ("leaving", .string(node.name))])) else { return false }
            let _: Bool = blocking { done in self.node.leave { done(true) } }
            return false
        default:
            return reply(fd, ControlJSON.failure("bad_request", "unknown op '\(op)'"))
        }
    }

    /// The JSON type each optional field of an op must have when it is present (absent or null: its default).
    static let optionalFields: [String: [(name: String, type: String)]] = [
        "send": [("timeout", "number"), ("unreliable", "bool")],
        "keys": [("timeout", "number"), ("local", "bool")],
        "wait": [("timeout", "number")],
        "watch": [("since", "number")],
        "inbox": [("clear", "bool")],
        "tags": [("set", "object"), ("delete", "array")],
    ]

    /// Why an optional field of `request` is malformed, or nil. A wrong type is refused, not taken as the default:
    /// `"timeout":"5"` silently meaning 10 s would be a lie to the client.
    static func mistypedField(in request: JSON, op: String) -> String? {
        for field in optionalFields[op] ?? [] {
            guard let value = request[field.name] else { continue }
            let matches: Bool
            switch (value, field.type) {
            case (.null, _), (.number, "number"), (.bool, "bool"), (.object, "object"): matches = true
            case (.array(let items), "array"): matches = items.allSatisfy { $0.stringValue != nil }
            default: matches = false
            }
            if !matches {
                return "\(op): \"\(field.name)\" must be \(field.type == "array" ? "an array of strings" : field.type == "object" ? "an object" : "a \(field.type)")"
            }
        }
        return nil
    }

    /// Streams events to the client until it disconnects or the node stops; first, those of the last few seconds
    /// from `since` on (wall-clock nanoseconds), if given.
    private func watch(_ fd: Int32, since: Int64?) -> Bool {
        let wake = WakeSignal()
        let backlog = Locked<(lines: [String], dropped: Int, stopped: Bool)>(([], 0, false))
        let token = node.subscribe(replayingSince: since) { event in
            backlog.withLock { state in
                if state.lines.count >= ControlServer.maxWatchBacklog {
                    state.lines.removeFirst()
                    state.dropped += 1
                }
                state.lines.append(ControlJSON.event(event).text)
            }
            wake.signal()
        }
        let stopToken = node.loop.whenStopped {
            backlog.withLock { $0.stopped = true }
            wake.signal()
        }
        defer {
            node.unsubscribe(token)
            node.loop.cancelWhenStopped(stopToken)
        }
        guard reply(fd, .object([("ok", .bool(true)), ("watching", .string(node.name))])) else { return false }
        var scratch = [UInt8](repeating: 0, count: 4096)
        while true {
            switch wake.wait(alongside: fd) {
            case .failed: return false
            case .descriptorReady:
                // Anything the client sends while watching is ignored; end of stream or an error ends the watch.
                let count = scratch.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
                if count == 0 || (count < 0 && errno != EAGAIN && errno != EINTR) { return false }
            case .signalled:
                let (lines, stopped) = backlog.withLock { state -> ([String], Bool) in
                    defer { state.lines.removeAll(keepingCapacity: true) }
                    return (state.lines, state.stopped)
                }
                if !lines.isEmpty, !UnixSocket.writeAll(fd, Array((lines.joined(separator: "\n") + "\n").utf8)) { return false }
                if stopped { return false }
            }
        }
    }
}

/// A wake-up another thread can trigger: an eventfd while it exists, a short poll otherwise. The descriptor is
/// closed only when the last reference goes, so a late `signal` never writes into a reused descriptor number.
final class WakeSignal: Sendable {
    private let fd: Int32

    init() { fd = rumor_eventfd() }

    deinit { if fd >= 0 { Glibc.close(fd) } }

    func signal() {
        if fd >= 0 { _ = rumor_eventfd_signal(fd) }
    }

    /// Waits up to `milliseconds` for a signal.
    func wait(milliseconds: Int32) {
        guard fd >= 0 else {
            usleep(1000)
            return
        }
        var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        if poll(&pfd, 1, milliseconds) > 0 { _ = rumor_eventfd_drain(fd) }
    }

    enum Outcome { case signalled, descriptorReady, failed }

    /// Waits for a signal or for `other` to become readable.
    func wait(alongside other: Int32) -> Outcome {
        guard fd >= 0 else {
            usleep(10_000)
            return .signalled
        }
        var fds = [pollfd(fd: other, events: Int16(POLLIN), revents: 0), pollfd(fd: fd, events: Int16(POLLIN), revents: 0)]
        while true {
            let ready = poll(&fds, 2, -1)
            if ready < 0 {
                if errno == EINTR { continue }
                return .failed
            }
            if fds[1].revents != 0 {
                _ = rumor_eventfd_drain(fd)
                return .signalled
            }
            return .descriptorReady
        }
    }
}
