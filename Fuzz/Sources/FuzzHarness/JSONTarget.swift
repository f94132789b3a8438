import Rumor

/// The control socket's JSON parser (`JSON.parse`) and serializer (`JSON.text`). Every request line a client
/// sends reaches the parser first; `ControlServer.handle` is private and needs a live node and socket, so the
/// request handling itself is not reached here.
///
/// Invariants: a parse error points inside the input; a value nests no deeper than `JSON.maxDepth` allows; its
/// text parses back to the same value (numbers too large for a Double are refused, not read as infinity); and
/// serializing is idempotent.
public enum JSONTarget: FuzzTarget {
    public static let name = "json"

    public static func run(_ input: [UInt8]) throws(Violation) {
        switch JSON.parse(input) {
        case .failure(let error):
            try require(error.offset >= 0 && error.offset <= input.count, "error offset \(error.offset) outside \(input.count) bytes")
        case .success(let value):
            try require(nesting(value) <= JSON.maxDepth + 1, "parsed a value nested \(nesting(value)) deep")
            let text = value.text
            switch JSON.parse(text) {
            case .success(let again):
                try require(again == value, "text → parse changed the value: \(text.prefix(200))")
                try require(again.text == text, "serializing is not idempotent: \(text.prefix(200))")
            case .failure(let error):
                throw Violation(message: "its own text does not parse: \(error) in \(text.prefix(200))", location: "\(#fileID):\(#line)")
            }
        }
    }

    static func nesting(_ value: JSON) -> Int {
        switch value {
        case .array(let items): return 1 + (items.map(nesting).max() ?? 0)
        case .object(let pairs): return 1 + (pairs.map { nesting($0.1) }.max() ?? 0)
        default: return 0
        }
    }

    public static func seeds() -> [(name: String, bytes: [UInt8])] {
        let requests: [(String, String)] = [
            ("ping", #"{"op":"ping"}"#),
            ("peers", #"{"op":"peers"}"#),
            ("status", #"{"op":"status"}"#),
            ("send", #"{"op":"send","peer":"node-2","data":"aGVsbG8=","timeout":2.5}"#),
            ("send-unreliable", #"{"op":"send","peer":"3f2a","data":"","unreliable":true}"#),
            ("broadcast", #"{"op":"broadcast","data":"dG8gYWxs"}"#),
            ("keys-install", #"{"op":"keys","action":"install","key":"BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=","local":false}"#),
            ("keys-use", #"{"op":"keys","action":"use","key_id":"deadbeef","timeout":10}"#),
            ("wait", #"{"op":"wait","alive":3,"timeout":30}"#),
            ("tags", #"{"op":"tags","set":{"role":"db","zone":"eu-1"},"delete":["old"]}"#),
            ("inbox", #"{"op":"inbox","clear":true}"#),
            ("escapes", #"{"text":"caf\u00e9 \ud83d\ude00 \"quoted\" \\ \/ \b\f\n\r\t","n":[-0,1e-7,-12.5E+3,1.7976931348623157e308]}"#),
            ("failure", #"{"ok":false,"code":"unknown_peer","error":"no member named 'x'"}"#),
            ("nested", String(repeating: "[", count: 33) + String(repeating: "]", count: 33)),
            ("literals", " [true, false, null, \"\", {}, []] \n"),
        ]
        return requests.map { (name: $0.0, bytes: Array($0.1.utf8)) }
    }
}
