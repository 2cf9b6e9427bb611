# Frozen into the 32-bit unix port (tools/runtimes/build.sh): asyncio, as the boards' firmware has it.
# (The standard variant's manifest also wants micropython-lib, which Debian's source strips.)
include("$(MPY_DIR)/extmod/asyncio")
