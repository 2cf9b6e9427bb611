# The proxy's fault list over real UDP on loopback (issue 14 item 5), with boards under the
# MicroPython unix port: the server killed and restarted behind the proxy (the proxy registers again
# after the silence, and re-informs its clients of the new T); a board that vanishes (its CON
# notifications time out, it is removed, the proxy leaves the group: /proc/net/igmp); the server's
# §2.5 cancellation reaching the boards through the proxy; bad datagrams counted, never a crash.
import json
import random
import signal
import socket
import time

from coap import msg
from coap import options as o

from proxy_procs import BOARD, board, free_port, group_addr, joined, no_traceback, outputs, proxy, request, server, stop

URI = "coap://sensor.example/r"


def _put(sport, v):
    assert request(("127.0.0.1", sport), msg.PUT, [(o.URI_PATH, "r")], v).code == msg.CHANGED


class Setup:
    """Ports, a group of our own, the board script, the server and the proxy (sensor.example = the server)."""

    def __init__(self, tmp_path, *proxy_args):
        self.sport, self.gport, self.pport = free_port(), free_port(), free_port()
        self.grp = group_addr()
        self.script = tmp_path / "board.py"
        self.script.write_text(BOARD)
        self.stats = tmp_path / "proxy.json"
        self.srv = server(self.sport, self.grp, self.gport)
        self.prx = proxy(self.pport, "--host", "sensor.example=127.0.0.1:%d" % self.sport, "--stats-json",
                         str(self.stats), *proxy_args)


def test_server_killed_and_restarted_behind_the_proxy(tmp_path):
    u = Setup(tmp_path, "--max-silence", "1", "--leisure", "0.3")
    sport, gport, pport, grp, script, stats, srv, prx = u.sport, u.gport, u.pport, u.grp, u.script, u.stats, u.srv, u.prx
    b = None
    try:
        b = board(script, pport, URI, 6, 30000)
        b.wait_for("notif")
        _put(sport, b"before")
        b.wait_for(b"before".hex())
        srv.stop(signal.SIGKILL)              # no §2.5 cancellation: the multicast just stops
        srv = server(sport, grp, gport)       # a new process, a new group observation (a new T)
        deadline = time.time() + 15
        while time.time() < deadline and sum(1 for ln in b.lines if ln.startswith("notif")) < 6:
            _put(sport, b"after")
            time.sleep(0.4)
        b.wait_for("done", 10)
    finally:
        stop(b, prx, srv)
    out = no_traceback(b, proxy=prx)
    notes = b.grep("notif")
    assert bytes.fromhex(notes[-1][3]) == b"after", out
    assert b.grep("done")[0][0] == "3", out              # still observing through the proxy (PROXY)
    assert "observers re-informed" in prx.out(), out
    st = json.load(open(stats))["stats"]
    assert st["informative_out"] >= 2 and st["errors"] == 0, st


def test_vanished_board_removed_and_group_left(tmp_path):
    u = Setup(tmp_path, "--con-every", "1", "--ack-timeout", "0.2", "--max-retransmit", "1")
    sport, pport, grp, script, srv, prx = u.sport, u.pport, u.grp, u.script, u.srv, u.prx
    b = None
    try:
        b = board(script, pport, URI, 100, 30000)
        b.wait_for("notif")
        assert joined(grp)
        b.stop(signal.SIGKILL)                # the board vanishes without a word
        left = False
        for k in range(40):
            _put(sport, b"v%d" % k)           # notifications the proxy cannot deliver (CON, no ACK)
            time.sleep(0.25)
            if not joined(grp):
                left = True
                break
        assert left, prx.out()[-3000:]
        assert prx.p.poll() is None           # the proxy goes on
        r = request(("127.0.0.1", pport), msg.GET, [(o.PROXY_URI, "coap://sensor.example/r")])
        assert r.code == msg.CONTENT and bytes(r.payload()).startswith(b"v")
    finally:
        stop(b, prx, srv)
    no_traceback(prx)
    assert "CON notification timeout" in prx.out()


def test_server_cancellation_reaches_the_board_and_garbage_is_counted(tmp_path):
    u = Setup(tmp_path)
    gport, pport, grp, script, stats, srv, prx = u.gport, u.pport, u.grp, u.script, u.stats, u.srv, u.prx
    b = None
    try:
        b = board(script, pport, URI, 100, 30000)
        b.wait_for("notif")
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton("127.0.0.1"))
        rng = random.Random(4)
        for k in range(300):                  # garbage at the proxy's port, and to its group
            data = bytes(rng.getrandbits(8) for _ in range(rng.randrange(0, 30)))
            s.sendto(data, ("127.0.0.1", pport))
            s.sendto(b"\x50\x45" + data[:20], (grp, gport))
            if k % 50 == 0:
                time.sleep(0.01)              # (no flood: the socket buffers keep everything)
        s.close()
        srv.stop()                            # SIGINT: the server cancels its group observations (§2.5)
        ended = b.wait_for("ended", 10)
        assert "cancelled" in ended, outputs(b, proxy=prx)
        for _ in range(20):
            if not joined(grp):
                break
            time.sleep(0.1)
        assert not joined(grp), prx.out()[-3000:]
    finally:
        stop(b, prx)
    st = json.load(open(stats))["stats"]
    up = json.load(open(stats))["upstream"]
    assert st["errors"] == 0 and st["malformed"] > 0 and "'token': 0" not in up, (st, up)  # garbage on T's group counted
    assert prx.p.returncode == 0 and "Traceback" not in prx.out(), prx.out()[-3000:]
