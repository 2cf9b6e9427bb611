# The client core at a tight heap (run by tools/soak/board.py mem_core, from the mpy build): n
# multicast notifications with MRFD Q=3 polls fed straight into coap.client.Client; prints the heap
# after gc.collect before and after, the peak, MemoryErrors and the counters on one "MEM" line.
# argv: n, the informative response (hex), the notification template (hex), the Observe offset.
import gc, sys
from coap import client, msg
from coap import options as o
from tools.rng import Rng
N = int(sys.argv[1])
INFO = bytes.fromhex(sys.argv[2])
TPL = bytearray(bytes.fromhex(sys.argv[3]))   # NON 2.05, T, Observe (3 bytes), CF, MRFD, payload
OBS = int(sys.argv[4])                         # offset of the 3 Observe value bytes
SRV = ("192.0.2.10", 5683)
GRP = ("233.252.0.23", 5683)

n = [0]
def cb(payload, cf, v, via):
    n[0] += 1
c = client.Client(rng=Rng(), leisure_ms=50, log=lambda s: None)
ob = c.observe(SRV, [(11, "r")], cb, 0)
reg = msg.Msg()
reg.decode(c.take()[0][0])
c.receive(msg.empty(2, reg.mid), SRV, 1)
info = bytearray(INFO)
info[4:4 + len(ob.token)] = ob.token          # the registration's token
c.receive(bytes(info), SRV, 2)
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
    c.receive(TPL, SRV, now, GRP)
    c.tick(now)
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
