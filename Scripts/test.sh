#!/usr/bin/env bash
# Runs every test of Rumor: unit tests, the deterministic simulator, in-process node tests, the CLI
# acceptance tests against the built binary, the quick multi-node scenarios (a junk flood among them) and a
# minute of coverage-guided fuzzing. Installs libsodium-dev first when it is missing.
# Usage: Scripts/test.sh
set -euo pipefail
cd "$(dirname "$0")/.."
. Scripts/lib/deps.sh
rumor_ensure_deps

# Warnings are errors in debug builds (Package.swift), so this also checks "zero warnings".
swift build --build-tests

# The CLI tests run real node processes with timing bounds (detection within 10 s); they get the machine to
# themselves instead of sharing two cores with the simulator.
swift test --skip-build --skip RumorCLITests
swift test --skip-build --filter RumorCLITests --skip StartSignalRaceTests
# Its two sweeps of 40 signalled starts each hold a test-pool thread for their whole run, and a 2-core machine
# has two: beside the other CLI tests they starved them (under ThreadSanitizer past their time limits). Alone.
swift test --skip-build --filter StartSignalRaceTests

# Real meshes broken on purpose (Docs/TESTING.md): the quick scenarios, about two minutes; the network-lab
# parts need root (CI has it) and skip with a clear line otherwise. The lab's own self-test
# (lab-impairments) once measured no traffic on one link on a machine at load 9 and is left to the full run
# until that is understood.
RUMOR_BIN="$(swift build --show-bin-path)/rumor" Scripts/scenarios.sh --quick \
  --only join-storm,crash-restart,graceful-leave,partition-heal,lossy-network,flood,key-rotation,cleanup-check

# Every fuzz target from its committed seeds, about a minute in all (Fuzz/README.md); a crash fails the run.
Scripts/fuzz.sh --quick
