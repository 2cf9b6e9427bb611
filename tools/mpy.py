"""Compile every firmware module with mpy-cross for the boards' architectures.

build/mpy/<arch>/... mirrors firmware/; main.py and boot.py stay .py (a board runs them by name).
"""
import argparse
import os
import shutil
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIRMWARE = os.path.join(ROOT, "firmware")
ARCHES = {"esp32": "xtensawin", "rp2040": "armv6m", "unix": None}
KEEP_PY = ("main.py", "boot.py")


def mpy_cross():
    b = os.path.join(os.path.dirname(sys.executable), "mpy-cross")
    return b if os.path.exists(b) else "mpy-cross"


def build(out, board):
    arch = ARCHES[board]
    dest = os.path.join(out, board)
    shutil.rmtree(dest, ignore_errors=True)
    n = 0
    for d, _, files in os.walk(FIRMWARE):
        for f in sorted(files):
            if not f.endswith(".py"):
                continue
            src = os.path.join(d, f)
            rel = os.path.relpath(src, FIRMWARE)
            os.makedirs(os.path.join(dest, os.path.dirname(rel)), exist_ok=True)
            if f in KEEP_PY and d == FIRMWARE:
                shutil.copy(src, os.path.join(dest, rel))
                continue
            # -s: embed the module's path inside the package (what tracebacks show on the board),
            # not this machine's absolute path (a qstr held in RAM for every loaded module)
            cmd = [mpy_cross(), "-o", os.path.join(dest, rel[:-3] + ".mpy"), "-s", rel.replace(os.sep, "/")]
            if arch:
                cmd.append("-march=" + arch)
            p = subprocess.run(cmd + [src], capture_output=True, text=True)
            if p.returncode:
                sys.exit("mpy-cross (%s) rejected %s:\n%s" % (board, rel, p.stderr))
            n += 1
    return dest, n


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--out", default=os.path.join(ROOT, "build", "mpy"))
    ap.add_argument("--board", choices=sorted(ARCHES), action="append")
    a = ap.parse_args()
    for board in a.board or sorted(ARCHES):
        dest, n = build(a.out, board)
        print("%-7s %3d modules -> %s" % (board, n, os.path.relpath(dest, ROOT)))


if __name__ == "__main__":
    main()
