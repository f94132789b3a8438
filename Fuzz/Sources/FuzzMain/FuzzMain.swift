#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import CLibFuzzer
import FuzzHarness

/// The libFuzzer side of a fuzz executable: `main` hands the command line to `LLVMFuzzerRunDriver`, and each
/// input runs through one `FuzzTarget`; a broken invariant is a crash, which libFuzzer saves and reports.
///
/// `fuzz-NAME --write-seeds DIR` writes the target's seed inputs to DIR instead (Scripts/fuzz.sh --seeds).
public enum FuzzMain {
    public static func run(_ target: any FuzzTarget.Type, _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt) -> Never {
        let arguments = CommandLine.arguments
        if arguments.count == 3, arguments[1] == "--write-seeds" {
            exit(writeSeeds(of: target, to: arguments[2]))
        }
        var argc = CommandLine.argc
        var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
        exit(LLVMFuzzerRunDriver(&argc, &argv, callback))
    }

    /// Runs one input; called from each executable's `LLVMFuzzerTestOneInput`.
    public static func test(_ target: any FuzzTarget.Type, _ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
        let input = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
        do {
            try target.run(input)
        } catch where error.knownIssue != nil && getenv("RUMOR_FUZZ_STOP_ON_KNOWN") == nil {
            // Reported already (FuzzHarness/KnownIssues.swift): keep exploring.
        } catch {
            fatalError("\(target.name): invariant broken: \(error)")
        }
        return 0
    }

    static func writeSeeds(of target: any FuzzTarget.Type, to directory: String) -> Int32 {
        mkdir(directory, 0o755)
        for seed in target.seeds() {
            let path = directory + "/" + seed.name
            guard let file = fopen(path, "wb") else {
                perror(path)
                return 1
            }
            _ = seed.bytes.withUnsafeBytes { fwrite($0.baseAddress, 1, $0.count, file) }
            fclose(file)
            do {
                try target.run(seed.bytes)
            } catch {
                printError("\(target.name): seed \(seed.name) breaks an invariant: \(error)")
                return 1
            }
        }
        return 0
    }
}

/// Writes a line to standard error (the C `stderr` global is not concurrency-safe in Swift 6).
func printError(_ line: String) {
    let bytes = Array((line + "\n").utf8)
    _ = bytes.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
}
