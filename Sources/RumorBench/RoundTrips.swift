import Rumor

/// The round-trip samples of one placement (microseconds), and how they enter the report.
struct RoundTrips {
    var raw: [Double] = []
    var ping: [Double] = []
    var pingCaller: [Double] = []
    var pingsFailed = 0
    var acked: [Double] = []
    var receipt: [Double] = []
    var ackedFailed = 0
    /// Whether every thread was pinned as the placement says (the kernel may refuse, e.g. outside the cpuset).
    var pinned = true

    /// The primary placement (cross-core where there are two CPUs) keeps the keys scripts track (`raw.rtt_us`,
    /// `rumor.rtt_us`, `ratios.rtt_p50`, …) and is judged against the target: two hosts each have their
    /// own CPU. Another placement's keys carry its suffix (`ratios.rtt_p50_same_core`).
    func record(placement: Placement, primary: Bool, raw rawJSON: inout [(String, JSON)], rumor: inout [(String, JSON)],
                ratios: inout [(String, JSON)], report: Report) {
        let (rawRTT, pingRTT, pingCallerRTT) = (Samples(raw), Samples(ping), Samples(pingCaller))
        let (ackedRTT, receiptRTT) = (Samples(acked), Samples(receipt))
        let suffix = primary ? "" : placement.suffix
        let placed = ("placement", JSON.string(pinned ? placement.rawValue : "\(placement.rawValue) asked, not pinned: sched_setaffinity refused"))
        rawJSON.append(("rtt\(suffix)_us", .object([placed] + Self.summary(rawRTT))))
        rumor.append(("rtt\(suffix)_us", .object([
            ("what", .string("RumorNode.ping: authenticated SWIM ping and ack, timed by the node on its event loop")), placed,
        ] + Self.summary(pingRTT) + [
            ("caller_p50", number(pingCallerRTT.percentile(50), digits: 3)), ("caller_p99", number(pingCallerRTT.percentile(99), digits: 3)),
            ("failed", .number(Double(pingsFailed))),
        ])))
        rumor.append(("acked_rtt\(suffix)_us", .object([
            ("what", .string("acknowledged 1-byte send, timed by the caller from the call to its completion")), placed,
        ] + Self.summary(ackedRTT) + [
            ("receipt_p50", number(receiptRTT.percentile(50), digits: 3)), ("receipt_p99", number(receiptRTT.percentile(99), digits: 3)),
            ("failed", .number(Double(ackedFailed))),
        ])))
        let p50 = ratio(pingRTT.percentile(50), rawRTT.percentile(50))
        let p99 = ratio(pingRTT.percentile(99), rawRTT.percentile(99))
        let ackedP50 = ratio(ackedRTT.percentile(50), rawRTT.percentile(50))
        let ackedP99 = ratio(ackedRTT.percentile(99), rawRTT.percentile(99))
        ratios.append(("rtt_p50\(suffix)", number(p50, digits: 3)))
        ratios.append(("rtt_p99\(suffix)", number(p99, digits: 3)))
        ratios.append(("acked_rtt_p50\(suffix)", number(ackedP50, digits: 3)))
        ratios.append(("acked_rtt_p99\(suffix)", number(ackedP99, digits: 3)))
        report.row("ping, \(placement.rawValue)", "p50 µs", rumor: format(pingRTT.percentile(50), digits: 3),
                   baseline: "\(format(rawRTT.percentile(50), digits: 3)) raw", ratio: format(p50, digits: 3))
        report.row("", "p99 µs", rumor: format(pingRTT.percentile(99), digits: 3),
                   baseline: "\(format(rawRTT.percentile(99), digits: 3)) raw", ratio: format(p99, digits: 3))
        report.row("", "p50 µs timed by the caller", rumor: format(pingCallerRTT.percentile(50), digits: 3))
        report.row("acked 1-byte send", "round trip p50 µs", rumor: format(ackedRTT.percentile(50), digits: 3),
                   baseline: "\(format(rawRTT.percentile(50), digits: 3)) raw", ratio: format(ackedP50, digits: 3))
        report.row("", "p99 µs", rumor: format(ackedRTT.percentile(99), digits: 3),
                   baseline: "\(format(rawRTT.percentile(99), digits: 3)) raw", ratio: format(ackedP99, digits: 3))
        report.row("", "p50 µs inside the node (receipt)", rumor: format(receiptRTT.percentile(50), digits: 3))
        if suffix.isEmpty { report.target("ratios.rtt_p50", p50, 1.5, atLeast: false) }
    }

    static func summary(_ samples: Samples) -> [(String, JSON)] {
        [("p50", number(samples.percentile(50), digits: 3)), ("p99", number(samples.percentile(99), digits: 3)),
         ("mean", number(samples.mean, digits: 3)), ("samples", .number(Double(samples.values.count)))]
    }
}
