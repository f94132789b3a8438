#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Rumor
import RumorWire

// Each section runs its measurements, puts its part of the JSON document and its table rows in the report,
// and records the issue's targets it can judge. A section that fails reports why instead of its figures.

enum CryptoSection {
    static func run(plan: BenchPlan, report: Report) {
        progress("crypto: seal+open per datagram, handshakes per second (one thread)")
        let seconds = plan.cryptoSeconds / 2
        var crypto: [(String, JSON)] = []
        do {
            for size in [64, Frame.maxDatagramPayload] {
                var bare: [Double] = []
                var wrapper: [Double] = []
                var link: [Double] = []
                for _ in 0..<plan.reps {
                    bare.append(CryptoCost.bareSealOpen(size: size, seconds: seconds))
                    wrapper.append(CryptoCost.wrapperSealOpen(size: size, seconds: seconds))
                    link.append(try CryptoCost.linkSealOpen(size: size, seconds: seconds))
                }
                let (bareNs, wrapperNs, linkNs) = (Samples(bare), Samples(wrapper), Samples(link))
                crypto.append(("seal_open_ns_\(size)", .object([
                    ("libsodium", summary(bareNs, digits: 3)), ("rumorcrypto_wrappers", summary(wrapperNs, digits: 3)),
                    ("link", summary(linkNs, digits: 3)), ("cost_ratio_link_to_libsodium", number(ratio(linkNs.median, bareNs.median), digits: 3)),
                ])))
                report.row("seal+open \(size) B", "ns per datagram (Link)", rumor: format(linkNs.median, digits: 3),
                           baseline: "\(format(bareNs.median, digits: 3)) libsodium", ratio: format(ratio(linkNs.median, bareNs.median), digits: 3))
                report.row("", "ns per datagram (wrappers)", rumor: format(wrapperNs.median, digits: 3))
            }
            var link: [Double] = []
            var bare: [Double] = []
            for _ in 0..<plan.reps {
                link.append(try CryptoCost.handshakesPerSecond(seconds: seconds))
                bare.append(CryptoCost.bareHandshakesPerSecond(seconds: seconds))
            }
            let (linkRate, bareRate) = (Samples(link), Samples(bare))
            crypto.append(("handshakes_per_s", .object([
                ("link", summary(linkRate, digits: 3)), ("libsodium_calls_only", summary(bareRate, digits: 3)),
                ("cost_ratio_link_to_libsodium", number(ratio(bareRate.median, linkRate.median), digits: 3)),
                ("note", .string("both sides of each handshake on one thread: fresh Link pairs, initiation, response, first transport datagram")),
            ])))
            report.row("handshakes", "per second, both sides", rumor: format(linkRate.median, digits: 3),
                       baseline: "\(format(bareRate.median, digits: 3)) libsodium", ratio: format(ratio(bareRate.median, linkRate.median), digits: 3))
            report.set("crypto", .object(crypto))
        } catch {
            report.set("crypto", .object(crypto + [("error", .string("\(error)"))]))
            report.fail("crypto", error)
        }
    }
}

