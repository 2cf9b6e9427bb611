# The 32-bit unix port with the board firmware frozen (tools/runtimes/build.sh unix32f, for make bench):
# a board whose firmware build freezes coapcast (boards/<board>/manifest.py) keeps its bytecode in
# flash, not in the heap. Frozen: asyncio, the coap package, coapcast, the board app and the unix glue.
include("$(COAPCAST)/tools/runtimes/manifest_unix32.py")
package("coap", base_path="$(COAPCAST)/firmware")
module("coapcast.py", base_path="$(COAPCAST)/firmware")
module("app.py", base_path="$(COAPCAST)/firmware")
module("board.py", base_path="$(COAPCAST)/boards/unix")
