# Board client over real UDP under the MicroPython unix port (issue 3, "Real peers"):
#  - traditional observation of libcoap's coap-server-notls /time (>= 3 notifications);
#  - a tiny in-test peer (CPython) answering with the §4 informative response, then sending
#    multicast notifications to 224.0.1.187 over loopback (docs/environment.md: IP_MULTICAST_IF 127.0.0.1,
#    join on 127.0.0.1), an MRFD poll, a notification from a wrong source and the cancellation;
#  - the same over IPv6 (ff05::fd) between two network namespaces, when the machine allows.
import os
import shutil
import socket
import struct
import subprocess
import threading
import time

import pytest

from coap import msg, inforespenc, cborenc, addr
from coap import options as o
from helpers import run_micropython, micropython_bin, free_port, recv_msg, FIRMWARE, ROOT


CLIENT = r'''
import sys, coapcast
from coap.compat import ticks_ms, ticks_diff
uri, want, limit, iface, ifindex = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], int(sys.argv[5])
bind = "::" if ":" in iface else "0.0.0.0"
got = []
ended = []
def cb(p, cf, v, via):
    got.append(v)
    print("notif", v, cf, via, bytes(p))
def end(o, why):
    ended.append(why)
    print("ended", why)
c = coapcast.Client(bind, 0, iface=iface, ifindex=ifindex, leisure_ms=200)
o = c.observe(uri, cb, end)
t0 = ticks_ms()
while len(got) < want and not ended and ticks_diff(ticks_ms(), t0) < limit:
    c.service(50)
c.run(300)  # let a pending MRFD feedback go out
print("state", o.state, "groups", len(c.driver.mc), "n", len(got))
s = c.stats
print("stats", s.received, s.delivered, s.duplicates, s.reordered, s.feedback, s.dropped["source"], s.dropped["token"])
'''


def _client_script(tmp_path):
    p = tmp_path / "mp_client.py"
    p.write_text(CLIENT)
    return str(p)


def _lines(out, key):
    return [l.split()[1:] for l in out.splitlines() if l.startswith(key + " ")]