enum ThroughputSection {
    static func run(plan: BenchPlan, report: Report, home: String) {
        progress("two in-process nodes: starting")
        let pair: NodePair
        do {
            pair = try NodePair(home: home)
        } catch {
            report.fail("node pair", error)
            report.set("rumor", .object([("error", .string("\(error)"))]))
            return
        }
        defer { pair.stop() }
        var raw: [(String, JSON)] = []
        var rumor: [(String, JSON)] = []
        var ratios: [(String, JSON)] = []
        var rawFloods: [Int: [RawUDP.Flood]] = [:]

        if plan.wants("profile") {
            progress("profile: Rumor fire-and-forget, 64 B, one \(plan.window) s window, no baseline")
            let deliveredBefore = pair.datagramsReceived.current
            let flood = pair.fireAndForget(size: 64, window: plan.window)
            let delivered = pair.datagramsReceived.current - deliveredBefore
            rumor.append(("profile_64", .object([("received_per_s", number(flood.receivedPerSecond)), ("delivered", .number(Double(delivered))),
                                                 ("cores", coresJSON([flood.cores]))])))
            report.row("profile 64 B", "delivered (whole run), per s", rumor: "\(delivered), \(format(flood.receivedPerSecond))")
        }

        if plan.wants("profile-acked") {
            progress("profile-acked: Rumor acknowledged sends, 64 B, 32 in flight, one \(plan.window) s window, no baseline")
            let deliveredBefore = pair.directReceived.current
            let acked = pair.acknowledged(size: 64, window: plan.window, inFlight: 32)
            let delivered = pair.directReceived.current - deliveredBefore
            rumor.append(("profile_acked_64", .object([("messages_per_s", number(acked.messagesPerSecond)), ("delivered", .number(Double(delivered))),
                                                       ("cores", coresJSON([acked.cores]))])))
            report.row("profile acked 64 B", "delivered (whole run), per s", rumor: "\(delivered), \(format(acked.messagesPerSecond))")
        }

        if plan.wants("profile-ping") {
            let count = Int(plan.window * 1000)
            progress("profile-ping: \(count) sequential authenticated pings, no baseline")
            let pings = pair.pings(count: count, warmUp: 0)
            rumor.append(("profile_ping", .object([("pings", .number(Double(pings.node.count))), ("failed", .number(Double(pings.failed))),
                                                   ("p50_us", number(Samples(pings.node).median))])))
            report.row("profile ping", "pings, p50 µs", rumor: "\(pings.node.count), \(format(Samples(pings.node).median))")
        }

        if plan.wants("datagram") {
            for (rawSize, rumorSize, key) in [(64, 64, "datagram_64"), (1200, Frame.maxDatagramPayload, "datagram_1200")] {
                progress("fire-and-forget: raw \(rawSize) B vs Rumor \(rumorSize) B payload, \(plan.reps) × \(plan.window) s each")
                var rawRuns: [RawUDP.Flood] = []
                var rumorRuns: [NodePair.Flood] = []
                for _ in 0..<plan.reps {
                    rawRuns.append(RawUDP.flood(size: rawSize, window: plan.window))
                    rumorRuns.append(pair.fireAndForget(size: rumorSize, window: plan.window))
                }
                rawFloods[rawSize] = rawRuns
                let rawReceived = Samples(rawRuns.map(\.receivedPerSecond))
                let rumorReceived = Samples(rumorRuns.map(\.receivedPerSecond))
                let value = ratio(rumorReceived.median, rawReceived.median)
                raw.append((key, floodJSON(rawRuns)))
                rumor.append((key, .object([
                    ("payload_bytes", .number(Double(rumorSize))),
                    ("received_per_s", summary(rumorReceived)), ("sent_per_s", summary(Samples(rumorRuns.map(\.sentPerSecond)))),
                    ("loss", summary(Samples(rumorRuns.map(\.loss)), digits: 3)),
                    ("refused", .number(Double(rumorRuns.reduce(0) { $0 + $1.refused }))),
                    ("cores", coresJSON(rumorRuns.map(\.cores))),
                    ("ratio_runs", .array(zip(rumorRuns, rawRuns).map { number(ratio($0.receivedPerSecond, $1.receivedPerSecond), digits: 3) })),
                ])))
                ratios.append((key, number(value, digits: 3)))
                report.row("datagram \(rawSize == 64 ? "64" : "1,200") B", "delivered/s", rumor: format(rumorReceived.median),
                           baseline: "\(format(rawReceived.median)) raw", ratio: format(value, digits: 3))
                report.row("", "sent/s, loss", rumor: "\(format(Samples(rumorRuns.map(\.sentPerSecond)).median)) \(percent(Samples(rumorRuns.map(\.loss)).median))",
                           baseline: "\(format(Samples(rawRuns.map(\.sentPerSecond)).median)) \(percent(Samples(rawRuns.map(\.loss)).median))")
                report.row("", "cores used (of 2)", rumor: coresText(rumorRuns.map(\.cores)),
                           baseline: "send \(format(Samples(rawRuns.map(\.senderCPU)).median, digits: 2)), recv \(format(Samples(rawRuns.map(\.receiverCPU)).median, digits: 2))")
                report.target("ratios.\(key)", value, 0.70, atLeast: true)
            }
        }

        if plan.wants("acked") {
            var megabytes64k: Double?
            for (size, inFlight, key) in [(64, 32, "acked_64"), (1200, 32, "acked_1200"), (65_536, 8, "acked_65536")] {
                let rawSize = size <= 1200 ? size : nil
                progress("acknowledged: \(size) B, \(inFlight) in flight, \(plan.reps) × \(plan.window) s")
                var rawRuns = rawSize.flatMap { rawFloods[$0] } ?? []
                var runs: [NodePair.Acked] = []
                for _ in 0..<plan.reps {
                    if let rawSize, rawFloods[rawSize] == nil { rawRuns.append(RawUDP.flood(size: rawSize, window: plan.window)) }
                    runs.append(pair.acknowledged(size: size, window: plan.window, inFlight: inFlight))
                }
                if let rawSize, rawFloods[rawSize] == nil {
                    rawFloods[rawSize] = rawRuns
                    raw.append(("datagram_\(rawSize)", floodJSON(rawRuns)))
                }
                let rate = Samples(runs.map(\.messagesPerSecond))
                let megabytes = Samples(runs.map(\.megabytesPerSecond))
                rumor.append((key, .object([
                    ("payload_bytes", .number(Double(size))), ("in_flight", .number(Double(inFlight))),
                    ("messages_per_s", summary(rate)), ("mb_s", summary(megabytes, digits: 3)),
                    ("failed", .number(Double(runs.reduce(0) { $0 + $1.failed }))),
                    ("cores", coresJSON(runs.map(\.cores))),
                ])))
                if rawSize != nil {
                    let rawReceived = Samples(rawRuns.map(\.receivedPerSecond))
                    let value = ratio(rate.median, rawReceived.median)
                    ratios.append((key, number(value, digits: 3)))
                    report.row("acked \(size == 64 ? "64" : "1,200") B", "messages/s (\(inFlight) in flight)", rumor: format(rate.median),
                               baseline: "\(format(rawReceived.median)) raw", ratio: format(value, digits: 3))
                    if size == 64 { report.target("ratios.acked_64", value, 0.40, atLeast: true) }
                    report.row("", "cores used (of 2)", rumor: coresText(runs.map(\.cores)))
                } else {
                    megabytes64k = megabytes.median
                    report.row("acked 64 KiB", "MB/s (\(inFlight) in flight)", rumor: format(megabytes.median, digits: 3))
                    report.row("", "cores used (of 2)", rumor: coresText(runs.map(\.cores)))
                }
            }
            report.set("acked_64k_mb_s", number(megabytes64k, digits: 3))
            report.target("acked_64k_mb_s", megabytes64k, 100, atLeast: true)
        }

        if plan.wants("rtt") {
            let placements = Placement.measurable
            progress("round trips: \(plan.roundTrips) raw 1-byte ping-pongs vs \(plan.roundTrips) authenticated pings vs \(plan.roundTrips) acknowledged 1-byte sends, interleaved, pinned \(placements.map(\.rawValue).joined(separator: " and "))")
            for placement in placements {
                let trips = roundTrips(pair: pair, plan: plan, placement: placement)
                trips.record(placement: placement, primary: placement == placements.first, raw: &raw, rumor: &rumor, ratios: &ratios, report: report)
            }
            pair.place(.any)
        }
        report.set("raw", .object(raw))
        report.set("rumor", .object(rumor))
        report.set("ratios", .object(ratios))
    }

