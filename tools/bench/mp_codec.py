# Codec benchmark body: runs under MicroPython (unix port) and CPython. Prints key=value lines.
import gc
import sys

from coap import msg

from mpbench import ticks_us, ticks_diff

NOTIF = bytes.fromhex("514512347b610b613cff35363738")  # the §4 notification


def full_decode(m, buf):
    m.decode(buf)
    tok = m.token()
    obs = m.uint(6)
    cf = m.uint(12)
    pl = m.payload()
    return pl  # (returning a tuple would add an allocation that is the bench's, not the codec's)


def main():
    m = msg.Msg()
    n = 20000 if sys.implementation.name == "micropython" else 100000
    for _ in range(200):
        full_decode(m, NOTIF)
    best = None
    for _ in range(5):
        t0 = ticks_us()
        for _ in range(n):
            full_decode(m, NOTIF)
        dt = ticks_diff(ticks_us(), t0) / n
        best = dt if best is None or dt < best else best
    print("decode_us=%.3f" % best)
    if hasattr(gc, "mem_alloc"):
        gc.collect()
        gc.disable()
        a = gc.mem_alloc()
        for _ in range(1000):
            full_decode(m, NOTIF)
        print("decode_alloc_bytes=%.1f" % ((gc.mem_alloc() - a) / 1000))
        gc.enable()


main()
