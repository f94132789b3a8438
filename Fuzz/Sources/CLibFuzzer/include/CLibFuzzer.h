#include <stddef.h>
#include <stdint.h>

// libFuzzer's entry for programs that keep their own main (compiler-rt/lib/fuzzer/FuzzerInterface.h). SwiftPM
// gives every executable target its own main, so the fuzz targets call this instead of linking libFuzzer's main.
int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));
