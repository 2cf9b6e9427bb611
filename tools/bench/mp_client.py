# Board-client benchmark body (issue 3 budgets). Runs under the MicroPython unix port (from .mpy)
# and CPython. Prints key=value lines. argv[1]: "import", "obs", "hold8" or "hot".
import gc
import sys
import time

MP = sys.implementation.name == "micropython"
mode = sys.argv[1] if len(sys.argv) > 1 else "hot"

# (self-contained on purpose, unlike the other mp_*.py: importing mpbench first would move where the
# qstrs of `import coapcast` land in the qstr pools and so the measured import heap)
try:
    ticks_us, ticks_diff = time.ticks_us, time.ticks_diff
except AttributeError:
    def ticks_us():
        return int(time.perf_counter() * 1e6)

    def ticks_diff(a, b):
        return a - b


def alloc():
    gc.collect()
    return gc.mem_alloc() if hasattr(gc, "mem_alloc") else 0


if mode == "import":
    if MP:  # the qstr pool before and after (the import interns the modules' names; pools grow in steps)
        import micropython
        micropython.qstr_info()
    a0 = alloc()
    import coapcast  # noqa: F401  (client core, driver, codec, options, CBOR, inforesp, feedback, ...)
    a1 = alloc()
    if MP:
        micropython.qstr_info()
    print("import_heap_bytes=%d" % (a1 - a0))
    print("import_total_alloc=%d" % a1)
    raise SystemExit(0)

from coap import client, msg, inforespenc, cborenc  # noqa: E402
from coap import options as o  # noqa: E402

SRV = ("192.0.2.10", 5683)
SRV_RAW = bytes((192, 0, 2, 10))
PH = inforespenc.to_tim(msg.encode(msg.NON, msg.GET, 0, b"\x7b", [(o.OBSERVE, 0), (o.URI_PATH, "r")]))
LAST = inforespenc.to_tim(msg.encode(msg.NON, msg.CONTENT, 0, b"\x7b", [(o.OBSERVE, 10), (o.CONTENT_FORMAT, 60)],
                             cborenc.dumps("1234")))


from tools.rng import Rng  # noqa: E402  (after the import figure; the repository root is on the path)


def make_group(c, k, now, shared=False):
    """One group observation: registration, then the §4 informative response with token T_k and group k
    (or all in one group when shared)."""
    s = c.observe(SRV, [(o.URI_PATH, "r%d" % k)], _cb, now)
    out = c.take()
    reg = msg.decode(out[0][0])
    grp = bytes((239, 1, 0, 0 if shared else k))
    pl = inforespenc.build(PH, LAST, bytes((0x70 + k, k)), SRV_RAW, 5683, grp, 5683)
    c.receive(msg.encode(msg.ACK, msg.SERVICE_UNAVAILABLE, reg.mid, s.token,
                      [(o.CONTENT_FORMAT, o.CF_INFORMATIVE)], pl), SRV, now)
    c.take()
    return s


N_CB = [0]


def _cb(payload, cf, v, via):
    N_CB[0] += 1


if mode in ("obs", "hold8"):
    n = 8
    c = client.Client(rng=Rng(), log=lambda s: None)
    obs = [make_group(c, 0, 0)]  # the first one may grow shared tables; count from the second
    a0 = alloc()
    for k in range(1, n + 1):
        obs.append(make_group(c, k, 0))
    a1 = alloc()
    ok = all(x.state == client.GROUP for x in obs)
    for k in range(n + 1):  # every observation still gets its notification
        c.receive(msg.encode(msg.NON, msg.CONTENT, 100 + k, bytes((0x70 + k, k)), [(o.OBSERVE, 11)], b"x"),
               SRV, 1, ("239.1.0.%d" % k, 5683))
    ok = ok and N_CB[0] == 2 * (n + 1)
    print("per_group_observation_bytes=%d" % ((a1 - a0) // n))
    c2 = client.Client(rng=Rng(), log=lambda s: None)
    keep = [make_group(c2, 0, 0, True)]
    b0 = alloc()
    for k in range(1, n + 1):
        keep.append(make_group(c2, k, 0, True))
    print("per_group_observation_shared_group_bytes=%d" % ((alloc() - b0) // n))
    c2 = keep = None
    print("hold_ok=%d" % (1 if ok else 0))
    print("heap_used=%d" % alloc())
    raise SystemExit(0)

# mode "hot": one multicast notification in -> callback, on an established group observation
hist = [0] * 1001  # histogram of us (the last bucket: >= 1000 us), allocated before the heap fragments
notifs = [None] * 256
c = client.Client(rng=Rng(), log=lambda s: None)
obs = [make_group(c, k, 0) for k in range(8)]
target = obs[3]
T3 = bytes((0x73, 3))
GRP = ("239.1.0.3", 5683)
for v in range(11, 11 + 256):
    notifs[v - 11] = (msg.encode(msg.NON, msg.CONTENT, (1000 + v) & 0xFFFF, T3,
                             [(o.OBSERVE, v), (o.CONTENT_FORMAT, 60)], cborenc.dumps("5678")))
    if v & 15 == 0:
        gc.collect()  # keep the heap from fragmenting around the kept messages
ROUNDS = 8


def _forget_mids(c):
    """Clear the client's duplicate-detection ring (the rounds replay the same Message IDs)."""
    dd = c._dd  # (an empty slot has no source)
    for k in range(0, len(dd), 3):
        dd[k] = None


gc.collect()

j = 0
for rep in range(ROUNDS):
    for i in range(len(notifs)):
        d = notifs[i]
        t0 = ticks_us()
        c.receive(d, SRV, 2, GRP)
        dt = ticks_diff(ticks_us(), t0)
        hist[dt if dt < 1000 else 1000] += 1
        j += 1
    target.value = 10  # rewind the baseline for the next round (128-s rule not involved)
    _forget_mids(c)
assert N_CB[0] == 8 + ROUNDS * len(notifs), N_CB[0]


def pct(p):
    k = 0
    acc = 0
    while acc + hist[k] <= j * p and k < 1000:
        acc += hist[k]
        k += 1
    return k


print("hot_median_us=%d" % pct(0.5))
print("hot_p90_us=%d" % pct(0.9))
if hasattr(gc, "mem_alloc"):
    target.value = 10
    _forget_mids(c)
    gc.collect()
    gc.disable()
    a = gc.mem_alloc()
    for i in range(len(notifs)):
        c.receive(notifs[i], SRV, 2, GRP)
    b = gc.mem_alloc()
    gc.enable()
    mv = gc.mem_alloc()
    gc.disable()
    pv = memoryview(notifs[0])[10:]  # what the payload view itself costs
    pv_cost = gc.mem_alloc() - mv
    gc.enable()
    print("hot_alloc_bytes=%.1f" % ((b - a) / len(notifs)))
    print("payload_view_bytes=%d" % pv_cost)
