# Issue 15 body: the notification path as ratios to the calibration floor (tools/bench/floor.py),
# all timed in this one process, interleaved: each round times the floor, then every path, then the
# floor again; a path's ratio in that round is its time over the mean of the two floor times. Prints
# key=value lines: <path>_ratio_med/min/max over the rounds, <path>_alloc (heap bytes per datagram).
# A batch is 32 datagrams (the next 32 of 256, Observe rising), timed after an untimed pass over the
# same 32 (warm caches, as in a steady stream): short, so that a batch the OS preempts (the machine is
# shared) is an outlier the median ignores; no garbage collection inside a round.
# Runs under the MicroPython unix port (from a .mpy build: bytecode or native) and CPython.
#   argv[1]: rounds (default 801)
import gc
import sys

import floor
from coap import client, msg, msgcore, inforespenc, cborenc
from coap import options as o

from mpbench import ticks_us, ticks_diff

MP = sys.implementation.name == "micropython"
ROUNDS = int(sys.argv[1]) if len(sys.argv) > 1 else 801
BATCH = 32

SRV = ("192.0.2.10", 5683)
GRP = ("239.1.0.3", 5683)
T = b"\x73\x03"
PH = inforespenc.to_tim(msg.encode(msg.NON, msg.GET, 0, b"\x7b", [(o.OBSERVE, 0), (o.URI_PATH, "r")]))
LAST = inforespenc.to_tim(msg.encode(msg.NON, msg.CONTENT, 0, b"\x7b", [(o.OBSERVE, 10), (o.CONTENT_FORMAT, 60)],
                             cborenc.dumps("1234")))
NOTIF = bytes.fromhex("514512347b610b613cff35363738")  # the §4 notification (14 bytes)


from tools.rng import Rng  # noqa: E402  (the repository root is on MICROPYPATH)


def notifications(extra=()):
    """256 multicast notifications on T (Observe 11.., Content-Format 60, CBOR "5678"), Message IDs apart."""
    out = [None] * 256
    for k in range(256):
        out[k] = msg.encode(msg.NON, msg.CONTENT, (1000 + k) & 0xFFFF, T,
                            [(o.OBSERVE, 11 + k), (o.CONTENT_FORMAT, 60)] + list(extra), cborenc.dumps("5678"))
        if k & 15 == 0:
            gc.collect()
    return out


N_CB = [0]


def _cb(payload, cf, v, via):
    N_CB[0] += 1


def grouped(pm=None, view=True):
    """A client with one group observation on T at GRP (the §3.2 informative response, token T)."""
    c = client.Client(rng=Rng(), log=lambda s: None, pm=pm)
    kw = {} if view else {"view": False}
    ob = c.observe(SRV, [(o.URI_PATH, "r")], _cb, 0, **kw)
    reg = msg.decode(c.take()[0][0])
    pl = inforespenc.build(PH, LAST, T, bytes((192, 0, 2, 10)), 5683, bytes((239, 1, 0, 3)), 5683)
    c.receive(msg.encode(msg.ACK, msg.SERVICE_UNAVAILABLE, reg.mid, ob.token,
                         [(o.CONTENT_FORMAT, o.CF_INFORMATIVE)], pl), SRV, 0)
    c.take()
    assert ob.state == client.GROUP
    return c, ob


def rewind(c, ob):
    """Before each batch: the baseline below the batch's Observe numbers, the dedup ring cleared
    (the batches replay the same Message IDs), nothing queued."""
    ob.value = 10
    dd = c._dd  # (an empty dedup slot: no source)
    for k in range(0, len(dd), 3):
        dd[k] = None
    if c.out:
        c.out = []


