#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import ArgumentParser
import CRumorSys
import Rumor

/// The exit codes of the CLI contract (sysexits names); Docs/CLI.md lists them.
enum ExitStatus {
    static let ok: Int32 = 0
    static let failure: Int32 = 1
    static let usage: Int32 = 64
    static let dataError: Int32 = 65
    static let unavailable: Int32 = 69
    static let timeout: Int32 = 75
}

/// A failure to report as one line on stderr with a contract exit code.
struct CLIFailure: Error {
    var message: String
    var code: Int32
}

struct RumorCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rumor",
        abstract: "Run and talk to Rumor mesh nodes.",
        discussion: "Every command but start and keygen talks to a running node through its control socket, HOME/NAME/control.sock. HOME is --home, else $RUMOR_HOME, else ~/.rumor.",
        version: RumorVersion.string,
        subcommands: [Start.self, Peers.self, Send.self, Broadcast.self, Watch.self, Inbox.self, Chat.self, Wait.self, Status.self, Tags.self, Keys.self, Leave.self, Keygen.self]
    )
}

/// When this process started (wall clock, seconds since 1970). `watch` and `chat` ask the node for the events
/// since then, so a watcher started in the background of a script is shown a message that arrived while it
/// was still loading and connecting.
///
/// It is the earlier of two moments, both at or after the kernel created the process: the time `main` began
/// (read first thing there), and the process's start time from `/proc/self/stat` rounded up to the next clock
/// tick (10 ms). On a loaded machine the binary can take longer than a tick to reach `main`; the tick then
/// gives the earlier moment. Rounding up, never down, keeps out anything from before the process existed.
enum ProcessStart {
    static let seconds: Double = {
        let reachedMain = clockSeconds(CLOCK_REALTIME)
        guard let started = kernelStartTick() else { return reachedMain }
        // The tick count is on the boot clock; carry it onto the wall clock.
        let wallMinusBoot = reachedMain - clockSeconds(CLOCK_BOOTTIME)
        return min(reachedMain, started + wallMinusBoot)
    }()

    private static func clockSeconds(_ clock: clockid_t) -> Double {
        var spec = timespec()
        clock_gettime(clock, &spec)
        return Double(spec.tv_sec) + Double(spec.tv_nsec) / 1e9
    }

    /// The end of the clock tick in which the kernel started this process, in seconds on the boot clock;
    /// nil when `/proc` cannot tell.
    private static func kernelStartTick() -> Double? {
        let ticksPerSecond = sysconf(Int32(_SC_CLK_TCK))
        guard ticksPerSecond > 0 else { return nil }
        let fd = open("/proc/self/stat", O_RDONLY)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: 4096)
        let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        guard count > 0 else { return nil }
        return startTick(stat: buffer[..<count]).map { Double($0 + 1) / Double(ticksPerSecond) }
    }

    /// Field 22 (`starttime`) of a `/proc/PID/stat` line. The command name (field 2) is in parentheses and
    /// may itself hold spaces and parentheses, so the fields are counted from the last `)`.
    static func startTick(stat: ArraySlice<UInt8>) -> UInt64? {
        guard let close = stat.lastIndex(of: UInt8(ascii: ")")) else { return nil }
        let fields = stat[(close + 1)...].split(separator: UInt8(ascii: " "))
        // After the name come field 3 (state) onwards: starttime, field 22, is the 20th of them.
        guard fields.count >= 20 else { return nil }
        return UInt64(String(decoding: fields[19], as: UTF8.self))
    }
}

@main
enum Main {
    static func main() {
        _ = ProcessStart.seconds
        // Scripts read our stdout through pipes: flush every line.
        rumor_stdout_line_buffered()
        do {
            let arguments = try MessageOperand.rewrite(hoistKeysAction(hoistGlobalOptions(Array(CommandLine.arguments.dropFirst()))))
            try checkHelpTopic(arguments)
            var command = try RumorCommand.parseAsRoot(arguments)
            try command.run()
        } catch let failure as CLIFailure {
            fail(failure.message, code: failure.code)
        } catch let code as ExitCode {
            // The command already said what went wrong.
            rumor_flush_stdout()
            exit(code.rawValue)
        } catch {
            let code = RumorCommand.exitCode(for: error)
            if code == .success {
                print(RumorCommand.fullMessage(for: error))
                exit(0)
            }
            let message = RumorCommand.message(for: error).split(separator: "\n").first.map(String.init) ?? "\(error)"
            fail(message, code: code.rawValue == 1 ? ExitStatus.failure : code.rawValue)
        }
    }

