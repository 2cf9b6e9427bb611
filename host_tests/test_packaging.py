# package.json (mip) lists every firmware library module; board manifests name existing paths.
import json
import os
import subprocess
import sys

from helpers import ROOT


def test_package_json_is_current():
    p = subprocess.run([sys.executable, os.path.join(ROOT, "tools", "mip_package.py"), "--check"],
                       capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    urls = json.load(open(os.path.join(ROOT, "package.json")))["urls"]
    for dest, src in urls:
        assert os.path.exists(os.path.join(ROOT, src)), src
    assert ["coap/msg.py", "firmware/coap/msg.py"] in urls


def test_board_dirs_complete():
    for b in ("esp32", "rp2040", "unix"):
        for f in ("board.py", "manifest.py"):
            assert os.path.exists(os.path.join(ROOT, "boards", b, f)), (b, f)
    assert os.path.exists(os.path.join(ROOT, "boards", "common", "config_template.py"))
