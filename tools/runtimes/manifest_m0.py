# Frozen into the Cortex-M0 (qemu) firmware with -march=armv6m (tools/runtimes/build.sh sets $(COAPCAST)
# to the repository): the firmware as a board imports it, and the dual-runtime tests with their runner
# (host_tests/mprun.py), so a test module costs flash, not heap, as on a board.
package("coap", base_path="$(COAPCAST)/firmware")
module("coapcast.py", base_path="$(COAPCAST)/firmware")
freeze("$(COAPCAST)/host_tests/fw")
module("mprun.py", base_path="$(COAPCAST)/host_tests")
module("tools/__init__.py", base_path="$(COAPCAST)")
module("tools/rng.py", base_path="$(COAPCAST)")