    static func fail(_ message: String, code: Int32) -> Never {
        let text = message.hasPrefix("Error: ") ? String(message.dropFirst(7)) : message
        // One line, whatever the input it quotes: a node name or path given with a newline in it is shown escaped.
        var line = "rumor: "
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\n": line += "\\n"
            case "\r": line += "\\r"
            default: line.unicodeScalars.append(scalar)
            }
        }
        line += "\n"
        rumor_flush_stdout()
        let bytes = Array(line.utf8)
        _ = bytes.withUnsafeBytes { write(STDERR_FILENO, $0.baseAddress, $0.count) }
        exit(code)
    }

    /// `rumor keys --node a install F` is accepted as well as `rumor keys install --node a F`: an action word
    /// written after the options is moved next to `keys`.
    /// - Throws: `CLIFailure` (exit 64) naming the first word in the action's place when it is not an action, or
    ///   saying the action is missing when only options follow; the parser would name the first option instead,
    ///   which `keys` itself does not have.
    static func hoistKeysAction(_ arguments: [String]) throws -> [String] {
        guard arguments.first == "keys" else { return arguments }
        let valued: Set<String> = ["--home", "--node", "--timeout"]
        let actions = Keys.configuration.subcommands.map { $0._commandName }
        var index = 1
        while index < arguments.count, arguments[index].hasPrefix("-") {
            index += valued.contains(arguments[index]) ? 2 : 1
        }
        let choices = actions.dropLast().joined(separator: ", ") + " or " + (actions.last ?? "")
        guard index < arguments.count else {
            // Options and no action: the parser would say the first option is unknown. Bare `rumor keys` and its
            // --help/--version keep the parser's help.
            let asksForHelp = arguments.contains { ["--help", "-h", "--version"].contains($0) }
            guard arguments.count > 1, !asksForHelp else { return arguments }
            throw CLIFailure(message: "missing keys action: use \(choices)", code: ExitStatus.usage)
        }
        guard actions.contains(arguments[index]) else {
            throw CLIFailure(message: "unknown keys action '\(arguments[index])': use \(choices)", code: ExitStatus.usage)
        }
        guard index > 1 else { return arguments }
        var result = arguments
        let action = result.remove(at: index)
        result.insert(action, at: 1)
        return result
    }

    /// `rumor help WORDS…` must name commands: swift-argument-parser shows the top-level help for an unknown
    /// one and exits 0, which hides the typo from a script.
    static func checkHelpTopic(_ arguments: [String]) throws {
        guard arguments.first == "help" else { return }
        var command: ParsableCommand.Type = RumorCommand.self
        var path: [String] = []
        for word in arguments.dropFirst() where !word.hasPrefix("-") {
            path.append(word)
            guard let subcommand = command.configuration.subcommands.first(where: { $0._commandName == word }) else {
                throw CLIFailure(message: "help: unknown command '\(path.joined(separator: " "))'", code: ExitStatus.usage)
            }
            command = subcommand
        }
    }

    /// `rumor --home DIR peers …` is accepted as well as `rumor peers --home DIR …`: global options written
    /// before the subcommand are moved after it, where the parser expects them.
    static func hoistGlobalOptions(_ arguments: [String]) -> [String] {
        var leading: [String] = []
        var index = 0
        while index < arguments.count, arguments[index].hasPrefix("--home") {
            if arguments[index] == "--home", index + 1 < arguments.count {
                leading += [arguments[index], arguments[index + 1]]
                index += 2
            } else if arguments[index].hasPrefix("--home=") {
                leading.append(arguments[index])
                index += 1
            } else {
                break
            }
        }
        guard !leading.isEmpty, index < arguments.count else { return arguments }
        return [arguments[index]] + leading + arguments[(index + 1)...]
    }
}

enum RumorVersion {
    static let string = "0.1.0"
}
