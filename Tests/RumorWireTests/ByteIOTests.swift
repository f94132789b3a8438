import Testing
import RumorWire

@Suite("ByteWriter and ByteReader")
struct ByteIOTests {
    @Test("integers are written big-endian")
    func writesBigEndian() {
        var writer = ByteWriter()
        writer.write(UInt8(0xAB))
        writer.write(UInt16(0x0102))
        writer.write(UInt32(0x0304_0506))
        writer.write(UInt64(0x0708_090A_0B0C_0D0E))
        writer.write(contentsOf: [0xF0, 0xF1])
        #expect(writer.bytes == [0xAB, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06,
                                 0x07, 0x08, 0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x0E, 0xF0, 0xF1])
        #expect(writer.count == 17)
    }

    @Test("a short string is a one-byte length and its UTF-8")
    func writesShortString() {
        var writer = ByteWriter()
        writer.writeShortString("hé")
        writer.writeShortString("")
        #expect(writer.bytes == [3, 0x68, 0xC3, 0xA9, 0])
    }

    @Test("set(_:at:) back-fills a UInt16 in place")
    func backFillsLength() {
        var writer = ByteWriter()
        writer.write(UInt8(7))
        writer.write(UInt16(0))
        writer.write(UInt8(9))
        writer.set(0xBEEF, at: 1)
        #expect(writer.bytes == [7, 0xBE, 0xEF, 9])
    }

    @Test("what the writer writes the reader reads back, consuming exactly")
    func readsBack() {
        var writer = ByteWriter()
        writer.write(UInt8(0xFE))
        writer.write(UInt16(0xFFFE))
        writer.write(UInt32(0x8000_0001))
        writer.write(UInt64.max - 1)
        writer.writeShortString("name")
        writer.write(contentsOf: [1, 2, 3])
        var reader = ByteReader(writer.bytes)
        #expect(reader.readUInt8() == 0xFE)
        #expect(reader.readUInt16() == 0xFFFE)
        #expect(reader.readUInt32() == 0x8000_0001)
        #expect(reader.readUInt64() == UInt64.max - 1)
        #expect(reader.readShortString() == "name")
        #expect(reader.remaining == 3)
        let rest = reader.readBytes(3)
        #expect(rest.map(Array.init) == [1, 2, 3])
        #expect(reader.isAtEnd)
        #expect(reader.readRest().isEmpty)
    }

    @Test("a short read returns nil and consumes nothing")
    func shortReadsConsumeNothing() {
        var reader = ByteReader([1, 2, 3])
        #expect(reader.readUInt32() == nil)
        #expect(reader.readUInt64() == nil)
        #expect(reader.readBytes(4) == nil)
        #expect(reader.readBytes(-1) == nil)
        #expect(reader.remaining == 3)
        #expect(reader.readUInt16() == 0x0102)
        #expect(reader.readUInt16() == nil)
        #expect(reader.readUInt8() == 3)
        #expect(reader.readUInt8() == nil)
        #expect(reader.isAtEnd)
    }

    @Test("a short string whose length runs past the end, or that is not UTF-8, is nil")
    func rejectsBadShortStrings() {
        var tooLong = ByteReader([5, 0x61, 0x62])
        #expect(tooLong.readShortString() == nil)
        var notUTF8 = ByteReader([2, 0xC3, 0x28])
        #expect(notUTF8.readShortString() == nil)
        var empty = ByteReader([])
        #expect(empty.readShortString() == nil)
    }

    @Test("a reader over a slice reads that slice only, wherever it starts")
    func readsSliceNotStartingAtZero() {
        let bytes: [UInt8] = [0xEE, 0xEE, 0x01, 0x02, 0x03, 0x04, 0xEE]
        var reader = ByteReader(bytes[2..<6])
        #expect(reader.remaining == 4)
        #expect(reader.readUInt32() == 0x0102_0304)
        #expect(reader.isAtEnd)
        #expect(reader.readUInt8() == nil)
    }
}
