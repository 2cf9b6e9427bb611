# The desktop server over real UDP on 127.0.0.1 (issue 4): `python -m tools.server` as a
# subprocess; libcoap's coap-client-notls, our codec and aiocoap as peers; multicast on
# loopback (IP_MULTICAST_IF 127.0.0.1, receivers join on 127.0.0.1, see docs/environment.md); tshark
# decodes a capture of the run. Every loop is bounded.
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import time

import aiocoap
import pytest

from coap import msg, inforesp
from coap import options as o
from helpers import ROOT, free_port
from tools.util import group_socket

GROUP = "224.0.1.187"
CLIENT = shutil.which("coap-client-notls")
TSHARK = shutil.which("tshark")


def mc_receiver(port):
    return group_socket(GROUP, port, 0.2)


def drain(s, seconds):
    out = []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        try:
            out.append(s.recvfrom(2048))
        except socket.timeout:
            pass
    return out


class Server:
    def __init__(self, *extra, bind="127.0.0.1", group=GROUP, mc_if="127.0.0.1", prefix=(), port=None):
        self.port = port or free_port()
        self.gport = free_port()
        self.host = bind
        env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.path.join(ROOT, "firmware"))
        self.p = subprocess.Popen(
            list(prefix) + [sys.executable, "-m", "tools.server", "--bind", bind, "--port", str(self.port),
                            "--group", group, "--group-port", str(self.gport), "--mc-if", mc_if, "--interval", "0.3",
                            "--status-every", "1", "--seed", "1", "--duration", "120"] + list(extra),
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=ROOT, env=env)
        self.lines = []
        end = time.monotonic() + 10
        while time.monotonic() < end:
            line = self.p.stdout.readline()
            self.lines.append(line)
            if "listening on" in line:
                return
            if not line and self.p.poll() is not None:
                break
        self.stop()
        raise AssertionError("server did not start: %s" % "".join(self.lines))

    def url(self, path):
        host = "[%s]" % self.host if ":" in self.host else self.host
        return "coap://%s:%d%s" % (host, self.port, path)

    def stop(self):
        if self.p.poll() is None:
            self.p.send_signal(signal.SIGTERM)
        try:
            rest, _ = self.p.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            self.p.kill()
            rest, _ = self.p.communicate()
        self.lines.append(rest)
        return "".join(self.lines)


class Client:
    """A raw CoAP client on its own socket, using the firmware codec."""

    def __init__(self, srv_port, host="127.0.0.1"):
        self.s = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_DGRAM)
        self.s.bind((host, 0))
        self.s.settimeout(2)
        self.dst = (host, srv_port)

    def send(self, buf):
        self.s.sendto(buf, self.dst)

    def recv(self):
        data, src = self.s.recvfrom(2048)
        aiocoap.Message.decode(data)
        assert src[:2] == self.dst
        return msg.decode(data)

    def close(self):
        self.s.close()


def coap_client(*args, timeout=15):
    p = subprocess.run([CLIENT] + list(args), capture_output=True, text=True, timeout=timeout)
    return p.stdout + p.stderr


needs_client = pytest.mark.skipif(CLIENT is None, reason="coap-client-notls missing (tools/ensure_peers.sh)")


@needs_client
def test_libcoap_observes_reads_core_puts_and_sees_informative_response():
    srv = Server("--update", "/time=0.4")
    rx = mc_receiver(srv.gport)
    try:
        out = coap_client("-v", "6", "-s", "3", "-m", "get", srv.url("/time"), timeout=20)
        notifs = [ln for ln in out.splitlines() if "t:NON c:2.05" in ln and "Observe:" in ln]
        assert len(notifs) >= 3, out
        core = coap_client("-m", "get", srv.url("/.well-known/core"))
        assert "</r>;obs" in core and "</time>;obs" in core
        assert "t:ACK c:2.04" in coap_client("-v", "6", "-m", "put", "-e", "77", srv.url("/r"))
        assert coap_client("-m", "get", srv.url("/r")).strip().endswith("77")
        reg = coap_client("-v", "6", "-s", "1", "-m", "get", srv.url("/r"))
        assert "c:5.03" in reg and "Content-Format:65000" in reg, reg
        # PUT while the group observation runs -> one multicast notification with the value
        coap_client("-m", "put", "-e", "78", srv.url("/r"))
        got = drain(rx, 1.0)
        notes = [msg.decode(d) for d, src in got if src == ("127.0.0.1", srv.port)]
        assert any(n.code == msg.CONTENT and bytes(n.payload()) == b"78" and n.has(o.OBSERVE) for n in notes), got
    finally:
        log = srv.stop()
        rx.close()
    assert "traditional observer" in log and "group observation of /r started" in log
    assert "status:" in log and "Traceback" not in log