    static func floodJSON(_ runs: [RawUDP.Flood]) -> JSON {
        .object([("received_per_s", summary(Samples(runs.map(\.receivedPerSecond)))), ("sent_per_s", summary(Samples(runs.map(\.sentPerSecond)))),
                 ("loss", summary(Samples(runs.map(\.loss)), digits: 3)),
                 ("cores", .object([("sender_thread", number(Samples(runs.map(\.senderCPU)).median, digits: 2)),
                                    ("receiver_thread", number(Samples(runs.map(\.receiverCPU)).median, digits: 2))]))])
    }

    /// Median cores used by each thread over the runs.
    static func coresJSON(_ runs: [NodePair.Cores]) -> JSON {
        .object([("caller_thread", number(Samples(runs.map(\.caller)).median, digits: 2)),
                 ("sender_loop", number(Samples(runs.map(\.senderLoop)).median, digits: 2)),
                 ("receiver_loop", number(Samples(runs.map(\.receiverLoop)).median, digits: 2))])
    }

    static func coresText(_ runs: [NodePair.Cores]) -> String {
        "caller \(format(Samples(runs.map(\.caller)).median, digits: 2)), loops \(format(Samples(runs.map(\.senderLoop)).median, digits: 2)) / \(format(Samples(runs.map(\.receiverLoop)).median, digits: 2))"
    }

