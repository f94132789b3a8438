#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import CRumorSys
import RumorWire

/// Datagram slots for one `sendmmsg` or `recvmmsg` (`RUMOR_BATCH_MAX` of them), allocated once per node and reused:
/// moving datagrams between the socket and the protocol allocates nothing. Used by the event loop thread only.
final class DatagramBatch {
    static let capacity = Int(RUMOR_BATCH_MAX)
    let slotSize: Int
    /// Datagrams filled (by `append`, or by a receive).
    var count = 0
    private let entries: UnsafeMutablePointer<rumor_datagram>
    private let addresses: UnsafeMutablePointer<sockaddr_storage>
    private let storage: UnsafeMutableRawPointer

    init(slotSize: Int) {
        self.slotSize = slotSize
        entries = .allocate(capacity: DatagramBatch.capacity)
        entries.initialize(repeating: rumor_datagram(), count: DatagramBatch.capacity)
        addresses = .allocate(capacity: DatagramBatch.capacity)
        addresses.initialize(repeating: sockaddr_storage(), count: DatagramBatch.capacity)
        storage = .allocate(byteCount: slotSize * DatagramBatch.capacity, alignment: 16)
        for index in 0..<DatagramBatch.capacity {
            entries[index].bytes = storage + index * slotSize
            entries[index].address = UnsafeMutableRawPointer(addresses + index)
        }
    }

    deinit {
        entries.deinitialize(count: DatagramBatch.capacity)
        entries.deallocate()
        addresses.deinitialize(count: DatagramBatch.capacity)
        addresses.deallocate()
        storage.deallocate()
    }

    var isFull: Bool { count == DatagramBatch.capacity }

    /// Copies a datagram into the next slot; false when it does not fit (the caller flushes first, or sends it alone).
    func append(_ bytes: UnsafeRawBufferPointer, to address: PeerAddress) -> Bool {
        guard count < DatagramBatch.capacity, bytes.count <= slotSize else { return false }
        if let source = bytes.baseAddress { entries[count].bytes.copyMemory(from: source, byteCount: bytes.count) }
        entries[count].length = bytes.count
        entries[count].address_length = SocketAddress.write(address, into: &addresses[count])
        count += 1
        return true
    }

    /// Lets `fill` write a datagram for `address` into the next slot (it returns the length written, or nil to
    /// leave the slot unused). False when the batch is full or `fill` declined.
    func append(to address: PeerAddress, _ fill: (UnsafeMutableRawBufferPointer) -> Int?) -> Bool {
        guard count < DatagramBatch.capacity,
              let length = fill(UnsafeMutableRawBufferPointer(start: entries[count].bytes, count: slotSize)),
              length <= slotSize else { return false }
        entries[count].length = length
        entries[count].address_length = SocketAddress.write(address, into: &addresses[count])
        count += 1
        return true
    }

    /// The bytes of datagram `index` (a received one: its length as received).
    func bytes(_ index: Int) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: entries[index].bytes, count: min(entries[index].length, slotSize))
    }

    func source(_ index: Int) -> PeerAddress? { SocketAddress.peerAddress(from: &addresses[index]) }

    func isTruncated(_ index: Int) -> Bool { entries[index].truncated != 0 }

    /// Sends the filled slots from `start` with one sendmmsg: how many the kernel took, or -1 with errno.
    func send(on descriptor: Int32, from start: Int) -> Int {
        Int(rumor_send_batch(descriptor, entries + start, UInt32(count - start)))
    }

    /// Receives into every slot with one recvmmsg; sets `count` and returns it, or -1 with errno.
    func receive(on descriptor: Int32) -> Int {
        for index in 0..<DatagramBatch.capacity { entries[index].length = slotSize }
        let received = Int(rumor_receive_batch(descriptor, entries, UInt32(DatagramBatch.capacity)))
        count = max(0, received)
        return received
    }
}
