# What a board build freezes (a manifest is plain Python), included by boards/<board>/manifest.py
# with board="esp32" | "rp2040" | "unix": the coap package, the coapcast API, the board glue and,
# on the Wi-Fi boards, the shared Wi-Fi bring-up.
import os

_root = os.environ["COAPCAST"]
options.defaults(board="unix")
# the port's own frozen modules first (asyncio, ...): boards/manifest.py on esp32 and rp2
include("$(PORT_DIR)/variants/manifest.py" if options.board == "unix" else "$(PORT_DIR)/boards/manifest.py")
package("coap", base_path=_root + "/firmware")
module("coapcast.py", base_path=_root + "/firmware")
module("board.py", base_path=_root + "/boards/" + options.board)
if options.board != "unix":
    module("wifi.py", base_path=_root + "/boards/common")