    /// Raw ping-pongs, authenticated pings and acknowledged 1-byte sends, interleaved in `plan.reps` chunks, all
    /// pinned to `placement`.
    static func roundTrips(pair: NodePair, plan: BenchPlan, placement: Placement) -> RoundTrips {
        var trips = RoundTrips()
        let chunk = max(1, plan.roundTrips / plan.reps)
        for _ in 0..<plan.reps {
            trips.raw += RawUDP.pingPong(count: chunk, warmUp: 50, size: 1, placement: placement)
            if !pair.place(placement) { trips.pinned = false }
            let pings = pair.pings(count: chunk, warmUp: 50)
            trips.ping += pings.node
            trips.pingCaller += pings.caller
            trips.pingsFailed += pings.failed
            let acked = pair.roundTrips(count: chunk, warmUp: 50, size: 1)
            trips.acked += acked.caller
            trips.receipt += acked.receipt
            trips.ackedFailed += acked.failed
        }
        return trips
    }

    static func percent(_ fraction: Double) -> String { fraction.isFinite ? "(\(format(fraction * 100, digits: 2))% lost)" : "" }
}

enum ProcessSection {
    static func run(plan: BenchPlan, report: Report, binary: String?, work: String) {
        guard let binary, access(binary, X_OK) == 0 else {
            let reason = binary.map { "\($0) is not an executable" } ?? "no --rumor binary given"
            progress("processes skipped: \(reason)")
            report.set("processes", .object([("reason", .string(reason))]))
            report.set("idle", .null)
            report.set("converge_64_s", .null)
            report.target("idle.rss_mib_per_node", nil, 8, atLeast: false)
            report.target("idle.cpu_s_per_min_per_node", nil, 0.10, atLeast: false)
            report.target("converge_64_s", nil, 0.5, atLeast: false)
            return
        }
        var meshes: [JSON] = []
        var largest: ProcessMesh.Result?
        var converge64: Double?
        for count in plan.meshSizes {
            progress("processes: \(count) × rumor start --profile lan")
            do {
                let result = try ProcessMesh(binary: binary, directory: work, count: count, settle: plan.meshSettle, window: plan.meshIdle).run()
                meshes.append(meshJSON(result))
                if count == 64 { converge64 = result.convergence }
                if result.nodes >= largest?.nodes ?? 0 { largest = result }
                report.row("\(count) processes", "full membership after last start (s)", rumor: format(result.convergence, digits: 3))
                report.row("", "start-up of \(count - 1) joiners (s)", rumor: format(result.startup, digits: 3))
                report.row("", "idle CPU s/min per node (mean, max)", rumor: "\(format(result.cpuSecondsPerMinute.mean, digits: 3)) \(format(result.cpuSecondsPerMinute.max, digits: 3))")
                report.row("", "RSS MiB per node (mean, max)", rumor: "\(format(result.rssMiB.mean, digits: 3)) \(format(result.rssMiB.max, digits: 3))")
                report.row("", "RssAnon, Pss MiB per node (mean)", rumor: "\(format(result.rssAnonMiB.mean, digits: 3)) \(format(result.pssMiB.mean, digits: 3))")
                report.row("", "idle datagrams/s per node (out, in)", rumor: "\(format(result.datagramsOutPerSecond.mean, digits: 3)) \(format(result.datagramsInPerSecond.mean, digits: 3))")
            } catch {
                report.fail("processes (\(count))", error)
                meshes.append(.object([("nodes", .number(Double(count))), ("error", .string("\(error)"))]))
            }
        }
        report.set("processes", .array(meshes))
        if let largest {
            report.set("idle", .object([
                ("nodes", .number(Double(largest.nodes))), ("window_s", number(largest.idleWindow, digits: 3)),
                ("rss_mib_per_node", number(largest.rssMiB.mean, digits: 3)), ("rss_mib_per_node_max", number(largest.rssMiB.max, digits: 3)),
                ("rss_anon_mib_per_node", number(largest.rssAnonMiB.mean, digits: 3)), ("pss_mib_per_node", number(largest.pssMiB.mean, digits: 3)),
                ("cpu_s_per_min_per_node", number(largest.cpuSecondsPerMinute.mean, digits: 3)),
                ("cpu_s_per_min_per_node_max", number(largest.cpuSecondsPerMinute.max, digits: 3)),
                ("datagrams_out_per_s_per_node", number(largest.datagramsOutPerSecond.mean, digits: 3)),
                ("datagrams_in_per_s_per_node", number(largest.datagramsInPerSecond.mean, digits: 3)),
            ]))
        } else {
            report.set("idle", .null)
        }
        report.set("converge_64_s", number(converge64, digits: 3))
        report.target("idle.rss_mib_per_node", largest?.rssMiB.mean, 8, atLeast: false)
        report.target("idle.cpu_s_per_min_per_node", largest?.cpuSecondsPerMinute.mean, 0.10, atLeast: false)
        report.target("converge_64_s", converge64, 0.5, atLeast: false)
    }

