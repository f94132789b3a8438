import Foundation
import Testing

/// The body may be any bytes, MESSAGE too: the shell hands the program bytes, and `CommandLine.arguments` puts
/// U+FFFD in place of those that are not UTF-8 (`\xff\xfeabc` was sent as 9 bytes, EF BF BD twice and `abc`).
@Suite("MESSAGE bytes that are not UTF-8", .timeLimit(.minutes(1)))
struct RawMessageBytesTests {
    @Test("send delivers MESSAGE byte for byte, wherever it stands on the command line; UTF-8 stays as it is")
    func messageBytesAreSentExactly() throws {
        let home = try RumorHome()
        defer { home.shutdown() }
        _ = try home.start("a")
        // printf's octal escapes: \377 is 0xFF, \055 is "-"; \314\201 is U+0301 and \303\251 is "é".
        let cases: [(script: String, bytes: [UInt8])] = [
            (#"exec "$0" send --home "$1" --node a a "$(printf '\377\376abc')""#, [0xff, 0xfe, 0x61, 0x62, 0x63]),
            (#"exec "$0" --home "$1" send --node=a a "$(printf '\055\377')" --timeout 5"#, [0x2d, 0xff]),
            (#"exec "$0" send --home "$1" --timeout 5 --node a a -- "$(printf '\376\055\055json')""#, [0xfe] + Array("--json".utf8)),
            (#"exec "$0" send --home "$1" --node a a "$(printf 'e\314\201 \303\251')""#, Array("e\u{301} é".utf8)),
        ]
        for (script, bytes) in cases {
            let sent = try home.shell(script)
            #expect(sent.exitCode == 0 && sent.stdout.hasPrefix("acknowledged peer=a bytes=\(bytes.count) "), "\(sent)")
        }
        let received = try home.inbox(of: "a").map { $0["data"] as? String }
        #expect(received == cases.map { base64($0.bytes) }, "\(received)")
    }
}
