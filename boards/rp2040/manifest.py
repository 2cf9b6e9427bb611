# Freeze coapcast into a custom MicroPython build for rp2040 (a manifest is plain Python):
#   export COAPCAST=/path/to/coapcast
#   make -C ports/<port> BOARD=<BOARD> FROZEN_MANIFEST=$COAPCAST/boards/rp2040/manifest.py
import os

_root = os.environ["COAPCAST"]
include("$(PORT_DIR)/boards/manifest.py")
package("coap", base_path=_root + "/firmware")
module("coapcast.py", base_path=_root + "/firmware")
module("board.py", base_path=_root + "/boards/rp2040")
module("wifi.py", base_path=_root + "/boards/common")