    static func meshJSON(_ result: ProcessMesh.Result) -> JSON {
        func stats(_ samples: Samples) -> JSON {
            .object([("mean", number(samples.mean, digits: 3)), ("min", number(samples.min, digits: 3)), ("max", number(samples.max, digits: 3))])
        }
        return .object([
            ("nodes", .number(Double(result.nodes))), ("profile", .string("lan")),
            ("startup_s", number(result.startup, digits: 3)), ("converge_s", number(result.convergence, digits: 3)),
            ("idle_window_s", number(result.idleWindow, digits: 3)),
            ("cpu_s_per_min_per_node", stats(result.cpuSecondsPerMinute)), ("rss_mib_per_node", stats(result.rssMiB)),
            ("rss_anon_mib_per_node", stats(result.rssAnonMiB)), ("pss_mib_per_node", stats(result.pssMiB)),
            ("datagrams_out_per_s_per_node", stats(result.datagramsOutPerSecond)),
            ("datagrams_in_per_s_per_node", stats(result.datagramsInPerSecond)),
            ("alive_at_end_min", .number(Double(result.aliveAtEnd))), ("killed", .number(Double(result.killed))),
            ("failed_exits", .number(Double(result.failedExits))),
            ("node1_rss_kib_by_mapping", .object(result.residentByMapping.prefix(12).map { ($0.0, .number(Double($0.1))) })),
        ])
    }
}

