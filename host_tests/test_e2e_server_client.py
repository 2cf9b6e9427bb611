# End to end (issues 3 + 4): the desktop server (python -m tools.server) and two firmware clients
# under the MicroPython unix port. Both register, get the informative response, receive the same
# multicast notifications on loopback, answer the server's MRFD poll; the server's rough count sees them.
import json
import os
import signal
import subprocess
import sys
import time

from helpers import ROOT, micropython_bin, free_port, FIRMWARE

CLIENT = r'''
import sys, coapcast
from coap.compat import ticks_ms, ticks_diff
uri, want, limit = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
got = []
def cb(p, cf, v, via):
    got.append((v, via, bytes(p)))
    print("notif", v, via, bytes(p))
c = coapcast.Client(iface="127.0.0.1", leisure_ms=300)
o = c.observe(uri, cb)
t0 = ticks_ms()
while len(got) < want and ticks_diff(ticks_ms(), t0) < limit:
    c.service(20)
s = c.stats
print("stats", s.received, s.delivered, s.duplicates, s.reordered, s.feedback, sum(s.dropped.values()))
'''


def test_server_and_two_firmware_clients(tmp_path):
    port, gport = free_port(), free_port()
    stats = tmp_path / "server.json"
    srv = subprocess.Popen([sys.executable, "-m", "tools.server", "--bind", "127.0.0.1", "--port", str(port),
                            "--mc-if", "127.0.0.1", "--group-port", str(gport), "--interval", "0.3",
                            "--update", "/r=0.4", "--wait", "1.5", "--m", "2", "--every", "2",
                            "--stats-json", str(stats)], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           text=True, start_new_session=True)
    script = tmp_path / "client.py"
    script.write_text(CLIENT)
    env = dict(os.environ, MICROPYPATH=".frozen:" + FIRMWARE)
    try:
        time.sleep(0.8)
        clients = [subprocess.Popen([micropython_bin(), "-X", "heapsize=192k", str(script),
                                     "coap://127.0.0.1:%d/r" % port, "12", "15000"], env=env, cwd=ROOT,
                                    stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) for _ in range(2)]
        outs = [c.communicate(timeout=40)[0] for c in clients]
    finally:
        srv.send_signal(signal.SIGINT)
        log = srv.communicate(timeout=15)[0]
    got = []
    for out in outs:
        assert "Traceback" not in out, out
        notes = [ln.split() for ln in out.splitlines() if ln.startswith("notif")]
        assert len(notes) >= 12, out
        assert all(n[2] == "1" for n in notes), out          # all via the group observation
        obs = [int(n[1]) for n in notes]
        assert obs == sorted(obs) and len(set(obs)) == len(obs), obs
        st = [ln.split() for ln in out.splitlines() if ln.startswith("stats")][0]
        assert st[3] == "0" and st[4] == "0" and st[6] == "0", st   # no duplicates, reordering or drops
        got.append(obs)
    rep = json.load(open(stats))
    g = [x for x in rep["groups"] if x["path"] == "/r"][0]
    sent = [int(o) for o, _ in g["notifications"]]
    for obs in got:
        # everything sent after this client's baseline (its last_notif) reached it, once
        assert obs[1:] == [o for o in sent if obs[0] < o <= obs[-1]], (obs, sent)
    assert g["confirmations"] >= 2, g        # both clients answered an MRFD poll (Q=0 with M=2)
    assert "COUNT 2" in log, log[-3000:]