def test_group_observation_end_to_end_two_clients_and_shutdown_503():
    srv = Server("--update", "/r=0.2", "--wait", "1")
    rx = mc_receiver(srv.gport)
    c1, c2 = Client(srv.port), Client(srv.port)
    try:
        c1.send(msg.encode(msg.CON, msg.GET, 0x1234, b"\x4a", [(o.OBSERVE, 0), (o.URI_PATH, "r")]))
        ack = c1.recv()
        assert ack.type == msg.ACK and ack.code == 0 and ack.mid == 0x1234
        ir = c1.recv()
        assert ir.type == msg.CON and ir.code == msg.SERVICE_UNAVAILABLE and ir.uint(o.CONTENT_FORMAT) == o.CF_INFORMATIVE
        c1.send(msg.empty(msg.ACK, ir.mid))
        p = inforesp.parse(bytes(ir.payload()))
        assert p.srv_addr == bytes([127, 0, 0, 1]) and p.srv_port == srv.port and p.cli_port == srv.gport
        c2.send(msg.encode(msg.NON, msg.GET, 7, b"\x01\x02", [(o.OBSERVE, 0), (o.URI_PATH, "r")]))
        ir2 = c2.recv()
        assert ir2.type == msg.NON and inforesp.parse(bytes(ir2.payload())).token == p.token
        got = drain(rx, 1.5)
        notes = [(msg.decode(d), src) for d, src in got]
        for d, src in got:
            aiocoap.Message.decode(d)
        assert len(notes) >= 3
        for n, src in notes:     # §2.3: NON, Observe, token T, from SRV_ADDR:SRV_PORT
            assert src == ("127.0.0.1", srv.port) and n.type == msg.NON and n.token_bytes() == p.token
            assert n.has(o.OBSERVE)
        obs = [n.uint(o.OBSERVE) for n, _ in notes]
        assert obs == sorted(obs)
        assert any(n.has(o.MRFD) for n, _ in notes)   # the first of a counting round asks for feedback
        # introspection (Appendix A.2)
        c1.send(msg.encode(msg.CON, msg.GET, 99, b"\x09", [(o.URI_PATH, ".well-known"), (o.URI_PATH, "core"),
                                                          (o.URI_PATH, "mc-sender"), (o.URI_QUERY, "token=" + p.token.hex())]))
        r = c1.recv()
        assert r.code == msg.CONTENT and inforesp.parse(bytes(r.payload())).token == p.token
    finally:
        log = srv.stop()
    # shutdown: the multicast 5.03 without Observe and payload (§2.5)
    tail = [msg.decode(d) for d, src in drain(rx, 0.5)]
    rx.close()
    c1.close()
    c2.close()
    assert any(m.code == msg.SERVICE_UNAVAILABLE and m.token_bytes() == p.token and not m.has(o.OBSERVE)
               and not m.has_payload() for m in tail), log
    assert "cancelled (shutdown)" in log