enum SimulatorSection {
    static func run(plan: BenchPlan, report: Report) {
        var runs: [(String, JSON)] = []
        var previous: SimulatorConvergence.Result?
        for nodes in plan.simulatorSizes {
            // Every core holds every member, so memory and work grow with the square of the node count: a run
            // predicted (from the previous size) not to fit in memory or in the time limit is not started.
            if let previous, previous.nodes > 0 {
                let scale = Double(nodes * nodes) / Double(previous.nodes * previous.nodes)
                let memory = previous.rssMiB * scale
                let wall = previous.wallSeconds * scale
                let available = availableMemoryMiB()
                var reasons: [String] = []
                if memory > available * 0.8 {
                    reasons.append("predicted \(format(memory / 1024, digits: 3)) GiB of memory (\(format(previous.rssMiB, digits: 3)) MiB at \(previous.nodes) nodes, × (n/\(previous.nodes))²) but \(format(available / 1024, digits: 3)) GiB available")
                }
                if wall > plan.simulatorWallLimit {
                    reasons.append("predicted \(format(wall, digits: 3)) s wall-clock (\(format(previous.wallSeconds, digits: 3)) s at \(previous.nodes) nodes, × (n/\(previous.nodes))²) over the \(Int(plan.simulatorWallLimit)) s limit")
                }
                if !reasons.isEmpty {
                    let reason = "not run: " + reasons.joined(separator: "; ")
                    progress("simulator: \(nodes) nodes \(reason)")
                    runs.append((String(nodes), .object([("virtual_s", .null), ("wall_s", .null), ("reason", .string(reason))])))
                    report.row("simulator \(format(Double(nodes)))", "virtual s to full membership", rumor: "-", baseline: "not run (see JSON)")
                    continue
                }
            }
            progress("simulator: \(nodes) nodes joining through one seed (profile lan), at most \(Int(plan.simulatorWallLimit)) s")
            let result = SimulatorConvergence.run(nodes: nodes, seed: UInt64(nodes), wallLimit: plan.simulatorWallLimit)
            runs.append((String(nodes), .object([
                ("virtual_s", number(result.virtualSeconds, digits: 3)), ("wall_s", number(result.wallSeconds, digits: 3)),
                ("events", .number(Double(result.events))), ("datagrams", .number(Double(result.datagrams))),
                ("datagrams_per_node_per_s", number(result.datagramsPerNodePerSecond, digits: 3)),
                ("virtual_s_simulated", number(result.virtualReached, digits: 3)),
                ("alive_views_at_end", number(result.aliveViews, digits: 4)),
                ("process_rss_mib", number(result.rssMiB, digits: 3)), ("reason", result.reason.map { .string($0) } ?? .null),
            ])))
            report.row("simulator \(format(Double(nodes)))", "virtual s to full membership", rumor: result.virtualSeconds.map { format($0, digits: 3) } ?? "-",
                       baseline: "\(format(result.wallSeconds, digits: 3)) s wall")
            if let reason = result.reason {
                progress("  \(reason); \(format(result.aliveViews * 100, digits: 4))% of the views were alive at the end")
            }
            previous = result
        }
        if !plan.simulatorSizes.contains(10_000) {
            let reason = plan.quick && plan.simulatorSizes == [100, 1000] ? "not run with --quick" : "not in --simulator-nodes"
            runs.append(("10000", .object([("virtual_s", .null), ("wall_s", .null), ("reason", .string(reason))])))
        }
        report.set("simulator", .object(runs))
    }

    static func availableMemoryMiB() -> Double {
        guard let text = readTextFile("/proc/meminfo") else { return .infinity }
        for line in text.split(separator: "\n") where line.hasPrefix("MemAvailable:") {
            if let kib = line.split(whereSeparator: { $0 == " " }).dropFirst().first.flatMap({ Double($0) }) { return kib / 1024 }
        }
        return .infinity
    }
}
