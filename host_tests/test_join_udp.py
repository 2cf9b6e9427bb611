# Appendix A.1 end to end over UDP on loopback: the server (python -m tools.server --discovery)
# publishes ph_req, last_notif and tp_info per group observation; a board (the firmware client under
# the MicroPython unix port) GETs them and joins the group observation with coapcast.Client.join(),
# sending no registration; it receives the multicast notifications and answers the server's MRFD
# polls, which the server's rough counting sees (§5.1, §5.2).
import json
import time

from coap import msg, inforesp, cbor
from coap import options as o

from proxy_procs import Proc, free_port, group_addr, micropython_bin, micropython_env, no_traceback, request, server, stop

BOARD = r'''
import sys, coapcast
uri, want, limit = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
from coap.compat import ticks_ms, ticks_diff
got = []
def cb(p, cf, v, via):
    got.append(v)
    print("notif", v, via, bytes(p).decode())
c = coapcast.Client("127.0.0.1", 0, iface="127.0.0.1", leisure_ms=200)
try:
    c.join("coap://127.0.0.1:1/ps/topics", cb, timeout_ms=300)
except OSError as e:
    print("nodiscovery", e)
o = c.join(uri, cb)
print("joined", o.state, len(c.mc))
t0 = ticks_ms()
while len(got) < want and ticks_diff(ticks_ms(), t0) < limit:
    c.service(20)
c.run(500)
s = c.stats
print("done", o.state, s.delivered, s.reordered, s.feedback, sum(s.dropped.values()))
'''


def test_board_joins_from_discovery_and_is_counted(tmp_path):
    sport, gport = free_port(), free_port()
    grp = group_addr()
    stats = tmp_path / "server.json"
    # M = 32 > COUNT: Q = 0, every client answers every poll (§5.2.1), the test does not depend on a draw
    srv = server(sport, grp, gport, "--policy", "start", "--discovery", "--m", "32", "--wait", "1", "--every", "2",
                 "--stats-json", str(stats))
    script = tmp_path / "board.py"
    script.write_text(BOARD)
    b = None
    try:
        # the discovery document: {"/r": the informative response's payload}
        r = request(("127.0.0.1", sport), msg.GET, [(o.URI_PATH, "ps"), (o.URI_PATH, "topics")])
        assert r.code == msg.CONTENT and r.uint(o.CONTENT_FORMAT) == 60
        doc = cbor.loads(bytes(r.payload()))
        assert list(doc) == ["/r"]
        info = inforesp.parse(doc["/r"])
        assert (info.cli_addr, info.cli_port) == (bytes(int(x) for x in grp.split(".")), gport)
        assert (info.srv_addr, info.srv_port) == (bytes([127, 0, 0, 1]), sport)
        r = request(("127.0.0.1", sport), msg.GET, [(o.URI_PATH, "ps"), (o.URI_PATH, "topics"),
                                                    (o.URI_QUERY, "href=/nothing")])
        assert cbor.loads(bytes(r.payload())) == {}
        b = Proc([micropython_bin(), "-X", "heapsize=192k", str(script),
                  "coap://127.0.0.1:%d/ps/topics?href=/r" % sport, "8", "15000"], env=micropython_env())
        b.wait_for("joined")
        for k in range(10):  # the value changes after the board joined (the first one opens a counting round)
            request(("127.0.0.1", sport), msg.PUT, [(o.URI_PATH, "r")], b"v%d" % k)
            time.sleep(0.25)
        b.wait_for("done", 30)
    finally:
        stop(b, srv)
    out = no_traceback(b, server=srv)
    assert b.grep("nodiscovery"), out                         # no answer: a clear OSError
    assert b.grep("joined")[0] == ["2", "1"], out             # GROUP, one group socket
    notes = b.grep("notif")
    assert len(notes) >= 8, out
    assert notes[0][1] == "1" and all(n[1] == "1" for n in notes), out   # last_notif, then multicast
    assert [n[2] for n in notes[1:]] == ["v%d" % k for k in range(len(notes) - 1)], out
    vals = [int(n[0]) for n in notes]
    assert vals == sorted(vals) and len(set(vals)) == len(vals), vals
    done = b.grep("done")[0]
    assert done[0] == "2" and done[2] == "0" and int(done[3]) >= 1 and done[4] == "0", done  # answered polls
    rep = json.load(open(stats))
    g = [x for x in rep["groups"] if x["path"] == "/r"][0]
    assert rep["counters"]["registrations"] == 0          # the board never registered
    assert g["confirmations"] >= 1, g                      # ... yet the rough counting saw it
