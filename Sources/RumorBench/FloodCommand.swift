#if canImport(Glibc)
import Glibc
#endif
import Rumor
import RumorCrypto
import RumorWire

/// `rumor-bench flood`: the flooder of issue 8's flood test (Scripts/scenarios/flood.sh). It captures real
/// datagrams on their way to one node, then sends that node junk at a paced rate for a fixed time (see
/// `FloodDatagrams` for the mix) and prints one JSON line: what it sent, by kind, and the rate it achieved.
/// Only loopback targets are accepted: this is a test tool, not a weapon.
enum FloodCommand {
    struct Options {
        var target = sockaddr_in()
        var targetText = ""
        var rate = 100_000
        var seconds = 30.0
        var captureSeconds = 2.0
        var keyID: UInt32?
        var seed = SecureRandom.uint64()
    }

    static let usage = """
    usage: rumor-bench flood --target 127.0.0.1:PORT [--rate N] [--seconds S] [--capture-seconds S] [--key-id HEX] [--seed N]
      --target A:P          the node to flood; a 127.0.0.0/8 address only.
      --rate N              datagrams per second (default 100000, at most 1000000).
      --seconds S           how long to flood (default 30, at most 600).
      --capture-seconds S   how long to capture datagrams sent to the target before flooding, to replay them
                            (default 2; 0: no replays). Needs root (a packet socket on lo).
      --key-id HEX          the target's network key id (8 hex digits, `rumor status --json`), for forged handshakes.
      --seed N              the junk generator's seed (default: random; printed in the summary).
    """

    /// Most replays kept: enough to cycle through every session's recent counters.
    static let captureLimit = 4096
    /// Datagrams sent back to back before the pacer looks at the clock again.
    static let burst = 64

    /// Runs the subcommand and returns its exit code: 0, 64 for a usage error, 1 when the socket fails.
    static func main(_ arguments: [String]) -> Int32 {
        let options: Options
        switch parse(arguments) {
        case .success(let parsed): options = parsed
        case .failure(let error):
            writeAll("rumor-bench flood: \(error.description)\n\(usage)\n", to: 2)
            return 64
        }
        var captured: [[UInt8]] = []
        var captureError: String?
        if options.captureSeconds > 0 {
            do {
                captured = try FloodCapture.capture(to: options.target, seconds: options.captureSeconds, limit: captureLimit)
            } catch {
                captureError = "\(error)"
                writeAll("rumor-bench flood: no capture, so no replays: \(error)\n", to: 2)
            }
        }
        var junk = FloodDatagrams(captured: captured, keyID: options.keyID, seed: options.seed)
        let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else {
            writeAll("rumor-bench flood: socket: \(String(cString: strerror(errno)))\n", to: 2)
            return 1
        }
        defer { close(fd) }
        var bufferSize: Int32 = 4 << 20
        _ = setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &bufferSize, socklen_t(MemoryLayout<Int32>.size))
        var target = options.target
        let connected = withUnsafePointer(to: &target) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else {
            writeAll("rumor-bench flood: connect: \(String(cString: strerror(errno)))\n", to: 2)
            return 1
        }

        var buffer = [UInt8](repeating: 0, count: FloodDatagrams.randomMaximumLength + 1)
        var sent = 0
        var errors = 0
        let start = monotonicNanoseconds()
        let end = start + UInt64(options.seconds * 1e9)
        let interval = 1e9 / Double(options.rate)
        buffer.withUnsafeMutableBytes { bytes in
            while true {
                let now = monotonicNanoseconds()
                guard now < end else { break }
                let due = Int(Double(now - start) / interval)
                guard sent < due else {
                    pause(seconds: min(0.000_5, Double(end - now) / 1e9))
                    continue
                }
                for _ in 0..<min(burst, due - sent) {
                    let length = junk.next(into: bytes)
                    // ECONNREFUSED reports an earlier datagram's ICMP (the target is gone): count it and go on.
                    if send(fd, bytes.baseAddress, length, 0) < 0 { errors += 1 }
                    sent += 1
                }
            }
        }
        let elapsed = secondsSince(start)
        let summary = JSON.object([
            ("flood", .string(options.targetText)),
            ("seed", .string(String(options.seed))),
            ("requested_rate", .number(Double(options.rate))),
            ("seconds", number(elapsed, digits: 3)),
            ("sent", .number(Double(sent))),
            ("send_errors", .number(Double(errors))),
            ("rate", number((Double(sent) / elapsed).rounded(), digits: 7)),
            ("kinds", .object(junk.sent.map { ($0.rawValue, .number(Double($1))) })),
            ("forged_headers", .object(junk.forged.map { ($0.rawValue, .number(Double($1))) })),
            ("captured", .object([
                ("datagrams", .number(Double(junk.capturedCount))),
                ("sessions", .number(Double(junk.knownSessions))),
                ("key_ids", .number(Double(junk.knownKeyIDs))),
                ("error", captureError.map { .string($0) } ?? .null),
            ])),
        ])
        writeAll(summary.text + "\n", to: 1)
        return 0
    }

    struct UsageError: Error, CustomStringConvertible {
        var description: String
    }

    static func parse(_ arguments: [String]) -> Result<Options, UsageError> {
        var options = Options()
        var haveTarget = false
        var rest = arguments[...]
        while let flag = rest.popFirst() {
            if flag == "-h" || flag == "--help" {
                writeAll(usage + "\n", to: 1)
                exit(0)
            }
            guard let value = rest.popFirst() else { return .failure(UsageError(description: "\(flag) needs a value")) }
            switch flag {
            case "--target":
                guard let address = loopbackAddress(value) else {
                    return .failure(UsageError(description: "--target must be 127.x.y.z:PORT, not '\(value)'"))
                }
                options.target = address
                options.targetText = value
                haveTarget = true
            case "--rate":
                guard let rate = Int(value), (1...1_000_000).contains(rate) else { return .failure(UsageError(description: "--rate must be 1…1000000")) }
                options.rate = rate
            case "--seconds":
                guard let seconds = Double(value), seconds > 0, seconds <= 600 else { return .failure(UsageError(description: "--seconds must be in (0, 600]")) }
                options.seconds = seconds
            case "--capture-seconds":
                guard let seconds = Double(value), seconds >= 0, seconds <= 60 else { return .failure(UsageError(description: "--capture-seconds must be in [0, 60]")) }
                options.captureSeconds = seconds
            case "--key-id":
                guard value.count == 8, let id = UInt32(value, radix: 16) else { return .failure(UsageError(description: "--key-id must be 8 hex digits")) }
                options.keyID = id
            case "--seed":
                guard let seed = UInt64(value) else { return .failure(UsageError(description: "--seed must be an unsigned integer")) }
                options.seed = seed
            default:
                return .failure(UsageError(description: "unknown argument \(flag)"))
            }
        }
        guard haveTarget else { return .failure(UsageError(description: "--target is required")) }
        return .success(options)
    }

    /// `127.a.b.c:PORT` as a socket address, or nil for anything else (other hosts, names, IPv6, port 0).
    static func loopbackAddress(_ text: String) -> sockaddr_in? {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, let port = UInt16(parts[1]), port > 0 else { return nil }
        let octets = parts[0].split(separator: ".", omittingEmptySubsequences: false).compactMap { UInt8($0) }
        guard octets.count == 4, octets[0] == 127 else { return nil }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = octets.reduce(UInt32(0)) { $0 << 8 | UInt32($1) }.bigEndian
        return address
    }
}
