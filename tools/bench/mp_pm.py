# PMEndpoint cost per message (issue 5): runs under MicroPython (unix port) and CPython. key=value lines.
import gc

from coap import pm

from mpbench import ticks_us, ticks_diff


def one(role, pattern, rounds=2000):
    e = pm.PMEndpoint(role, pattern=pattern)
    peer = ("192.0.2.7", 5683)
    t = 0
    for k in range(200):  # warm up: the peer entry, a closed block, RTT samples
        v = e.tx(peer, t, 0x20)
        e.rx(peer, v, t + 40)
        t += 50
    gc.collect()
    try:
        free0 = gc.mem_free()
    except AttributeError:
        free0 = 0
    t0 = ticks_us()
    for k in range(rounds):
        v = e.tx(peer, t, 0x20)
        e.rx(peer, v, t + 40)
        t += 50
    us = ticks_diff(ticks_us(), t0)
    try:
        alloc = free0 - gc.mem_free()
    except AttributeError:
        alloc = 0
    gc.collect()
    f1 = gc.mem_free() if hasattr(gc, "mem_free") else 0
    e2 = pm.PMEndpoint(role, pattern=pattern)
    e2.tx(("192.0.2.8", 5683), 0)
    per_peer = (f1 - gc.mem_free()) if hasattr(gc, "mem_free") else 0
    name = "%s%d" % (role, pattern)
    print("%s_us=%.2f" % (name, us / (2.0 * rounds)))
    print("%s_alloc_bytes=%.2f" % (name, alloc / (2.0 * rounds)))
    print("%s_endpoint_one_peer_bytes=%d" % (name, per_peer))


for role in ("client", "server"):
    for pattern in (0, 1):
        one(role, pattern)