def test_bad_input_then_a_good_client_still_works():
    srv = Server()
    c = Client(srv.port)
    c.s.settimeout(0.5)
    try:
        junk = [b"", b"\x00\x01", b"\xff" * 30, b"\x40\x01\x00\x01\xff", b"\x4f\x01\x00\x01",
                os.urandom(200), b"\x40\x01\x00\x02\xf0\x01"]
        for j in junk * 20:
            c.send(j)
        c.send(msg.encode(msg.CON, msg.GET, 10, b"", [(o.URI_PATH, "r"), (65001, b"x")]))
        c.send(msg.encode(msg.CON, msg.PUT, 11, b"", [(o.URI_PATH, "r")], b"x" * 1400))
        c.send(msg.encode(msg.CON, msg.GET, 12, b"", [(o.URI_PATH, "nope")]))
        c.send(msg.encode(msg.CON, msg.DELETE, 13, b"", [(o.URI_PATH, "r")]))
        want = {10: msg.BAD_OPTION, 11: msg.REQUEST_ENTITY_TOO_LARGE, 12: msg.NOT_FOUND, 13: msg.METHOD_NOT_ALLOWED}
        seen = {}
        end = time.monotonic() + 5
        while len(seen) < 4 and time.monotonic() < end:
            try:
                m = c.recv()
            except socket.timeout:
                continue
            if m.type == msg.ACK and m.mid in want:
                seen[m.mid] = m.code
        assert seen == want
        # a registration flood from 200 endpoints
        socks = []
        for k in range(200):
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        for rep in range(5):
            for k, s in enumerate(socks):
                s.sendto(msg.encode(msg.CON, msg.GET, rep * 1000 + k, b"\x01", [(o.OBSERVE, 0), (o.URI_PATH, "r")]),
                         ("127.0.0.1", srv.port))
        for s in socks:
            s.close()
        time.sleep(0.5)
        if CLIENT:
            assert coap_client("-m", "get", srv.url("/r")).strip() == "0"
        good = Client(srv.port)
        good.send(msg.encode(msg.CON, msg.GET, 1, b"\x01", [(o.URI_PATH, "time")]))
        r = good.recv()
        assert r.code == msg.CONTENT and r.mid == 1
        good.close()
    finally:
        log = srv.stop()
        c.close()
    assert "bad input" in log and "Traceback" not in log and "internal error" not in log


