# A board with protected group observations (draft -04 §6-7) for the MicroPython unix port:
# coapcast.Client(oscore=...) with the keys module python -m tools.oscore_keys wrote (cN_config.py), run
# by tools/soak/oscore.py. Re-observes when an observation ends; prints one line per event.
# argv: uri duration_ms keys_module [k=v client config...]; k: steps (signature-check units per loop
# turn, "none": at once), pm_oscore (outer/inner/both), pm (0/1), proxy (HOST:PORT: observe through that
# forward proxy, draft §8-9), ltmr (the Listen-To-Multicast-Responses number), and coapcast.Client keywords.
# Lines: "O t" observe sent, "N t observe via payload", "E t reason" ended, "L t text" a log line,
# "S received delivered security inforesp source token stale" (core counters),
# "X verified informative failed_informative fields_ignored busy duplicates" (coap.groupsec),
# "R reason=n ..." rejections by reason, "P line" PM figures per flow, "H heap" after gc.collect.
import sys, gc
import coapcast, mp_args
from coap.compat import ticks_ms, ticks_diff
uri = sys.argv[1]
dur = int(sys.argv[2])
keys = __import__(sys.argv[3])
cfg = mp_args.config(sys.argv[4:])
osc = {"OSCORE": keys.OSCORE, "GROUP_OSCORE": keys.GROUP_OSCORE, "OSCORE_SEQ_FILE": None,
       "PM_OSCORE": cfg.pop("pm_oscore", "outer"), "OSCORE_STEPS": cfg.pop("steps", 8)}
prx = cfg.pop("proxy", None)
if "ltmr" in cfg:
    from coap import options
    options.configure(ltmr=cfg.pop("ltmr"))
if prx is not None:
    h, p = prx.rsplit(":", 1)
    prx = (h, int(p))
t0 = ticks_ms()
def now():
    return ticks_diff(ticks_ms(), t0)
c = coapcast.Client("127.0.0.1", 0, iface="127.0.0.1", log=lambda s: print("L", now(), s), oscore=osc, **cfg)
st = {"retry": None}
def cb(p, cf, v, via):
    print("N", now(), v, via, bytes(p).decode())
def end(o, why):
    print("E", now(), why)
    st["retry"] = ticks_ms()
def observe():
    st["retry"] = None
    o = c.observe(uri, cb, end, proxy=prx)
    print("O", now(), bytes(o.token).hex())
observe()
while now() < dur:
    c.service(20)
    r = st["retry"]
    if r is not None and ticks_diff(ticks_ms(), r) >= 1000:
        observe()
gc.collect()
s = c.stats
d = s.dropped
x = c.sec.stats
print("S", s.received, s.delivered, d["security"], d["inforesp"], d["source"], d["token"], d["stale"])
print("X", x.verified, x.informative, x.failed_informative, x.fields_ignored, x.busy, x.duplicates)
rj = c.sec.rejects()
print("R " + " ".join("%s=%d" % (k, rj[k]) for k in rj))
if c.pm is not None:
    for line in c.pm.lines():
        print("P", line)
print("H", gc.mem_alloc())
