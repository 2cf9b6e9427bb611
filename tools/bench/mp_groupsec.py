# Protected group observations on the board (bench_groupsec.py runs it; the data it prepends: INFO and
# PLAIN_INFO, an informative response's payload with / without Group OSCORE; NOTIFS, the server's protected
# multicast notifications in order; PLAIN, the same notification unprotected; OSC, GRP: the board's keys).
# One multicast notification, datagram -> the app's callback through the client core (coap.client):
#   plain   the unprotected mode (the baseline)
#   prot    coap.groupsec with the board's verifier (coap.sigverify, per-key tables built at the join)
#   nosig   the same with a verifier that accepts at once: all but the curve arithmetic
# each timed in the same round (rounds interleaved, medians), as µs (M0: instructions) and as the ratio to
# plain; the bytes a protected notification allocates; the heap the protected mode takes (from .mpy).
import gc
import sys

M0 = sys.platform == "qemu"
if M0:  # -icount shift=0: one instruction per virtual ns, so one µs of ticks_us() is 1000 instructions
    from time import ticks_us, ticks_diff
    UNIT, SCALE = "insns", 1000
else:
    from mpbench import ticks_us, ticks_diff
    UNIT, SCALE = "us", 1
MP = sys.implementation.name == "micropython"
SRV = ("127.0.0.1", 5683)
GRP_EP = ("224.0.1.187", 5683)


def _free():
    gc.collect()
    return gc.mem_free() if MP else 0


class Accept:
    def __call__(self, alg, pub):
        return self

    def verify(self, m, s):
        return True


def plain_core():
    from coap import client
    c = client.Client()
    got = []
    c.join(PLAIN_INFO, lambda p, cf, v, via: got.append(v), 0)
    return c, got


def prot_core(verifier=None):
    from coap import client, groupsec
    g = dict(GRP)
    if verifier is not None:
        g["verifier"] = verifier
    ctx, grp = groupsec.contexts(OSC, g)
    sec = groupsec.GroupSec(ctx, grp, steps=None)
    c = client.Client(sec=sec)
    got = []
    c.join(sec.join_data(INFO), lambda p, cf, v, via: got.append(v), 0)
    return c, got


def heap():
    import coapcast  # noqa: F401  (what a board loads anyway)
    from coap import client  # noqa: F401
    f0 = _free()
    from coap import groupsec, oscore, grouposcore, sigverify  # noqa: F401
    f1 = _free()
    print("import_heap=%d" % (f0 - f1))
    c, got = prot_core()
    f2 = _free()
    print("state_heap=%d" % (f1 - f2))   # contexts, the verifier's per-key tables, the observation
    c.receive(NOTIFS[0], SRV, 1, GRP_EP)
    assert got[-1] > 0, "the notification must verify"
    f3 = _free()
    print("after_first_heap=%d" % (f2 - f3))
    print("total_heap=%d" % (f0 - f3))


def timing():
    pc, pgot = plain_core()
    sc, sgot = prot_core()
    nc, ngot = prot_core(Accept())
    from coap import msgcore
    m = msgcore.Msg().decode(PLAIN)
    rounds = 3 if M0 else 9
    k = 4 if M0 else 20
    tok = PLAIN[4:4 + m.tkl]
    pl = bytes(m.payload())
    res = {"plain": [], "prot": [], "nosig": []}
    t = 10
    for r in range(rounds):
        plains = [msgcore.encode(1, 0x45, 0x100 + r * k + j, tok, [(6, 1000 + r * k + j), (12, 60)], pl)
                  for j in range(k)]
        gc.collect()
        t0 = ticks_us()
        for j in range(k):
            pc.receive(plains[j], SRV, t, GRP_EP)
        res["plain"].append(ticks_diff(ticks_us(), t0) * SCALE / k)
        d = NOTIFS[1 + r]
        t0 = ticks_us()
        sc.receive(d, SRV, t, GRP_EP)
        res["prot"].append(ticks_diff(ticks_us(), t0) * SCALE)
        t0 = ticks_us()
        nc.receive(d, SRV, t, GRP_EP)
        res["nosig"].append(ticks_diff(ticks_us(), t0) * SCALE)
        t += 10
    assert len(pgot) == 1 + rounds * k and len(sgot) == len(ngot) == 1 + rounds, (len(pgot), len(sgot), len(ngot))
    for name in ("plain", "prot", "nosig"):
        v = sorted(res[name])
        print("%s_%s=%.1f" % (name, UNIT, v[rounds // 2]))
        if name != "plain":
            rs = sorted(res[name][i] / res["plain"][i] for i in range(rounds))
            print("%s_ratio=%.0f" % (name, rs[rounds // 2]))
    if MP and hasattr(gc, "mem_alloc") and not M0:
        gc.collect()
        gc.disable()
        a = gc.mem_alloc()
        sc.receive(NOTIFS[1 + rounds], SRV, t, GRP_EP)
        print("prot_alloc=%d" % (gc.mem_alloc() - a))
        gc.enable()
    print("payload=%d" % len(m.payload()))
    print("runtime=%s maxsize=%d" % (sys.implementation.name, sys.maxsize))
    print("done=1")


if "heap" in getattr(sys, "argv", ()) or globals().get("MODE") == "heap":
    heap()
else:
    timing()