@pytest.mark.skipif(TSHARK is None or CLIENT is None, reason="tshark or coap-client-notls missing")
def test_tshark_decodes_everything_the_server_sends(tmp_path):
    srv = Server("--update", "/time=0.3", "--update", "/r=0.3", "--wait", "0.5")
    pcap = str(tmp_path / "run.pcap")
    cap = subprocess.Popen([TSHARK, "-i", "lo", "-w", pcap, "-f", "udp port %d or udp port %d" % (srv.port, srv.gport)],
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        end = time.monotonic() + 20                 # wait for "Capturing on 'Loopback: lo'"
        while time.monotonic() < end:
            if not select.select([cap.stderr], [], [], max(end - time.monotonic(), 0))[0]:
                break
            line = cap.stderr.readline()
            if "Capturing on" in line or not line:
                break
        time.sleep(0.5)
        coap_client("-s", "2", "-m", "get", srv.url("/time"))
        coap_client("-s", "2", "-m", "get", srv.url("/r"))
        coap_client("-m", "get", srv.url("/.well-known/core"))
        coap_client("-m", "put", "-e", "5", srv.url("/r"))
        coap_client("-m", "get", srv.url("/nope"))
        c = Client(srv.port)
        c.send(msg.encode(msg.NON, msg.GET, 3, b"\x01", [(o.OBSERVE, 0), (o.URI_PATH, "sensor")]))
        c.recv()
        c.close()
        time.sleep(0.5)
    finally:
        srv.stop()
        time.sleep(1.0)
        cap.send_signal(signal.SIGINT)
        cap.communicate(timeout=10)
    dec = ["-d", "udp.port==%d,coap" % srv.port, "-d", "udp.port==%d,coap" % srv.gport]
    rows = subprocess.run([TSHARK, "-r", pcap] + dec + ["-Y", "udp.srcport==%d" % srv.port, "-T", "fields",
                          "-e", "coap.code", "-e", "_ws.malformed", "-e", "_ws.expert.severity"],
                          capture_output=True, text=True, timeout=60).stdout.splitlines()
    assert len(rows) > 12, rows
    codes = {r.split("\t")[0] for r in rows}
    assert {"69", "163"} <= codes, codes          # 2.05 and 5.03 (informative + cancellation)
    bad = subprocess.run([TSHARK, "-r", pcap] + dec + ["-Y", "udp.srcport==%d && (_ws.malformed || _ws.expert.severity == error)"
                                                        % srv.port], capture_output=True, text=True, timeout=60)
    assert bad.stdout.strip() == "", bad.stdout


def test_ipv6_unicast_on_loopback():
    # IPv6 multicast does not work on lo (docs/environment.md): the send to ff05::fd may fail, the server
    # logs it and keeps serving; tp_info carries 16-byte addresses.
    srv = Server("-6", "--update", "/r=0.3", bind="::1", group="ff05::fd", mc_if="lo")
    c = Client(srv.port, "::1")
    try:
        c.send(msg.encode(msg.NON, msg.GET, 1, b"\x01", [(o.OBSERVE, 0), (o.URI_PATH, "r")]))
        ir = c.recv()
        p = inforesp.parse(bytes(ir.payload()))
        assert ir.code == msg.SERVICE_UNAVAILABLE and p.srv_addr == bytes(15) + b"\x01"
        assert p.cli_addr == bytes.fromhex("ff05" + "00" * 13 + "fd") and p.srv_port == srv.port
        time.sleep(1.0)
        c.send(msg.encode(msg.CON, msg.GET, 2, b"\x02", [(o.URI_PATH, "time")]))
        r = c.recv()
        assert r.code == msg.CONTENT and r.mid == 2
    finally:
        log = srv.stop()
        c.close()
    assert "Traceback" not in log and "cancelled (shutdown)" in log


RECEIVER6 = r"""
import json, socket, struct, sys, time
from coap import msg, inforesp
from coap import options as o
port, gport = int(sys.argv[1]), int(sys.argv[2])
idx = socket.if_nametoindex("vB")
rx = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
rx.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
rx.bind(("::", gport))
rx.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_JOIN_GROUP, socket.inet_pton(socket.AF_INET6, "ff05::fd") + struct.pack("@I", idx))
rx.settimeout(0.3)
c = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
c.settimeout(3)
c.sendto(msg.encode(msg.NON, msg.GET, 1, b"\x01", [(o.OBSERVE, 0), (o.URI_PATH, "r")]), ("fd00::1", port))
ir = msg.decode(c.recv(2048))
p = inforesp.parse(bytes(ir.payload()))
notes = []
end = time.time() + 2.5
while time.time() < end:
    try:
        d, src = rx.recvfrom(2048)
    except socket.timeout:
        continue
    m = msg.decode(d)
    notes.append([src[0], src[1], m.token_bytes().hex(), m.code, m.has(o.OBSERVE)])
print(json.dumps({"token": p.token.hex(), "srv": p.srv_addr.hex(), "grp": p.cli_addr.hex(), "notes": notes}))
"""


@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("ip") is None, reason="needs root and iproute2 (netns)")
def test_ipv6_multicast_notifications_across_a_veth_pair(tmp_path):
    import json
    a, b = "cc6a%d" % os.getpid(), "cc6b%d" % os.getpid()
    cmds = [["ip", "netns", "add", a], ["ip", "netns", "add", b],
            ["ip", "link", "add", "vA", "netns", a, "type", "veth", "peer", "name", "vB", "netns", b]]
    for ns, dev, ad in ((a, "vA", "fd00::1/64"), (b, "vB", "fd00::2/64")):
        cmds += [["ip", "-n", ns, "link", "set", "lo", "up"], ["ip", "-n", ns, "link", "set", dev, "up"],
                 ["ip", "-n", ns, "-6", "addr", "add", ad, "dev", dev, "nodad"],
                 ["ip", "-n", ns, "-6", "route", "add", "ff05::/16", "dev", dev]]
    try:
        for c in cmds:
            r = subprocess.run(c, capture_output=True, text=True, timeout=10)
            if r.returncode:
                pytest.skip("netns setup failed: %s: %s" % (" ".join(c), r.stderr))
        srv = Server("-6", "--update", "/r=0.3", bind="fd00::1", group="ff05::fd", mc_if="vA",
                     prefix=["ip", "netns", "exec", a], port=5683)
        try:
            script = tmp_path / "rx6.py"
            script.write_text(RECEIVER6)
            r = subprocess.run(["ip", "netns", "exec", b, sys.executable, str(script), str(srv.port), str(srv.gport)],
                               capture_output=True, text=True, timeout=30)
            assert r.returncode == 0, r.stderr
            res = json.loads(r.stdout.strip().splitlines()[-1])
        finally:
            log = srv.stop()
        assert res["srv"] == "fd00" + "00" * 13 + "01" and res["grp"] == "ff05" + "00" * 13 + "fd"
        notes = res["notes"]
        assert len(notes) >= 3, (res, log)
        for src, sport, tok, code, has_obs in notes:    # from SRV_ADDR:SRV_PORT, token T, Observe
            assert src == "fd00::1" and sport == srv.port and tok == res["token"] and code == msg.CONTENT and has_obs
    finally:
        for ns in (a, b):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True, timeout=10)
