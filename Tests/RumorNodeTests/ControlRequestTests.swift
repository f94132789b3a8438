@testable import Rumor
import Testing

/// The control protocol refuses an optional field of the wrong type instead of using its default: a script
/// that sends `"timeout":"5"` must hear that it is malformed, not wait 10 s.
struct ControlRequestTests {
    static func request(_ json: String) -> JSON {
        switch JSON.parse(Array(json.utf8)) {
        case .success(let value): return value
        case .failure(let error):
            Issue.record("bad test JSON \(json): \(error)")
            return .null
        }
    }

    @Test("optional fields of the wrong type are named", arguments: [
        (#"{"op":"send","peer":"b","data":"aGk=","timeout":"x"}"#, #""timeout" must be a number"#),
        (#"{"op":"send","peer":"b","data":"aGk=","unreliable":1}"#, #""unreliable" must be a bool"#),
        (#"{"op":"inbox","clear":"yes"}"#, #""clear" must be a bool"#),
        (#"{"op":"wait","alive":2,"timeout":[1]}"#, #""timeout" must be a number"#),
        (#"{"op":"keys","action":"list","local":"true"}"#, #""local" must be a bool"#),
        (#"{"op":"tags","delete":["a",1]}"#, #""delete" must be an array of strings"#),
        (#"{"op":"tags","set":["a"]}"#, #""set" must be an object"#),
        (#"{"op":"watch","since":"now"}"#, #""since" must be a number"#),
    ])
    func mistyped(json: String, message: String) {
        let request = Self.request(json)
        let problem = ControlServer.mistypedField(in: request, op: request["op"]?.stringValue ?? "")
        #expect(problem?.contains(message) == true, "\(json): \(String(describing: problem))")
    }

    @Test("absent, null and well-typed optional fields pass", arguments: [
        #"{"op":"send","peer":"b","data":"aGk="}"#,
        #"{"op":"send","peer":"b","data":"aGk=","timeout":5,"unreliable":true}"#,
        #"{"op":"inbox","clear":null}"#,
        #"{"op":"tags","set":{"k":"v"},"delete":["a"]}"#,
        #"{"op":"watch","since":1795997957.5}"#,
        #"{"op":"peers","timeout":"ignored: peers has no such field"}"#,
    ])
    func wellTyped(json: String) {
        let request = Self.request(json)
        #expect(ControlServer.mistypedField(in: request, op: request["op"]?.stringValue ?? "") == nil, "\(json)")
    }
}
