"""Board processes for the soak tests: the MicroPython unix port running mp_board.py (coapcast.Client
and its driver, re-observing when an observation ends), its output parsed; and the client core
alone at a tight heap (mp_mem_core.py), from the firmware compiled with mpy-cross as deployed."""
import os
import subprocess

from coap import msg, inforespenc, cborenc
from coap import options as o
from tools.util import ROOT, micropython_bin, micropython_env

HERE = os.path.dirname(os.path.abspath(__file__))


def mpy_build(tmpdir):
    """The firmware compiled with mpy-cross (tools/mpy.py, unix): what a board imports. A tight heap
    (64k) cannot compile coap.client from source (the compiler needs the RAM), a board never does."""
    from tools import mpy
    dest, n = mpy.build(os.path.join(tmpdir, "mpy"), "unix")
    return dest


def start_board(tmpdir, uri, duration_ms, retry_ms=300, quiet=False, heap="192k", path=None, **cfg):
    """A board process (mp_board.py: argv and output lines there). path: its MICROPYPATH firmware
    folder (firmware/ sources by default, or mpy_build()); the repository root follows it (tools.rng
    for mc_loss). tmpdir: kept for the callers' scratch files."""
    env = micropython_env([ROOT], firmware=path)
    args = [micropython_bin(), "-X", "heapsize=" + heap, os.path.join(HERE, "mp_board.py"), uri, str(duration_ms),
            str(retry_ms), "1" if quiet else "0"] + ["%s=%s" % kv for kv in sorted(cfg.items())]
    return subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=ROOT, env=env)


class BoardLog:
    """Parsed output of mp_board.py, one line per event: "TAG field ..." (a line it cannot read, one cut
    off at the end of the process, is skipped). Subclasses read other tags in _line."""

    STATS = ("received", "delivered", "duplicates", "reordered", "feedback", "source", "token", "stale", "malformed",
             "errors", "impaired", "rxsize")

    def __init__(self, out):
        self.out = out
        self.notifs = []     # (t, v, via)
        self.ends = []       # (t, reason)
        self.observes = []   # t
        self.heap = []       # (t, n, alloc)
        self.stats = None    # STATS -> n
        for line in out.splitlines():
            f = line.split()
            if f:
                try:
                    self._line(f[0], f, line)
                except (ValueError, IndexError):
                    pass

    def _notif(self, f):
        return int(f[1]), int(f[2]), int(f[3])

    def _line(self, tag, f, line):
        if tag == "N":
            self.notifs.append(self._notif(f))
        elif tag == "E":
            self.ends.append((int(f[1]), " ".join(f[2:])))
        elif tag == "O":
            self.observes.append(int(f[1]))
        elif tag == "H":
            self.heap.append((int(f[1]), int(f[2]), int(f[3])))
        elif tag == "S":
            self.stats = dict(zip(self.STATS, map(int, f[1:])))

    def values(self):
        return [n[1] for n in self.notifs]


def run_board(tmpdir, uri, duration_ms, timeout=None, **kw):
    p = start_board(tmpdir, uri, duration_ms, **kw)
    out, _ = p.communicate(timeout=timeout or duration_ms / 1000 + 30)
    return BoardLog(out)


def mem_core(tmpdir, n=10000, heap="64k"):
    """Feed n multicast notifications (MRFD Q=3 polls, feedback sent) into the client core at
    -X heapsize=heap, from the mpy build. Returns the figures (heap before/after gc.collect, ...)."""
    T = b"\x7b"
    tpl = msg.encode(msg.NON, msg.CONTENT, 0, T, [(o.OBSERVE, 0x10000), (o.CONTENT_FORMAT, 60), (o.MRFD, 3)],
                     cborenc.dumps("5678"))
    off = tpl.index(bytes([0x63, 0x01, 0x00, 0x00])) + 1   # Observe: delta 6, length 3
    ph = inforespenc.to_tim(msg.encode(msg.NON, msg.GET, 0, T, [(o.OBSERVE, 0), (o.URI_PATH, "r")]))
    last = inforespenc.to_tim(msg.encode(msg.NON, msg.CONTENT, 0, T, [(o.OBSERVE, 10), (o.CONTENT_FORMAT, 60)],
                                         cborenc.dumps("1234")))
    pl = inforespenc.build(ph, last, T, bytes([192, 0, 2, 10]), 5683, bytes([233, 252, 0, 23]), None)
    info = msg.encode(msg.CON, msg.SERVICE_UNAVAILABLE, 0x99, b"\0\0\0\0", [(o.CONTENT_FORMAT, o.CF_INFORMATIVE)], pl)
    env = micropython_env([ROOT], firmware=mpy_build(tmpdir))
    r = subprocess.run([micropython_bin(), "-X", "heapsize=" + heap, os.path.join(HERE, "mp_mem_core.py"), str(n),
                        info.hex(), tpl.hex(), str(off)],
                       capture_output=True, text=True, timeout=300, env=env, cwd=tmpdir)
    out = r.stdout + r.stderr
    line = [ln for ln in out.splitlines() if ln.startswith("MEM ")]
    if not line:
        return {"error": out[-3000:]}
    keys = ("heap_start", "heap_end", "drift", "peak", "memory_errors", "delivered", "feedback", "feedback_sent",
            "duplicates", "stale", "free_at_end")
    fig = dict(zip(keys, (int(x) for x in line[0].split()[1:])))
    fig["out"] = out
    return fig

