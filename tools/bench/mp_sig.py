# Signature verification benchmark body (bench_sig.py runs it): MicroPython unix ports, the Cortex-M0
# under QEMU and CPython. bench_sig.py puts ALG (a COSE alg) and VEC ((public key, [(message,
# signature), ...]), made with OpenSSL) in front of this text. Prints key=value lines:
#   import_heap       heap bytes of coap.sigverify and the alg's modules (its curve, coap.comb, ...),
#                     coap.compat already loaded
#   prep_*            the first prepare(): the generator's table and the key's (units, µs, the longest
#                     unit in µs), tables_heap: heap bytes they hold (and coap.comb, loaded with them);
#                     key_heap: a second key's verifier (the generator's table is shared)
#   tab_us_N, naive_us_N   one verification of an N-byte message with / without the tables (µs, best
#                     of a few), *_ratio_N: the same over one SHA-256 of 64 bytes timed just before and
#                     after (interleaved), tab_units_N / tab_maxunit_us_N: the stepwise job's units and
#                     its longest unit
#   shape_H_V_us, shape_H_V_heap   other comb shapes (SHAPES): the first message's verification, and
#                     the heap of the generator's and a key's tables in that shape
#   free_heap, lowheap_free, lowheap_us   the first message's verification with the free heap cut
#                     to LOW bytes (the GC's share)
import gc
import sys
from hashlib import sha256

from mpbench import ticks_us, ticks_diff

MP = sys.implementation.name == "micropython"
B64 = bytes(64)
ROUNDS = 5
LOW = 56 * 1024


def heap():
    gc.collect()
    return gc.mem_alloc() if MP else 0


def base_us():
    n = 20
    t = ticks_us()
    for _ in range(n):
        sha256(B64).digest()
    return ticks_diff(ticks_us(), t) / n


def steps(job):
    """Run a job one unit at a time: (units, µs, longest unit µs, result)."""
    n = 0
    worst = 0
    t0 = ticks_us()
    while True:
        t = ticks_us()
        r = job.step(1)
        dt = ticks_diff(ticks_us(), t)
        worst = dt if dt > worst else worst
        n += 1
        if r is not None:
            return n, ticks_diff(ticks_us(), t0), worst, r


def timed(v, m, s):
    """Best of ROUNDS verifications: (µs, ratio to the interleaved SHA-256 baseline)."""
    best = None
    for _ in range(ROUNDS):
        b0 = base_us()
        t = ticks_us()
        ok = v.verify(m, s)
        dt = ticks_diff(ticks_us(), t)
        b1 = base_us()
        if ok is not True:
            raise SystemExit("verification failed: bench vectors are wrong")
        if best is None or dt < best[0]:
            best = (dt, dt * 2 / (b0 + b1))
    return best


def main():
    pk, sigs = VEC  # noqa: F821 (bench_sig.py defines it)
    import coap.compat  # noqa: F401 (a board has it loaded already)
    h0 = heap()
    from coap import sigverify
    v = sigverify.verifier(ALG, pk)  # noqa: F821 (imports the curve's modules)
    h1 = heap()
    print("import_heap=%d" % (h1 - h0))
    n, us, worst, ok = steps(v.prepare())
    h2 = heap()
    print("prep_units=%d\nprep_us=%d\nprep_maxunit_us=%d\ntables_heap=%d" % (n, us, worst, h2 - h1))
    v2 = sigverify.verifier(ALG, bytes(pk))  # noqa: F821
    v2.prepare().step(1 << 20)
    print("key_heap=%d" % (heap() - h2))
    v2 = None
    naive = sigverify.verifier(ALG, pk, False)  # noqa: F821
    print("base_us=%.2f" % base_us())
    for m, s in sigs:
        ln = len(m)
        us, ratio = timed(v, m, s)
        print("tab_us_%d=%d\ntab_ratio_%d=%.0f" % (ln, us, ln, ratio))
        n, _, worst, ok = steps(v.start(m, s))
        print("tab_units_%d=%d\ntab_maxunit_us_%d=%d" % (ln, n, ln, worst))
        us, ratio = timed(naive, m, s)
        print("naive_us_%d=%d\nnaive_ratio_%d=%.0f" % (ln, us, ln, ratio))
    if MP:
        # the GC's share: the same verification with the free heap cut to LOW bytes (every collection
        # sweeps the whole heap; one verification allocates about 0.7 MB of short-lived ints)
        m, s = sigs[0]
        gc.collect()
        print("free_heap=%d" % gc.mem_free())
        ballast = []
        while gc.mem_free() > LOW:
            ballast.append(bytearray(1024))
        gc.collect()
        print("lowheap_free=%d\nlowheap_us=%d" % (gc.mem_free(), timed(v, m, s)[0]))
        ballast = None
    gtab = type(naive).GTAB    # the generators' tables, per shape
    v = naive = None
    for sh in SHAPES:  # noqa: F821 (bench_sig.py defines it)
        gtab.pop(sh, None)
        h0 = heap()
        tag = "shape_%d_%d_" % sh
        v = sigverify.verifier(ALG, pk, sh)  # noqa: F821
        try:
            v.prepare().step(1 << 20)
        except MemoryError:
            print("%sheap=MemoryError" % tag)
            continue
        print("%sheap=%d" % (tag, heap() - h0))
        m, s = sigs[0]
        print("%sus=%d" % (tag, timed(v, m, s)[0]))
        v = None
    print("done=1")


main()
