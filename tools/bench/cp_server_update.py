# Issue 15, the server side (CPython, where the server runs): one resource update of a group
# observation -> the multicast notification queued, as a ratio to the encoding floor
# (tools/bench/floor.py encode: the same NON 2.05, token, Observe, Content-Format, payload into a
# bytearray), interleaved in this process like mp_hot.py. Also counted: encodes and datagrams per
# update (encode once, send once). Prints key=value lines.
import logging
import sys
import time

from coap import msg
from tools.bench import floor
from tools.server.core import ServerCore, Config
from tools.server.resources import Resource

ROUNDS = int(sys.argv[1]) if len(sys.argv) > 1 else 401
BATCH = 64


def main():
    logging.getLogger("coapcast.server").setLevel(logging.WARNING)
    core = ServerCore([Resource("/r", b"\x645678", 60)],
                      Config(grp=("224.0.1.187", 5683), srv_addr="192.0.2.10", notify_interval_ms=0))
    core.start_group("/r", 0)
    core.take()
    g = core.group_for("/r")
    now = [1]
    buf = bytearray()
    tok = bytes(g.token)

    def update(k):
        for _ in range(k):
            now[0] += 1
            core.update("/r", b"\x645678", now[0])
            core.out.clear()

    def enc(k):
        for i in range(k):
            floor.encode(buf, i & 0xFFFF, tok, 1000 + i, 60, b"\x645678")

    # encode once, send once: count msg.encode calls and datagrams over 100 updates
    calls = [0]
    real = msg.encode

    def counting(*a, **kw):
        calls[0] += 1
        return real(*a, **kw)
    import tools.server.group as group
    group.msg.encode = counting
    try:
        sent0 = core.stats["mc_tx"]
        update(100)
        print("encodes_per_update=%.2f" % (calls[0] / 100))
        print("datagrams_per_update=%.2f" % ((core.stats["mc_tx"] - sent0) / 100))
    finally:
        group.msg.encode = real
    ratios = []
    for _ in range(ROUNDS):
        t0 = time.perf_counter()
        enc(BATCH)
        t1 = time.perf_counter()
        update(BATCH)
        t2 = time.perf_counter()
        enc(BATCH)
        t3 = time.perf_counter()
        ratios.append((t2 - t1) / (((t1 - t0) + (t3 - t2)) / 2))
    ratios.sort()
    print("server_update_ratio_med=%.2f" % ratios[len(ratios) // 2])
    print("server_update_ratio_min=%.2f" % ratios[0])
    print("server_update_ratio_max=%.2f" % ratios[-1])


main()
