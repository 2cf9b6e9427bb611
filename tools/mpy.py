"""Compile every firmware module with mpy-cross for the boards' architectures.

build/mpy/<board>/... mirrors firmware/; main.py and boot.py stay .py (a board runs them by name).
The few functions marked `@micropython.native` (the notification hot path) become machine
code for the board's architecture; --bytecode builds them as bytecode instead (the decorators are
dropped: the same Python), for a port without a native emitter and to measure what native buys.
"""
import argparse
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIRMWARE = os.path.join(ROOT, "firmware")
# the unix port runs on this machine: its native code is this machine's (None: bytecode only)
_HOST_ARCH = {"x86_64": "x64", "amd64": "x64", "i386": "x86", "i686": "x86"}.get(platform.machine().lower())
# unix32: the 32-bit unix port of tools/runtimes (make setup), x86 machine code
ARCHES = {"esp32": "xtensawin", "rp2040": "armv6m", "unix": _HOST_ARCH,
          "unix32": "x86" if _HOST_ARCH in ("x64", "x86") else None}
KEEP_PY = ("main.py", "boot.py")
_EMITTER = re.compile(r"^[ \t]*@micropython\.(native|viper)[ \t]*(#.*)?\n", re.M)
_PTR8 = re.compile(r"(?<!def )\bptr8\(")


def bytecode_source(src, tmpdir):
    """src, or a copy of it without emitter decorators and viper's ptr8() casts (written under tmpdir)
    if it has any: the same Python, as bytecode."""
    with open(src) as f:
        text = f.read()
    plain = _PTR8.sub("(", _EMITTER.sub("", text))
    if plain == text:
        return src
    out = os.path.join(tmpdir, os.path.basename(src))
    with open(out, "w") as f:
        f.write(plain)
    return out


def mpy_cross():
    b = os.path.join(os.path.dirname(sys.executable), "mpy-cross")
    return b if os.path.exists(b) else "mpy-cross"


def build(out, board, bytecode=False, firmware=FIRMWARE):
    """Compile firmware/ for board into out/<board>; bytecode=True: no machine code. Returns (dest, n)."""
    arch = None if bytecode else ARCHES[board]
    dest = os.path.join(out, board)
    shutil.rmtree(dest, ignore_errors=True)
    tmp = tempfile.mkdtemp()
    try:
        return dest, _build(dest, arch, tmp, firmware)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _build(dest, arch, tmp, firmware):
    n = 0
    for d, _, files in os.walk(firmware):
        for f in sorted(files):
            if not f.endswith(".py"):
                continue
            src = os.path.join(d, f)
            rel = os.path.relpath(src, firmware)
            os.makedirs(os.path.join(dest, os.path.dirname(rel)), exist_ok=True)
            if f in KEEP_PY and d == firmware:
                shutil.copy(src, os.path.join(dest, rel))
                continue
            # -s: embed the module's path inside the package (what tracebacks show on the board),
            # not this machine's absolute path (a qstr held in RAM for every loaded module)
            cmd = [mpy_cross(), "-o", os.path.join(dest, rel[:-3] + ".mpy"), "-s", rel.replace(os.sep, "/")]
            if arch:
                cmd.append("-march=" + arch)
            else:
                src = bytecode_source(src, tmp)
            p = subprocess.run(cmd + [src], capture_output=True, text=True)
            if p.returncode:
                sys.exit("mpy-cross (%s) rejected %s:\n%s" % (arch or "bytecode", rel, p.stderr))
            n += 1
    return n


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--out", default=os.path.join(ROOT, "build", "mpy"))
    ap.add_argument("--board", choices=sorted(ARCHES), action="append")
    ap.add_argument("--bytecode", action="store_true", help="no machine code (drop @micropython.native)")
    a = ap.parse_args()
    for board in a.board or sorted(ARCHES):
        dest, n = build(a.out, board, a.bytecode)
        arch = None if a.bytecode else ARCHES[board]
        print("%-7s %3d modules (%s) -> %s" % (board, n, arch or "bytecode", os.path.relpath(dest, ROOT)))


if __name__ == "__main__":
    main()
