/// A point on a monotonic clock in nanoseconds. The node shell reads the real clock; the simulator makes
/// its own. Pure code never reads a clock: it is handed `now`.
public struct Instant: Comparable, Hashable, Sendable, CustomStringConvertible {
    public var nanoseconds: Int64

    public init(nanoseconds: Int64) { self.nanoseconds = nanoseconds }

    public static let zero = Instant(nanoseconds: 0)
    /// Later than any real deadline: "no wake-up needed".
    public static let distantFuture = Instant(nanoseconds: Int64.max / 2)

    public static func < (lhs: Instant, rhs: Instant) -> Bool { lhs.nanoseconds < rhs.nanoseconds }

    public static func + (lhs: Instant, rhs: Duration) -> Instant {
        Instant(nanoseconds: lhs.nanoseconds &+ rhs.nanoseconds)
    }

    public static func - (lhs: Instant, rhs: Instant) -> Duration {
        .nanoseconds(lhs.nanoseconds &- rhs.nanoseconds)
    }

    public var description: String { "\(Double(nanoseconds) / 1e9)s" }
}

extension Duration {
    /// Whole nanoseconds, saturating; the clock arithmetic in the cores works in these.
    public var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        let (scaled, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        if overflow { return seconds < 0 ? Int64.min / 2 : Int64.max / 2 }
        return scaled &+ attoseconds / 1_000_000_000
    }

    /// Seconds as a Double, for display and JSON.
    public var seconds: Double { Double(nanoseconds) / 1e9 }

    public static func * (lhs: Duration, rhs: Double) -> Duration {
        .nanoseconds(Int64(Double(lhs.nanoseconds) * rhs))
    }
}
