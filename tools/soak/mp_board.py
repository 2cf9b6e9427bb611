# The soak board: a board app for the MicroPython unix port (coapcast.Client), run by
# tools/soak/board.py. Re-observes when an observation ends; prints one line per event.
# argv: uri duration_ms retry_ms quiet(0/1) [k=v client config...]
# Without nftables, mc_loss=P drops P% of the group datagrams on arrival (the seeded xorshift of
# tools/rng.py) and link_file=PATH drops every datagram while PATH exists: the board-side stand-ins
# for a lossy / cut link.
# Lines: "O t" observe sent, "N t v via" notification, "E t reason" ended, "H t n alloc" heap after
# gc.collect (every heap_every notifications when set, and at the end), "S ..." final stats.
import sys, gc
import coapcast, mp_args
from coap.compat import ticks_ms, ticks_diff
uri = sys.argv[1]
dur = int(sys.argv[2])
retry_ms = int(sys.argv[3])
quiet = sys.argv[4] == "1"
cfg = mp_args.config(sys.argv[5:])
heap_every = cfg.pop("heap_every", 0)
mc_loss = cfg.pop("mc_loss", 0)      # % of group datagrams dropped on arrival (no nftables: tests)
link_file = cfg.pop("link_file", "") # while this file exists, every datagram in is dropped (link down)
t0 = ticks_ms()
def now():
    return ticks_diff(ticks_ms(), t0)
c = coapcast.Client("127.0.0.1", 0, iface="127.0.0.1", log=lambda s: print("L", now(), s), **cfg)
lost = [0]
if mc_loss or link_file:
    import os
    from tools.rng import Rng
    rng = Rng(12345)
    core_recv = c.core.receive
    def impaired(data, src, t, grp=None):
        if link_file:
            try:
                os.stat(link_file)
                lost[0] += 1
                return
            except OSError:
                pass
        if grp is not None and mc_loss and rng.getrandbits(32) % 100 < mc_loss:
            lost[0] += 1
            return
        core_recv(data, src, t, grp)
    c.core.receive = impaired
st = {"retry": None, "n": 0, "obs": None}
def cb(p, cf, v, via):
    st["n"] += 1
    if not quiet:
        print("N", now(), v, via)
    if heap_every and st["n"] % heap_every == 0:
        gc.collect()
        print("H", now(), st["n"], gc.mem_alloc())
def end(o, why):
    print("E", now(), why)
    st["retry"] = ticks_ms()
def observe():
    st["retry"] = None
    try:
        st["obs"] = c.observe(uri, cb, end)
        print("O", now())
    except OSError as e:
        print("E", now(), "observe failed", e)
        st["retry"] = ticks_ms()
observe()
while now() < dur:
    c.service(20)
    r = st["retry"]
    if r is not None and ticks_diff(ticks_ms(), r) >= retry_ms:
        observe()
gc.collect()
s = c.stats
print("H", now(), st["n"], gc.mem_alloc())
print("S", s.received, s.delivered, s.duplicates, s.reordered, s.feedback, s.dropped["source"], s.dropped["token"],
      s.dropped["stale"], s.dropped["malformed"], c.driver.errors, lost[0], getattr(c.driver, "rxsize", 1280))
