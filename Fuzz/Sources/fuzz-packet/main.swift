import FuzzHarness
import FuzzMain

@_cdecl("LLVMFuzzerTestOneInput")
func testOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt { FuzzMain.test(PacketTarget.self, data, size) }

FuzzMain.run(PacketTarget.self, testOneInput)
