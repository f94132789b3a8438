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

    /// A broadcast's `seq` is microseconds since 1970 (about 1.8e15): a script's JSON parser must read it as an
    /// integer, so it is written without a fraction, as every integer is up to 2^53.
    @Test("integers up to 2^53 are written without a fraction; larger ones keep their exponent form",
          arguments: [(1_795_997_957_787_643.0, "1795997957787643"), (9_007_199_254_740_992.0, "9007199254740992"),
                      (-4_503_599_627_370_497.0, "-4503599627370497"), (1e300, "1e+300"), (0.5, "0.5")])
    func integersWithoutFraction(_ value: Double, _ text: String) throws {
        #expect(JSON.number(value).text == text)
        #expect(try JSON.parse(text).get() == .number(value))
    }
}
