"""A virtual board: the MicroPython unix port on a pseudo-terminal, driven by mpremote exactly like
a real board (`mpremote connect <pty> resume ...`; the unix port has no soft reset, docs/environment.md).

  python -m tools.vboard --flash DIR [--heap 192k] [--link /tmp/vboard0]

It prints the device path on its first line ("vboard: /dev/pts/N") and keeps running until killed
(SIGTERM/SIGINT): then it stops the MicroPython process. The board's filesystem is DIR (its cwd; the
unix port imports from there like a board imports from flash). Two pseudo-terminals are bridged:
MicroPython owns one, mpremote opens the other.
"""
import argparse
import os
import pty
import select
import signal
import subprocess
import sys
import termios
import tty

from tools.util import micropython_bin


def _raw(fd):
    tty.setraw(fd)
    a = termios.tcgetattr(fd)
    a[3] &= ~termios.ECHO
    termios.tcsetattr(fd, termios.TCSANOW, a)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--flash", required=True, help="folder that is the board's filesystem")
    ap.add_argument("--heap", default="192k", help="MicroPython heap (192k ~ a Pico W's free heap)")
    ap.add_argument("--link", help="also make this symlink to the device")
    ap.add_argument("--env", action="append", default=[], help="NAME=VALUE for the board process")
    a = ap.parse_args(argv)
    os.makedirs(a.flash, exist_ok=True)

    board_m, board_s = pty.openpty()      # MicroPython's side
    user_m, user_s = pty.openpty()        # mpremote's side (user_s is the device path)
    _raw(board_s)
    _raw(user_s)
    dev = os.ttyname(user_s)
    env = dict(os.environ, MICROPYPATH=".frozen:" + os.path.abspath(a.flash) + ":" + os.path.abspath(a.flash) + "/lib")
    for kv in a.env:
        k, v = kv.split("=", 1)
        env[k] = v
    proc = subprocess.Popen([micropython_bin(), "-X", "heapsize=" + a.heap], stdin=board_s, stdout=board_s,
                            stderr=board_s, cwd=a.flash, env=env, close_fds=True, start_new_session=True)
    os.close(board_s)
    if a.link:
        try:
            os.unlink(a.link)
        except OSError:
            pass
        os.symlink(dev, a.link)
    print("vboard: %s pid %d flash %s heap %s" % (dev, proc.pid, a.flash, a.heap), flush=True)

    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    signal.signal(signal.SIGINT, lambda *_: stop.append(1))
    try:
        while not stop and proc.poll() is None:
            try:
                r, _, _ = select.select([board_m, user_m], [], [], 0.2)
            except InterruptedError:
                continue
            for fd in r:
                try:
                    data = os.read(fd, 4096)
                except OSError:
                    data = b""
                if data:
                    os.write(user_m if fd == board_m else board_m, data)
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(3)
            except subprocess.TimeoutExpired:
                proc.kill()
        if a.link:
            try:
                os.unlink(a.link)
            except OSError:
                pass
    return proc.returncode or 0


if __name__ == "__main__":
    sys.exit(main())