@pytest.fixture
def libcoap_server():
    if not shutil.which("coap-server-notls"):
        pytest.skip("coap-server-notls (libcoap3-bin) is not installed")
    port = free_port()
    p = subprocess.Popen(["coap-server-notls", "-A", "127.0.0.1", "-p", str(port)],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(0.4)
    yield port
    p.terminate()
    p.wait(5)


def test_libcoap_time_traditional_observation(tmp_path, libcoap_server):
    r = run_micropython(_client_script(tmp_path),
                        ["coap://127.0.0.1:%d/time" % libcoap_server, "3", "15000", "0.0.0.0", "0"], timeout=60)
    out = r.stdout + r.stderr
    vals = [int(x[0]) for x in _lines(out, "notif")]
    assert len(vals) >= 3, out
    assert vals == sorted(vals) and len(set(vals)) == len(vals), out
    assert _lines(out, "state")[0][:2] == ["1", "groups"], out  # TRAD


ASYNC_CLIENT = r'''
import sys, asyncio, coapcast
port = int(sys.argv[1])
got = []
ticks = [0]
c = coapcast.Client("127.0.0.1", 0)
c.observe("coap://127.0.0.1:%d/time" % port, lambda p, cf, v, via: got.append(v))

async def other():  # the app's own task keeps running
    while True:
        ticks[0] += 1
        await asyncio.sleep(0.01)

async def main():
    t = asyncio.create_task(c.task())
    o = asyncio.create_task(other())
    for _ in range(150):
        if len(got) >= 3:
            break
        await asyncio.sleep(0.1)
    t.cancel()
    o.cancel()
    print("async", len(got), ticks[0])

asyncio.run(main())
'''


def test_libcoap_observation_as_an_asyncio_task(tmp_path, libcoap_server):
    p = tmp_path / "mp_async.py"
    p.write_text(ASYNC_CLIENT)
    r = run_micropython(str(p), [str(libcoap_server)], timeout=60)
    out = r.stdout + r.stderr
    n, ticks = [int(x) for x in _lines(out, "async")[0]]
    assert n >= 3 and ticks >= 10, out  # the other task ran (every 10 ms) while observing


class Peer(threading.Thread):
    """A §4 server: empty ACK + CON 5.03 informative response, then multicast notifications."""

    def __init__(self, family, host, grp, gport, mcast_if):
        super().__init__(daemon=True)
        self.family, self.host, self.grp, self.gport = family, host, grp, gport
        self.s = socket.socket(family, socket.SOCK_DGRAM)
        self.s.bind((host, 0))
        self.port = self.s.getsockname()[1]
        self.s.settimeout(0.2)
        self.wrong = socket.socket(family, socket.SOCK_DGRAM)  # another port: a wrong source
        self.wrong.bind((host, 0))
        for sk in (self.s, self.wrong):
            if family == socket.AF_INET:
                sk.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(mcast_if))
            else:
                sk.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_IF, mcast_if)
        self.log = []
        self.feedback = []
        self.error = None

    def recv(self, until):
        return recv_msg(self.s, until)

    def run(self):
        try:
            self._run()
        except Exception as e:  # surfaced by the test
            self.error = repr(e)

    def _run(self):
        T = b"\x7b\x01"
        m, cli = self.recv(time.time() + 20)
        assert m is not None and m.code == msg.GET and m.uint(o.OBSERVE) == 0 and m.path() == "/r", m
        self.log.append("registration")
        self.s.sendto(msg.empty(msg.ACK, m.mid), cli)
        ph = inforespenc.to_tim(msg.encode(msg.NON, msg.GET, 0, T, [(o.OBSERVE, 0), (o.URI_PATH, "r")]))
        last = inforespenc.to_tim(msg.encode(msg.NON, msg.CONTENT, 0, T, [(o.OBSERVE, 10), (o.CONTENT_FORMAT, 60),
                                                                  (o.MRFD, 0)], cborenc.dumps("1234")))
        pl = inforespenc.build(ph, last, T, addr.parse_ip(self.host), self.port, addr.parse_ip(self.grp), self.gport)
        ir = msg.encode(msg.CON, msg.SERVICE_UNAVAILABLE, 0x2000, m.token_bytes(),
                        [(o.CONTENT_FORMAT, o.CF_INFORMATIVE)], pl)
        for _ in range(4):  # CON: retransmit until the client ACKs
            self.s.sendto(ir, cli)
            a, _ = self.recv(time.time() + 1)
            if a is not None and a.type == msg.ACK and a.mid == 0x2000:
                self.log.append("acked")
                break
        time.sleep(0.5)  # the client joins after ACKing
        g = (self.grp, self.gport)

        def mc(v, payload, extra=(), sock=None):
            b = msg.encode(msg.NON, msg.CONTENT, 0x3000 + v, T, [(o.OBSERVE, v), (o.CONTENT_FORMAT, 60)] + list(extra),
                           cborenc.dumps(payload))
            (sock or self.s).sendto(b, g)
            time.sleep(0.05)

        mc(11, "5678")
        mc(12, "wrong source", sock=self.wrong)
        mc(9, "stale")
        mc(13, "poll", [(o.MRFD, 0)])  # Q = 0: the client answers after a fraction of 200 ms
        until = time.time() + 3
        while time.time() < until and not self.feedback:
            f, src = self.recv(until)
            if f is not None and f.opt_len(o.MRFD) == 0:
                self.feedback.append((f.type, f.code, f.uint(o.OBSERVE), f.uint(o.NO_RESPONSE), f.path(), src))
        mc(14, "9999")
        self.s.sendto(msg.encode(msg.NON, msg.SERVICE_UNAVAILABLE, 0x3100, T), g)  # §2.5 cancellation
        self.log.append("cancelled")


def _check(peer, r):
    peer.join(20)
    out = r.stdout + r.stderr
    assert peer.error is None, peer.error + "\n" + out
    assert peer.log == ["registration", "acked", "cancelled"], (peer.log, out)
    notifs = _lines(out, "notif")
    assert [n[0] for n in notifs] == ["10", "11", "13", "14"], out  # baseline 10 from last_notif; 12, 9 dropped
    assert all(n[1] == "60" and n[2] == "1" for n in notifs), out   # CF 60, via group
    assert _lines(out, "ended") == [["group", "observation", "cancelled", "by", "the", "server"]], out
    assert _lines(out, "state")[0] == ["4", "groups", "0", "n", "4"], out  # ENDED, left the group
    assert len(peer.feedback) == 1, out  # the poll in last_notif was ignored; the one in 13 answered
    t, code, obs, nr, path, src = peer.feedback[0]
    assert (t, code, obs, nr, path) == (msg.NON, msg.GET, 0, 26, "/r"), peer.feedback
    st = _lines(out, "stats")[0]
    assert st[3] == "1" and st[5] == "1", out  # one reordered (9), one wrong source (12)
    return out


