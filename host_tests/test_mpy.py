# `make mpy`: every firmware module compiles for the boards, and the unix build imports and runs.
import os
import subprocess
import sys

from helpers import ROOT, micropython_bin


def test_make_mpy_compiles_every_module(tmp_path):
    out = tmp_path / "mpy"
    p = subprocess.run([sys.executable, os.path.join(ROOT, "tools", "mpy.py"), "--out", str(out)],
                       capture_output=True, text=True)
    assert p.returncode == 0, p.stdout + p.stderr
    srcs = set()
    for d, _, files in os.walk(os.path.join(ROOT, "firmware")):
        for f in files:
            if f.endswith(".py"):
                srcs.add(os.path.relpath(os.path.join(d, f), os.path.join(ROOT, "firmware"))[:-3])
    for board in ("esp32", "rp2040", "unix"):
        built = set()
        for d, _, files in os.walk(out / board):
            for f in files:
                built.add(os.path.relpath(os.path.join(d, f), out / board).rsplit(".", 1)[0])
        assert built == srcs, board
    # the unix .mpy files run: decode the §4 notification from compiled code only
    env = dict(os.environ, MICROPYPATH=".frozen:" + str(out / "unix"))
    code = ("from coap import msg\nm = msg.decode(bytes.fromhex('514512347b610b613cff35363738'))\n"
            "print(m.uint(6), bytes(m.payload()))")
    p = subprocess.run([micropython_bin(), "-X", "heapsize=192k", "-c", code], capture_output=True, text=True, env=env)
    assert p.stdout.strip() == "11 b'5678'", p.stdout + p.stderr
