@testable import RumorLink

/// `ReplayWindow` against a model: a set of every counter accepted and the greatest. A counter MUST be
/// accepted exactly when it was never accepted before and is the first, or above the greatest, or less than
/// `usable` behind it; `wouldAccept` MUST agree with `accept` and change nothing.
///
/// Input: steps of one byte saying how the next counter is chosen (a jump forward, a step back, a repeat of an
/// earlier one, or eight raw bytes) and its operand.
public enum ReplayTarget: FuzzTarget {
    public static let name = "replay"

    public static func run(_ input: [UInt8]) throws(Violation) {
        var input = FuzzInput(input)
        var window = ReplayWindow()
        var accepted: Set<UInt64> = []
        var history: [UInt64] = []
        var greatest: UInt64?
        var steps = 0
        while !input.isAtEnd, steps < 4096 {
            steps += 1
            let base = greatest ?? 0
            let counter: UInt64
            switch input.below(6) {
            case 0: counter = base &+ UInt64(input.byte())
            case 1: counter = base &+ UInt64(input.uint16())
            case 2: counter = base &- UInt64(input.uint16() % 8192)
            case 3: counter = history.isEmpty ? UInt64(input.byte()) : history[history.count - 1 - input.below(256) % history.count]
            case 4: counter = base &- (ReplayWindow.usable - 2) &+ UInt64(input.byte() % 4)
            default: counter = input.uint64()
            }
            let expected = !accepted.contains(counter)
                && (greatest.map { counter > $0 || $0 - counter < ReplayWindow.usable } ?? true)
            let predicted = window.wouldAccept(counter)
            let result = window.accept(counter)
            try require(predicted == result, "wouldAccept(\(counter)) said \(predicted), accept said \(result)")
            try require(result == expected, "accept(\(counter)) = \(result), the model says \(expected) (greatest \(greatest.map(String.init) ?? "none"))")
            if result {
                accepted.insert(counter)
                greatest = max(greatest ?? counter, counter)
                try require(window.greatest == greatest, "greatest is \(window.greatest), the model says \(greatest ?? 0)")
            }
            history.append(counter)
            if history.count > 512 { history.removeFirst(256) }
        }
    }

    public static func seeds() -> [(name: String, bytes: [UInt8])] {
        var inOrder = ScriptWriter(), replays = ScriptWriter(), slide = ScriptWriter(), edge = ScriptWriter()
        for _ in 0..<40 { inOrder.byte(0); inOrder.byte(1) }
        for back in 0..<20 { replays.byte(0); replays.byte(3); replays.byte(3); replays.byte(UInt8(back)) }
        for _ in 0..<8 { slide.byte(1); slide.uint16(3000); slide.byte(2); slide.uint16(4000) }
        edge.byte(0); edge.byte(1); edge.byte(1); edge.uint16(5000); for value in 0..<4 { edge.byte(4); edge.byte(UInt8(value)) }
        var raw = ScriptWriter()
        raw.byte(5); raw.uint64(.max); raw.byte(5); raw.uint64(0); raw.byte(5); raw.uint64(.max - 4031)
        return [("in-order", inOrder.bytes), ("replays", replays.bytes), ("slide", slide.bytes), ("window-edge", edge.bytes), ("extremes", raw.bytes)]
    }
}