def test_informative_response_then_ipv4_multicast_on_loopback(tmp_path):
    peer = Peer(socket.AF_INET, "127.0.0.1", "224.0.1.187", free_port(), "127.0.0.1")
    peer.start()
    r = run_micropython(_client_script(tmp_path), ["coap://127.0.0.1:%d/r" % peer.port, "99", "15000",
                                                   "127.0.0.1", "0"], timeout=60)
    _check(peer, r)


def _sh(*cmd):
    return subprocess.run(list(cmd), capture_output=True, text=True)


@pytest.fixture
def netns6():
    if os.geteuid() != 0 or not shutil.which("ip"):
        pytest.skip("IPv6 multicast needs network namespaces (root and iproute2)")
    tag = "cc%d" % os.getpid()
    a, b = tag + "a", tag + "b"
    va, vb = "v" + tag + "a", "v" + tag + "b"
    try:
        steps = [
            ("ip", "netns", "add", a), ("ip", "netns", "add", b),
            ("ip", "link", "add", va, "netns", a, "type", "veth", "peer", "name", vb, "netns", b),
            ("ip", "-n", a, "link", "set", "lo", "up"), ("ip", "-n", b, "link", "set", "lo", "up"),
            ("ip", "-n", a, "-6", "addr", "add", "fd00:cc::1/64", "dev", va, "nodad"),
            ("ip", "-n", b, "-6", "addr", "add", "fd00:cc::2/64", "dev", vb, "nodad"),
            ("ip", "-n", a, "link", "set", va, "up"), ("ip", "-n", b, "link", "set", vb, "up"),
            ("ip", "-n", a, "-6", "route", "add", "ff05::/16", "dev", va),
            ("ip", "-n", b, "-6", "route", "add", "ff05::/16", "dev", vb),
        ]
        for s in steps:
            r = _sh(*s)
            if r.returncode:
                pytest.skip("cannot set up namespaces: %s: %s" % (" ".join(s), r.stderr.strip()))
        idx = _sh("ip", "netns", "exec", a, "cat", "/sys/class/net/%s/ifindex" % va).stdout.strip()
        idxb = _sh("ip", "netns", "exec", b, "cat", "/sys/class/net/%s/ifindex" % vb).stdout.strip()
        yield a, b, int(idx), int(idxb)
    finally:
        _sh("ip", "netns", "del", a)
        _sh("ip", "netns", "del", b)


def test_informative_response_then_ipv6_multicast_across_namespaces(tmp_path, netns6):
    a, b, idx_a, idx_b = netns6
    # the peer runs in this process: move this thread's network namespace to B while it sets up
    # sockets (setns affects only the calling thread; sockets keep their namespace afterwards)
    import ctypes
    libc = ctypes.CDLL(None, use_errno=True)
    own = os.open("/proc/self/task/%d/ns/net" % threading.get_native_id(), os.O_RDONLY)
    nsb = os.open("/run/netns/%s" % b, os.O_RDONLY)
    try:
        if libc.setns(nsb, 0x40000000) != 0:
            pytest.skip("setns failed")
        try:
            peer = Peer(socket.AF_INET6, "fd00:cc::2", "ff05::fd", 7683, idx_b)
        finally:
            libc.setns(own, 0x40000000)
    finally:
        os.close(nsb)
        os.close(own)
    peer.start()
    uri = "coap://[fd00:cc::2]:%d/r" % peer.port
    env = dict(os.environ, MICROPYPATH=".frozen:" + FIRMWARE)
    r = subprocess.run(["ip", "netns", "exec", a, micropython_bin(), "-X", "heapsize=192k",
                        _client_script(tmp_path), uri, "99", "15000", "::", str(idx_a)],
                       capture_output=True, text=True, timeout=60, env=env, cwd=ROOT)
    _check(peer, r)
