# Freeze coapcast into a custom MicroPython build for esp32 (boards/common/manifest.py lists what):
#   export COAPCAST=/path/to/coapcast
#   make -C ports/<port> BOARD=<BOARD> FROZEN_MANIFEST=$COAPCAST/boards/esp32/manifest.py
import os

include(os.environ["COAPCAST"] + "/boards/common/manifest.py", board="esp32")
