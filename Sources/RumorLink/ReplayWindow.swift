/// A sliding window of recently received counters, RFC 6479 style: a ring of 64-bit words, so sliding forward
/// clears whole words instead of shifting bits. It accepts each counter at most once and refuses counters that
/// fell more than `size - 64` behind the greatest seen. The caller MUST call `accept` only after the datagram
/// authenticated, so forged counters cannot move the window.
struct ReplayWindow: Sendable {
    static let words = 64
    /// Bits in the ring; the usable window is this minus one word (4,032 counters).
    static let size = UInt64(words * 64)
    static let usable = size - 64

    private var ring = [UInt64](repeating: 0, count: words)
    private(set) var greatest: UInt64 = 0
    private var seenAny = false

    /// True when `counter` is new and inside the window; nothing changes.
    func wouldAccept(_ counter: UInt64) -> Bool {
        if !seenAny || counter > greatest { return true }
        if greatest - counter >= ReplayWindow.usable { return false }
        let word = Int((counter / 64) % UInt64(ReplayWindow.words))
        return ring[word] & (1 << (counter % 64)) == 0
    }

    /// Records `counter`; false (and nothing changes) when it is a replay or too old.
    mutating func accept(_ counter: UInt64) -> Bool {
        guard wouldAccept(counter) else { return false }
        if !seenAny || counter > greatest {
            let currentWord = seenAny ? greatest / 64 : 0
            let newWord = counter / 64
            if !seenAny {
                ring = [UInt64](repeating: 0, count: ReplayWindow.words)
            } else {
                // Clear the words the window slides over (at most the whole ring).
                let steps = min(newWord - currentWord, UInt64(ReplayWindow.words))
                var step: UInt64 = 1
                while step <= steps {
                    ring[Int((currentWord + step) % UInt64(ReplayWindow.words))] = 0
                    step += 1
                }
            }
            greatest = counter
            seenAny = true
        }
        ring[Int((counter / 64) % UInt64(ReplayWindow.words))] |= 1 << (counter % 64)
        return true
    }
}
