# Issue 7, memory: a board at -X heapsize=64k (the MicroPython unix port) receives 10,000 multicast
# notifications with MRFD feedback polls: the heap after gc.collect at the end is within 1 KB of the
# start, no MemoryError. The board runs the firmware compiled with mpy-cross, as deployed (from
# source, the compiler alone does not fit a 64k heap).
#  - in-process: the sans-I/O client core fed the datagrams directly (fast, exact: 10,000);
#  - real sockets: the real server multicasting on loopback to a board (coapcast.Client and its
#    driver), heap sampled after gc.collect every 250 notifications.
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "tools"))
import soak  # noqa: E402
from soak import Server, run_board, figure  # noqa: E402

import subprocess  # noqa: E402
from soak import mpy_build, micropython_bin  # noqa: E402
from coap import msg, inforespenc, cborenc  # noqa: E402
from coap import options as o  # noqa: E402

N = 10000
BOARD_HEAP = os.environ.get("COAPCAST_MEM_HEAP", "64k")
SRV = ("192.0.2.10", 5683)
GRP = ("233.252.0.23", 5683)

CORE = r'''
import gc, sys
from coap import client, msg
from coap import options as o
N = int(sys.argv[1])
INFO = bytes.fromhex(sys.argv[2])
TPL = bytearray(bytes.fromhex(sys.argv[3]))   # NON 2.05, T, Observe (3 bytes), CF, MRFD, payload
OBS = int(sys.argv[4])                         # offset of the 3 Observe value bytes
SRV = ("192.0.2.10", 5683)
GRP = ("233.252.0.23", 5683)

class Rng:
    def __init__(self):
        self.s = 12345
    def getrandbits(self, k):
        s = self.s
        s ^= (s << 13) & 0xFFFFFFFF
        s ^= s >> 17
        s ^= (s << 5) & 0xFFFFFFFF
        self.s = s
        return s >> (32 - k) if k < 32 else s

n = [0]
def cb(payload, cf, v, via):
    n[0] += 1
c = client.Client(rng=Rng(), leisure_ms=50, log=lambda s: None)
ob = c.observe(SRV, [(11, "r")], cb, 0)
reg = msg.Msg()
reg.decode(c.take()[0][0])
c.recv(msg.empty(2, reg.mid), SRV, 1)
info = bytearray(INFO)
info[4:4 + len(ob.token)] = ob.token          # the registration's token
c.recv(bytes(info), SRV, 2)
c.take()
assert ob.state == client.GROUP, ob.state
now = 10
fb = 0

def feed(k):
    global now, fb
    v = 11 + k
    TPL[2] = (v >> 8) & 0xFF               # MID
    TPL[3] = v & 0xFF
    TPL[OBS] = (v >> 16) & 0xFF
    TPL[OBS + 1] = (v >> 8) & 0xFF
    TPL[OBS + 2] = v & 0xFF
    now += 10
    c.recv(TPL, SRV, now, GRP)
    c.poll(now)
    fb += len(c.take())

for k in range(200):                        # warm-up: caches, dedup ring, interned objects
    feed(k)
gc.collect()
start = gc.mem_alloc()
peak = 0
err = 0
try:
    for k in range(200, 200 + N):
        feed(k)
        if k % 1000 == 0:
            a = gc.mem_alloc()
            if a > peak:
                peak = a
except MemoryError:
    err = 1
gc.collect()
end = gc.mem_alloc()
s = c.stats
print("MEM", start, end, end - start, peak, err, n[0], s.feedback, fb, s.duplicates, s.dropped["stale"], gc.mem_free())
'''


def _template():
    T = b"\x7b"
    tpl = msg.encode(msg.NON, msg.CONTENT, 0, T, [(o.OBSERVE, 0x10000), (o.CONTENT_FORMAT, 60), (o.MRFD, 3)],
                     cborenc.dumps("5678"))
    off = tpl.index(bytes([0x63, 0x01, 0x00, 0x00])) + 1   # Observe: delta 6, length 3
    return tpl, off


