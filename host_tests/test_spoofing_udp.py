# Issue 7, spoofing over real UDP on 127.0.0.1 (the dual-runtime logic tests are fw/test_spoofing.py):
# the real server multicasts /r to a board (MicroPython unix port); an attacker on the same host joins
# the group, learns the token T and the Observe number from a notification, then sends
#  - from its own port: newer notifications on T and the §2.5 cancellation (wrong source);
#  - with the server's address and port forged (a raw socket, root only): notifications with a wrong
#    token and with a stale Observe number.
# All are dropped and counted by the board; its group observation survives and keeps delivering.
# (A cancellation forged with the server's own address would be believed: only Group OSCORE, §6-7,
# protects against an on-path or address-forging attacker.)
import os
import socket
import time

from tools.soak import Server, start_board, BoardLog, figure, GROUP
from tools.soak.common import Worker
from tools.soak.oscore import raw_udp as _raw_udp
from tools.util import group_socket

from coap import msg
from coap import options as o


class Attacker(Worker):
    def __init__(self, srv_port, gport, n=20):
        super().__init__()
        self.srv = ("127.0.0.1", srv_port)
        self.g = (GROUP, gport)
        self.n = n
        self.sent = {"wrong_port": 0, "cancel_wrong_port": 0, "forged_token": 0, "forged_stale": 0}

    def _run(self):
        rx = group_socket(GROUP, self.g[1], 5)
        while True:   # learn T and the current Observe number from a real notification
            data, src = rx.recvfrom(2048)
            m = msg.decode(data)
            if src == self.srv and m.code == msg.CONTENT and m.has(o.OBSERVE):
                break
        rx.close()
        T, v = m.token_bytes(), m.uint(o.OBSERVE)
        tx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        tx.bind(("127.0.0.1", 0))
        tx.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton("127.0.0.1"))
        raw = None
        if os.geteuid() == 0:
            raw = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
            raw.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton("127.0.0.1"))
        bad = bytes(b ^ 0x5A for b in T)
        for k in range(self.n):
            mid = 0x7000 + 4 * k
            tx.sendto(msg.encode(msg.NON, msg.CONTENT, mid, T, [(o.OBSERVE, v + 1000 + k)], b"spoof"), self.g)
            self.sent["wrong_port"] += 1
            tx.sendto(msg.encode(msg.NON, msg.SERVICE_UNAVAILABLE, mid + 1, T), self.g)
            self.sent["cancel_wrong_port"] += 1
            if raw is not None:
                raw.sendto(_raw_udp(self.srv, self.g, msg.encode(msg.NON, msg.CONTENT, mid + 2, bad,
                                                                  [(o.OBSERVE, v + 1000 + k)], b"spoof")), self.g)
                self.sent["forged_token"] += 1
                raw.sendto(_raw_udp(self.srv, self.g, msg.encode(msg.NON, msg.CONTENT, mid + 3, T,
                                                                  [(o.OBSERVE, (v - 5) & 0xFFFFFF)], b"stale")), self.g)
                self.sent["forged_stale"] += 1
            time.sleep(0.03)
        tx.close()
        if raw is not None:
            raw.close()


def test_spoofed_notifications_and_cancellations_over_real_udp(tmp_path):
    srv = Server(extra=["--update", "/r=0.1", "--interval", "0.05", "--wait", "3"], ack_timeout_ms=300).start()
    try:
        p = start_board(str(tmp_path), srv.url("/r"), 4000, ack_timeout_ms=300, leisure_ms=300)
        time.sleep(1.0)
        a = Attacker(srv.port, srv.gport)
        a.start()
        a.join(15)
        b = BoardLog(p.communicate(timeout=40)[0])
    finally:
        srv.stop()
    assert a.error is None, a.error
    st = b.stats
    assert st is not None, b.out[-2000:]
    assert not b.ends and len(b.observes) == 1, b.out[-2000:]                       # the observation survives
    assert st["source"] >= a.sent["wrong_port"] + a.sent["cancel_wrong_port"], (st, a.sent)
    assert st["token"] >= a.sent["forged_token"] and st["stale"] >= a.sent["forged_stale"], (st, a.sent)
    vals = b.values()
    assert all(y > x for x, y in zip(vals, vals[1:])) and max(vals) < 1000, vals   # no spoofed value delivered
    t_last = b.notifs[-1][0]
    assert t_last > 3500 and len(vals) >= 30, b.notifs[-3:]                         # still delivering at the end
    if os.geteuid() == 0:
        assert a.sent["forged_token"] == a.n and st["token"] >= a.n and st["stale"] >= a.n, (st, a.sent)
    figure("spoofing over real UDP", spoofed_sent=sum(a.sent.values()), dropped_source=st["source"],
           dropped_token=st["token"], dropped_stale=st["stale"], delivered=len(vals), observation_survived=True)
