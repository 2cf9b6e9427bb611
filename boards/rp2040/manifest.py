# Freeze coapcast into a custom MicroPython build for rp2040 (boards/common/manifest.py lists what):
#   export COAPCAST=/path/to/coapcast
#   make -C ports/<port> BOARD=<BOARD> FROZEN_MANIFEST=$COAPCAST/boards/rp2040/manifest.py
import os

include(os.environ["COAPCAST"] + "/boards/common/manifest.py", board="rp2040")
