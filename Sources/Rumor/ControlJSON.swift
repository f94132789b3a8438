import RumorCrypto
import RumorLink
import RumorMembership
import RumorWire

/// The JSON shapes of the control protocol and of `--json` output (Docs/CLI.md lists every field).
public enum ControlJSON {
    public static func peer(_ peer: PeerInfo) -> JSON {
        .object([
            ("name", .string(peer.name)), ("id", .string(peer.id.hex)), ("address", .string(peer.address.description)),
            ("state", .string(peer.state.rawValue)), ("incarnation", .number(Double(peer.incarnation))),
            ("self", .bool(peer.isSelf)),
            ("tags", .object(peer.tags.sorted { $0.key < $1.key }.map { ($0.key, .string($0.value)) })),
            ("last_heard_ms", peer.lastHeard.map { .number((Double($0.nanoseconds) / 1e6).rounded()) } ?? .null),
        ])
    }

    public static func status(_ status: NodeStatus) -> JSON {
        let traffic = status.traffic
        return .object([
            ("name", .string(status.name)), ("id", .string(status.id.hex)), ("listen", .string(status.listen.description)),
            ("uptime_s", .number((status.uptime.seconds * 1000).rounded() / 1000)),
            ("incarnation", .number(Double(status.incarnation))), ("local_health", .number(Double(status.localHealth))),
            ("network_key_id", .string(status.networkKeyID)),
            ("members", .object(MemberState.allCases.map { ($0.rawValue, .number(Double(status.members[$0] ?? 0))) }
                + [("total", .number(Double(status.members.values.reduce(0, +))))])),
            ("peer_table", .object([
                ("limit", .number(Double(status.peerTableLimit))),
                ("refused", .number(Double(status.peerTable.membersRefused))),
                ("evicted", .number(Double(status.peerTable.membersEvicted))),
            ])),
            ("datagrams", .object([
                ("in", .number(Double(traffic.datagramsIn))), ("out", .number(Double(traffic.datagramsOut))),
                ("bytes_in", .number(Double(traffic.bytesIn))), ("bytes_out", .number(Double(traffic.bytesOut))),
                ("send_failures", .number(Double(traffic.sendFailures))),
            ])),
            ("dropped", .object(DropReason.allCases.map { ($0.rawValue, .number(Double(traffic.dropped[$0] ?? 0))) }
                + [("total", .number(Double(traffic.droppedTotal)))])),
            ("messages", .object([
                ("sent", .number(Double(status.messaging.messagesSent))),
                ("acknowledged", .number(Double(status.messaging.messagesAcknowledged))),
                ("timed_out", .number(Double(status.messaging.messagesTimedOut))),
                ("delivered", .number(Double(status.messaging.messagesDelivered))),
                ("retransmissions", .number(Double(status.messaging.retransmissions))),
                ("duplicate_fragments", .number(Double(status.messaging.duplicateFragments))),
                ("reassembly_refused", .number(Double(status.messaging.reassemblyRefused))),
                ("stale_fragments", .number(Double(status.messaging.staleFragments))),
                ("malformed_fragments", .number(Double(status.messaging.malformedFragments))),
            ])),
            ("broadcasts", .object([
                ("originated", .number(Double(status.broadcasts.originated))),
                ("delivered", .number(Double(status.broadcasts.delivered))),
                ("duplicates", .number(Double(status.broadcasts.duplicates))),
                ("expired", .number(Double(status.broadcasts.expired))),
                ("evicted", .number(Double(status.broadcasts.evicted))),
                ("pushed", .number(Double(status.broadcasts.pushed))),
                ("digests", .number(Double(status.broadcasts.digests))),
                ("before_join", .number(Double(status.broadcasts.beforeJoin))),
            ])),
            ("sessions", .object([
                ("active", .number(Double(status.sessions))),
                ("handshakes_initiated", .number(Double(status.link.handshakesInitiated))),
                ("handshakes_completed", .number(Double(status.link.handshakesCompleted))),
                ("handshakes_answered", .number(Double(status.link.handshakesAnswered))),
                ("handshakes_abandoned", .number(Double(status.link.handshakesAbandoned))),
                ("rekeys", .number(Double(status.link.rekeys))),
                ("expired", .number(Double(status.link.sessionsExpired))),
                ("queue_dropped", .number(Double(status.link.queueDropped))),
            ])),
            ("inbox", .object([("waiting", .number(Double(status.inbox))), ("dropped", .number(Double(status.inboxDropped)))])),
            ("conflicts", .array(status.conflicts.map { .string($0) })),
        ])
    }

    public static func event(_ event: NodeEvent) -> JSON {
        switch event {
        case .message(let message):
            return .object([
                ("event", .string("message")), ("from", .string(message.from)), ("from_id", .string(message.fromID.hex)),
                ("kind", .string(message.kind.rawValue)), ("text", message.text.map { .string($0) } ?? .null),
                ("data", .string(Base64.encode(message.data))), ("bytes", .number(Double(message.data.count))),
                ("time", .number(Double(message.receivedAt / 1_000_000) / 1000)),
            ])
        case .member(let member):
            return .object([
                ("event", .string("member")), ("name", .string(member.name)), ("id", .string(member.id.hex)),
                ("state", .string(member.state.rawValue)), ("previous", member.previous.map { .string($0.rawValue) } ?? .null),
                ("address", .string(member.address.description)),
            ])
        }
    }

    /// The answer to a `keys` request: `ok` is true only when every member asked applied it.
    public static func keyReport(_ report: KeyReport, action: KeyAction) -> JSON {
        var fields: [(String, JSON)] = [("ok", .bool(report.allOK)), ("action", .string(action.name))]
        switch action {
        case .install(let key): fields.append(("key_id", .string(key.idHex)))
        case .use(let id), .remove(let id): fields.append(("key_id", .string(NetworkKey.hex(id))))
        case .list: break
        }
        fields.append(("nodes", .array(report.results.map { result in
            .object([
                ("name", .string(result.name)), ("id", .string(result.id.hex)), ("ok", .bool(result.ok)),
                ("answered", .bool(result.answered)), ("error", result.error.map { .string($0) } ?? .null),
                ("keys", .array(result.keys.map { .object([("key_id", .string($0.id)), ("primary", .bool($0.primary))]) })),
            ])
        })))
        return .object(fields)
    }

    /// The stable error codes of control responses; the CLI maps each to an exit code.
    public static func errorCode(_ error: RumorError) -> String {
        switch error {
        case .unknownPeer: return "unknown_peer"
        case .ambiguousPeer: return "ambiguous_peer"
        case .emptyPeer: return "empty_peer"
        case .messageTooLarge: return "too_large"
        case .timedOut: return "timeout"
        case .stopped: return "stopped"
        case .queueFull: return "queue_full"
        case .invalidConfiguration, .invalidName: return "bad_request"
        default: return "failed"
        }
    }

    public static func failure(_ code: String, _ message: String) -> JSON {
        .object([("ok", .bool(false)), ("code", .string(code)), ("error", .string(message))])
    }
}