def _info():
    T = b"\x7b"
    ph = inforespenc.to_tim(msg.encode(msg.NON, msg.GET, 0, T, [(o.OBSERVE, 0), (o.URI_PATH, "r")]))
    last = inforespenc.to_tim(msg.encode(msg.NON, msg.CONTENT, 0, T, [(o.OBSERVE, 10), (o.CONTENT_FORMAT, 60)],
                                         cborenc.dumps("1234")))
    pl = inforespenc.build(ph, last, T, bytes([192, 0, 2, 10]), 5683, bytes([233, 252, 0, 23]), None)
    return msg.encode(msg.CON, msg.SERVICE_UNAVAILABLE, 0x99, b"\0\0\0\0", [(o.CONTENT_FORMAT, o.CF_INFORMATIVE)], pl)


def test_10000_notifications_with_feedback_polls_heap_flat_at_64k(tmp_path):
    p = tmp_path / "mp_mem_core.py"
    p.write_text(CORE)
    tpl, off = _template()
    env = dict(os.environ, MICROPYPATH=".frozen:" + mpy_build(str(tmp_path)))
    r = subprocess.run([micropython_bin(), "-X", "heapsize=64k", str(p), str(N), _info().hex(), tpl.hex(), str(off)],
                       capture_output=True, text=True, timeout=120, env=env, cwd=str(tmp_path))
    out = r.stdout + r.stderr
    line = [ln for ln in out.splitlines() if ln.startswith("MEM ")]
    assert line, out
    start, end, drift, peak, err, got, feedback, sent, dups, stale, free = (int(x) for x in line[0].split()[1:])
    assert err == 0 and "MemoryError" not in out, out
    assert got == 200 + N + 1 and dups == 0 and stale == 0, out   # every notification delivered (+ the baseline)
    assert 0.08 * N < feedback < 0.2 * N and sent == feedback, out  # MRFD Q=3: ~1/8 answered, each sent
    assert abs(drift) <= 1024, out
    figure("memory: core 10,000 notifications @64k", heap_start=start, heap_end=end, drift_bytes=drift,
           peak=peak, feedback_polls_answered=feedback, memory_errors=err, free_at_end=free)


def test_real_sockets_multicast_notifications_heap_flat_at_64k(tmp_path):
    n = 4000 if soak.SOAK else 1500
    period = 0.002 if soak.SOAK else 0.003
    srv = Server(extra=["--update", "/r=%g" % period, "--interval", "0", "--wait", "1", "--m", "4"],
                 ack_timeout_ms=300, log_level="WARNING").start()
    try:
        b = run_board(str(tmp_path), srv.url("/r"), int(n * period * 1000) + 1500, quiet=True, heap=BOARD_HEAP,
                      path=mpy_build(str(tmp_path)), leisure_ms=100, heap_every=250)
    finally:
        srv.stop()
    out = b.out
    assert "MemoryError" not in out and "Traceback" not in out, out[-3000:]
    assert b.stats is not None and b.stats["delivered"] >= 0.8 * n, (b.stats, out[-2000:])
    assert b.stats["feedback"] >= 1, b.stats        # MRFD polls answered
    heaps = [a for t, k, a in b.heap[:-1]]            # sampled in the callback every 250 notifications
    final = b.heap[-1][2]                             # after the loop (another context: no live datagram)
    assert len(heaps) >= 4, out[-2000:]
    base = heaps[1]                                   # after warm-up
    drift = heaps[-1] - base
    assert abs(drift) <= 1024 and final - base <= 1024, (heaps, final)
    assert max(heaps[1:]) - base <= 1024, heaps       # no growth along the way either
    figure("memory: real UDP multicast @64k", delivered=b.stats["delivered"], feedback=b.stats["feedback"],
           heap=BOARD_HEAP, heap_start=base, heap_end=heaps[-1], drift_bytes=drift, samples=len(heaps))