def main():
    L = notifications()
    m_core = msgcore.Msg()
    m_full = msg.Msg()
    parse = floor.parse
    c, ob = grouped()
    try:
        c_nv, ob_nv = grouped(view=False)
    except TypeError:  # no view option yet
        c_nv = ob_nv = None
    pm_on = True
    try:
        from coap import pm as pmmod
        LP = notifications([(o.PM, 0x20)])
        c_pm, ob_pm = grouped(pm=pmmod.PMEndpoint("client", 0))
        pmep = pmmod.PMEndpoint("client", 0)
    except ImportError:
        pm_on = False

    def floor_(L):
        for d in L:
            parse(d)

    def board(L):
        m = m_core
        for d in L:
            m.decode(d)
            m.observe
            m.cf

    def full(L):
        m = m_full
        for d in L:
            m.decode(d)
            m.token()
            m.uint(6)
            m.uint(12)
            m.payload()

    def hot(cl):
        def f(L):
            for d in L:
                cl.receive(d, SRV, 2, GRP)  # (a method call allocates no bound method)
        return f

    def pm_rx(L):
        for d in L:
            pmep.rx(GRP, 0x20, 2)

    def pm_tx(L):
        for d in L:
            pmep.tx(SRV, 2)

    paths = [("board_decode", L, board, None), ("full_decode", L, full, None),
             ("hot", L, hot(c), (c, ob))]
    if c_nv is not None:
        paths.append(("hot_noview", L, hot(c_nv), (c_nv, ob_nv)))
    if pm_on:
        paths.append(("hot_pm", LP, hot(c_pm), (c_pm, ob_pm)))
        paths.append(("pm_rx", L, pm_rx, None))
        paths.append(("pm_tx", L, pm_tx, None))

    def timed(fn, L, st):
        if st is not None:
            rewind(*st)
        fn(L)  # an untimed pass first: caches warm, as in a steady stream
        if st is not None:
            rewind(*st)
        t0 = ticks_us()
        fn(L)
        return ticks_diff(ticks_us(), t0)

    def chunks(L):
        return [L[k:k + BATCH] for k in range(0, len(L), BATCH)]
    CH = {}
    for name, LL, fn, st in paths:
        CH[id(LL)] = chunks(LL)
    CH[id(L)] = chunks(L)

    ratios = {}  # per path: ratio x 1000 per round (ints: a float is a heap object on a board)
    for name, _, _, _ in paths:
        ratios[name] = [0] * ROUNDS
    fl_ns = [0] * ROUNDS  # the floor, ns per datagram
    done = 0
    for _ in range(2):  # warm-up
        timed(floor_, L, None)
        for name, LL, fn, st in paths:
            timed(fn, LL, st)
    ts = [0] * len(paths)
    for r in range(ROUNDS):
        q = r % (len(L) // BATCH)
        if gc.mem_free() < 65536:
            gc.collect()
        gc.disable()  # (a round allocates 20 KB at most)
        f0 = timed(floor_, CH[id(L)][q], None)
        for k in range(len(paths)):
            name, LL, fn, st = paths[k]
            ts[k] = timed(fn, CH[id(LL)][q], st)
        f1 = timed(floor_, CH[id(L)][q], None)
        gc.enable()
        if f0 + f1 <= 0:
            continue
        fl_ns[done] = 500 * (f0 + f1) // BATCH
        for k in range(len(paths)):
            ratios[paths[k][0]][done] = 2000 * ts[k] // (f0 + f1)
        done += 1
    for name, LL, fn, st in paths:  # every datagram of a hot path reached the app
        if st is not None:
            sc = st[0].stats
            assert sc.delivered == sc.received - 1 + 1 and not sum(sc.dropped.values()) and not sc.duplicates, (name, sc)
    for name, _, _, _ in paths:
        xs = sorted(ratios[name][:done])
        print("%s_ratio_med=%.2f" % (name, xs[done // 2] / 1000))
        print("%s_ratio_min=%.2f" % (name, xs[0] / 1000))
        print("%s_ratio_max=%.2f" % (name, xs[-1] / 1000))
    xs = sorted(fl_ns[:done])
    print("floor_us_med=%.2f" % (xs[done // 2] / 1000))
    print("rounds=%d" % done)
    # heap bytes allocated per datagram (gc disabled across one pass of 256)
    if hasattr(gc, "mem_alloc"):
        for name, LL, fn, st in [("floor", L, floor_, None)] + paths:
            if st is not None:
                rewind(*st)
            fn(LL)  # warm (first-time allocations: peer entries, ...)
            if st is not None:
                rewind(*st)
            gc.collect()
            gc.disable()
            a = gc.mem_alloc()
            fn(LL)
            b = gc.mem_alloc()
            gc.enable()
            print("%s_alloc=%.1f" % (name, (b - a) / len(LL)))


main()
