import Foundation

/// One element of `rumor peers --json`, read strictly: a missing or mistyped field is an error naming it.
struct PeerRow: CustomStringConvertible {
    let name: String
    let id: String
    let address: String
    let state: String
    let incarnation: Int
    let isSelf: Bool
    let tags: [String: String]

    init(_ json: Any) throws {
        guard let object = json as? [String: Any] else { throw HarnessError("a peer is not a JSON object: \(json)") }
        func field<T>(_ key: String, as type: T.Type) throws -> T {
            guard let value = object[key] as? T else {
                throw HarnessError("peer field \"\(key)\" is missing or not a \(T.self): \(object)")
            }
            return value
        }
        name = try field("name", as: String.self)
        id = try field("id", as: String.self)
        address = try field("address", as: String.self)
        state = try field("state", as: String.self)
        incarnation = try field("incarnation", as: Int.self)
        isSelf = try field("self", as: Bool.self)
        let rawTags = try field("tags", as: [String: Any].self)
        tags = try rawTags.mapValues { value in
            guard let text = value as? String else { throw HarnessError("tag value is not a string: \(rawTags)") }
            return text
        }
    }

    var description: String { "\(name)=\(state)" }
}

extension Array where Element == PeerRow {
    func named(_ name: String) -> PeerRow? { first { $0.name == name } }

    /// `a=alive b=suspect …`, for failure messages.
    var summary: String { map(\.description).sorted().joined(separator: " ") }
}

/// Reads a counter such as `dropped.unknown_key` from `rumor status --json`; nil when it is missing.
func counter(_ status: [String: Any], _ path: String) -> Int? {
    var value: Any? = status
    for key in path.split(separator: ".") { value = (value as? [String: Any])?[String(key)] }
    return value as? Int
}

/// Standard base64 of `bytes`, as the watch stream's `data` field carries it.
func base64(_ bytes: [UInt8]) -> String { Data(bytes).base64EncodedString() }

/// `count` random bytes, the first one never valid UTF-8 when `binary` so the body cannot pass for text.
func randomBytes(_ count: Int, binary: Bool = false) -> [UInt8] {
    var bytes = (0..<count).map { _ in UInt8.random(in: .min ... .max) }
    if binary, !bytes.isEmpty { bytes[0] = 0xFF }
    return bytes
}
