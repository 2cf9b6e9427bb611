"""make deploy: compile the firmware for a board and copy it with mpremote; then start it.

  python tools/deploy.py --board esp32|rp2040|unix --port /dev/ttyUSB0 [--config my_config.py] [--no-start]

The same path for real and virtual boards: for a virtual board (tools/vboard.py) PORT is its pty and
every mpremote command is prefixed with `resume` (the unix port has no soft reset). Copies
build/mpy/<board>/ (what `make mpy` builds), boards/<board>/board.py, the config (--config, else
boards/<board>/config.py; the common template only with --template) and secrets.py if present.
"""
import argparse
import os
import subprocess
import sys

from tools import cli, mpy
from tools.util import ROOT


def mpremote():
    b = os.path.join(os.path.dirname(sys.executable), "mpremote")
    return b if os.path.exists(b) else "mpremote"


def plan(board, out, config=None, template=False):
    """[(local path, remote path)] in copy order."""
    dest = os.path.join(out, board)
    files = []
    for d, _, fs in os.walk(dest):
        for f in sorted(fs):
            p = os.path.join(d, f)
            files.append((p, os.path.relpath(p, dest)))
    bdir = os.path.join(ROOT, "boards", board)
    files.append((os.path.join(bdir, "board.py"), "board.py"))
    if board != "unix":
        files.append((os.path.join(ROOT, "boards", "common", "wifi.py"), "wifi.py"))
    files.append((config_file(board, config, template), "config.py"))
    for s in (os.path.join(bdir, "secrets.py"), os.path.join(ROOT, "secrets.py")):
        if os.path.exists(s):
            files.append((s, "secrets.py"))
            break
    return files


TEMPLATE = os.path.join(ROOT, "boards", "common", "config_template.py")


def config_file(board, config=None, template=False):
    """The file installed as config.py: --config, else boards/<board>/config.py, else (only when asked
    for, --template) the template. ValueError (one line saying how to make one) when there is none."""
    if config:
        if not os.path.isfile(config):
            raise ValueError("CONFIG=%s: no such file" % config)
        return config
    own = os.path.join(ROOT, "boards", board, "config.py")
    if os.path.exists(own):
        return own
    if template:
        return TEMPLATE
    raise ValueError("no %s: make one with `cp boards/common/config_template.py %s` and set OBSERVE (or pass "
                     "CONFIG=<file>, or TEMPLATE=1 to install the template as it is)"
                     % (os.path.relpath(own, ROOT), os.path.relpath(own, ROOT)))


def run(args, port, resume, timeout=120):
    pre = [mpremote(), "connect", port] + (["resume"] if resume else [])
    p = subprocess.run(pre + args, capture_output=True, text=True, timeout=timeout)
    if p.returncode:
        raise SystemExit("mpremote %s failed:\n%s%s" % (" ".join(args), p.stdout, p.stderr))
    return p.stdout


def deploy(board, port, config=None, start=True, out=None, template=False):
    config_file(board, config, template)   # refuse before building anything
    out = out or os.path.join(ROOT, "build", "mpy")
    mpy.build(out, board)
    resume = board == "unix"
    files = plan(board, out, config, template)
    dirs = sorted({os.path.dirname(r) for _, r in files if os.path.dirname(r)})
    cmd = []
    if dirs:
        mk = "import os\nfor d in %r:\n  try: os.mkdir(d)\n  except OSError: pass" % (dirs,)
        cmd += ["exec", mk]
    for local, remote in files:
        cmd += ["+", "fs", "cp", local, ":" + remote] if cmd else ["fs", "cp", local, ":" + remote]
    run(cmd, port, resume)
    print("deploy: %d files -> %s (%s)" % (len(files), port, board))
    if start:
        if resume:
            # the unix port keeps running main in the foreground of its REPL; output follows here
            os.execv(mpremote(), [mpremote(), "connect", port, "resume", "exec", "import main"])
        run(["reset"], port, False)
        print("deploy: %s reset; main.py is running (watch: mpremote connect %s repl)" % (port, port))


def main():
    ap = cli.Parser(prog="deploy", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--board", required=True, choices=sorted(mpy.ARCHES))
    ap.add_argument("--port", required=True, help="serial device, or a virtual board's pty")
    ap.add_argument("--config", help="config file to install as config.py (default boards/<board>/config.py)")
    ap.add_argument("--template", action="store_true",
                    help="no config.py of your own: install boards/common/config_template.py as it is")
    ap.add_argument("--no-start", action="store_true")
    a = ap.parse_args()
    try:
        deploy(a.board, a.port, a.config, not a.no_start, template=a.template)
    except ValueError as e:
        ap.fail(str(e))


if __name__ == "__main__":
    main()
