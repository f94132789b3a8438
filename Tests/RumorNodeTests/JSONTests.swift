import Rumor
import Testing

@Suite("Control-socket JSON")
struct JSONTests {
    @Test("a number a Double cannot hold is refused, pointing at the number", arguments: ["1e999", "-1e999", "[0, 1E400]"])
    func nonFiniteNumbers(_ text: String) throws {
        guard case .failure(let error) = JSON.parse(text) else {
            Issue.record("\(text) parsed")
            return
        }
        #expect(error.reason == "number out of range")
        #expect(text.utf8.dropFirst(error.offset).first.map { $0 == UInt8(ascii: "1") || $0 == UInt8(ascii: "-") } == true)
    }

    @Test("the largest finite numbers still parse and round-trip")
    func largestFinite() throws {
        let value = try JSON.parse("[1.7976931348623157e308, -1e-400]").get()
        #expect(try JSON.parse(value.text).get() == value)
    }
}
