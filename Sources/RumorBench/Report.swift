#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Rumor

/// What the bench hands back: one JSON document (stdout) and a readable table (stderr), built as the
/// sections finish, with the targets judged at the end.
final class Report {
    private(set) var document: [(String, JSON)] = []
    private var rows: [[String]] = []
    private(set) var targets: [Target] = []
    /// Sections that could not measure (the bench exits 1 when there is any; a missed target is not one).
    private(set) var failures: [String] = []

    /// A target of issue 7, as a ratio or an absolute bound judged within this run.
    struct Target {
        var key: String
        var value: Double
        var bound: Double
        /// true: the value must be at least the bound; false: at most.
        var atLeast: Bool

        var met: Bool { value.isFinite && (atLeast ? value >= bound : value <= bound) }
        /// How far the value is from its bound, as a factor: 1.25 means 25% short (or 25% over a ceiling).
        var shortfall: Double { atLeast ? ratio(bound, value) : ratio(value, bound) }
        var boundText: String { (atLeast ? ">= " : "<= ") + format(bound) }
    }

    func set(_ key: String, _ value: JSON) {
        if let index = document.firstIndex(where: { $0.0 == key }) { document[index].1 = value } else { document.append((key, value)) }
    }

    /// Adds a line to the table: section, figure, Rumor, baseline, ratio.
    func row(_ section: String, _ figure: String, rumor: String, baseline: String = "", ratio: String = "") {
        rows.append([section, figure, rumor, baseline, ratio])
    }

    /// Records that a section failed, and says so on stderr.
    func fail(_ section: String, _ error: Error) {
        failures.append("\(section): \(error)")
        progress("\(section) failed: \(error)")
    }

    func target(_ key: String, _ value: Double?, _ bound: Double, atLeast: Bool) {
        targets.append(Target(key: key, value: value ?? .nan, bound: bound, atLeast: atLeast))
    }

    var targetsJSON: JSON {
        .object(targets.map { target in
            (target.key, .object([("value", number(target.value)), ("target", .string(target.boundText)), ("met", .bool(target.met)),
                                  ("shortfall_factor", target.met ? .null : number(target.shortfall, digits: 3))]))
        })
    }

    /// The table, to stderr: columns padded to their widest cell.
    func printTable() {
        var lines = [["section", "figure", "rumor", "baseline", "ratio"]] + rows
        lines.append(["", "", "", "", ""])
        for target in targets {
            let verdict = target.met ? "met" : target.value.isFinite ? "MISSED (x\(format(target.shortfall, digits: 3)) off)" : "not measured"
            lines.append(["target", target.key, format(target.value, digits: 3), target.boundText, verdict])
        }
        var widths = [Int](repeating: 0, count: 5)
        for line in lines { for (column, cell) in line.enumerated() { widths[column] = max(widths[column], cell.count) } }
        var text = "\n"
        for line in lines {
            let cells = line.enumerated().map { column, cell in cell + String(repeating: " ", count: widths[column] - cell.count) }
            text += cells.joined(separator: "  ").trimmingTrailingSpaces() + "\n"
        }
        writeAll(text, to: 2)
    }

    /// Headline figures first, then the detail behind them.
    static let order = ["bench", "mode", "machine", "sizes", "ratios", "acked_64k_mb_s", "idle", "converge_64_s", "targets",
                        "raw", "rumor", "crypto", "processes", "simulator", "failures", "load_average_at_end", "wall_s"]

    /// The document, indented two spaces per level, one key per line.
    var prettyText: String {
        let rank = { (key: String) in Report.order.firstIndex(of: key) ?? Report.order.count }
        let ordered = document.enumerated().sorted { (rank($0.element.0), $0.offset) < (rank($1.element.0), $1.offset) }.map(\.element)
        var out = ""
        Report.write(.object(ordered), indent: 0, to: &out)
        return out + "\n"
    }

    /// Small objects of scalars (a median with its runs) stay on one line.
    private static func isFlat(_ value: JSON) -> Bool {
        guard case .object(let pairs) = value, value.text.count <= 100 else { return false }
        return pairs.allSatisfy { pair in
            switch pair.1 {
            case .object: return false
            case .array(let items): return items.allSatisfy { if case .object = $0 { return false } else if case .array = $0 { return false } else { return true } }
            default: return true
            }
        }
    }

    private static func write(_ value: JSON, indent: Int, to out: inout String) {
        let pad = String(repeating: " ", count: indent + 2)
        switch value {
        case .object(let pairs) where !pairs.isEmpty && !isFlat(value):
            out += "{\n"
            for (index, pair) in pairs.enumerated() {
                out += pad + JSON.string(pair.0).text + ": "
                write(pair.1, indent: indent + 2, to: &out)
                out += index < pairs.count - 1 ? ",\n" : "\n"
            }
            out += String(repeating: " ", count: indent) + "}"
        case .array(let items) where items.contains(where: { if case .object = $0 { return true } else { return false } }):
            out += "[\n"
            for (index, item) in items.enumerated() {
                out += pad
                write(item, indent: indent + 2, to: &out)
                out += index < items.count - 1 ? ",\n" : "\n"
            }
            out += String(repeating: " ", count: indent) + "]"
        default:
            out += value.text
        }
    }
}

/// A JSON number rounded to `digits` significant digits; NaN and infinities become null ("not measured").
func number(_ value: Double, digits: Int = 4) -> JSON {
    guard value.isFinite else { return .null }
    return .number(rounded(value, digits: digits))
}

func number(_ value: Double?, digits: Int = 4) -> JSON { value.map { number($0, digits: digits) } ?? .null }

func rounded(_ value: Double, digits: Int) -> Double {
    guard value.isFinite, value != 0 else { return value }
    let magnitude = Int(floor(log10(abs(value))))
    let places = max(0, digits - 1 - magnitude)
    if places == 0 { return (value / pow(10, Double(magnitude + 1 - digits))).rounded() * pow(10, Double(magnitude + 1 - digits)) }
    let scale = pow(10, Double(places))
    return (value * scale).rounded() / scale
}

/// A number for the table: 4 significant digits, thousands grouped.
func format(_ value: Double, digits: Int = 4) -> String {
    guard value.isFinite else { return "-" }
    let value = rounded(value, digits: digits)
    if abs(value) >= 10_000 {
        let digitsText = String(Int64(value.rounded()))
        var grouped = ""
        for (index, character) in digitsText.reversed().enumerated() {
            if index > 0, index % 3 == 0, character != "-" { grouped.append(",") }
            grouped.append(character)
        }
        return String(grouped.reversed())
    }
    if value == value.rounded() { return String(Int64(value)) }
    return "\(value)"
}

/// A summary of repeated runs: median, min, max and the runs themselves.
func summary(_ samples: Samples, digits: Int = 4) -> JSON {
    .object([("median", number(samples.median, digits: digits)), ("min", number(samples.min, digits: digits)),
             ("max", number(samples.max, digits: digits)), ("runs", .array(samples.values.map { number($0, digits: digits) }))])
}

extension String {
    func trimmingTrailingSpaces() -> String {
        var text = self
        while text.last == " " { text.removeLast() }
        return text
    }
}
