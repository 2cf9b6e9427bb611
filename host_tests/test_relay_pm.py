"""End to end through tools.relay on 127.0.0.1 (seeded loss, delay, reordering): PM loss and RTT measured
at the client, the server and the relay (probe) land within bounds of the truth. The endpoints here are
deliberately small and written with the foundation codec and coap.pm only. CPython only."""
import asyncio
import json
import socket
import subprocess
import sys
import time

import pytest

from coap import msg, options, pm
from tools.relay import Impairment, Relay, UP, DOWN
from helpers import ROOT, RequestFlow

import random  # noqa: E402


def ms():
    return int(time.monotonic() * 1000)


class EchoServer(asyncio.DatagramProtocol):
    """Answers every request with a NON 2.05 carrying the PM option of its PMEndpoint."""

    def __init__(self, pattern, n, t_max=500):
        self.pm = pm.PMEndpoint("server", pattern=pattern, n=n, t_max=t_max, max_peers=64)
        self.m = msg.Msg()

    def connection_made(self, tr):
        self.tr = tr

    def datagram_received(self, data, src):
        m = self.m.decode(data)
        v = pm.value_of(m)
        t = ms()
        self.pm.rx(src, v, t)
        out = msg.encode(msg.NON, msg.CONTENT, m.mid, m.token_bytes(), [(options.PM, self.pm.tx(src, t, v))])
        self.tr.sendto(out, src)


class PMClient(RequestFlow):
    """count NON requests: one at a time (interval 0) or one every interval ms."""

    def __init__(self, target, pattern, n, count, interval=0, timeout=0.1, t_max=500):
        RequestFlow.__init__(self, target, count, timeout)
        self.interval = interval
        self.pm = pm.PMEndpoint("client", pattern=pattern, n=n, t_max=t_max)
        self.m = msg.Msg()
        self.cur = -1

    def request(self, k):
        self.cur = k
        return msg.encode(msg.NON, msg.POST, k & 0xFFFF, k.to_bytes(2, "big"),
                          [(options.PM, self.pm.tx(self.target, ms()))])

    def datagram_received(self, data, src):
        m = self.m.decode(data)
        self.pm.rx(self.target, pm.value_of(m), ms())
        if not self.interval and int.from_bytes(m.token_bytes(), "big") == self.cur:
            self.send()


def total_loss(meters):
    exp = sum(m.blocks * m.n for m in meters)
    return 100.0 * sum(m.lost for m in meters) / exp, exp


async def run_through_relay(pattern, nclients, count, interval, loss, delay, reorder, seed, t_max=500):
    loop = asyncio.get_running_loop()
    n = 32
    st, srv = await loop.create_datagram_endpoint(lambda: EchoServer(pattern, n, t_max), local_addr=("127.0.0.1", 0))
    relay = Relay(st.get_extra_info("sockname"), loss=loss, delay=delay, reorder=reorder, reorder_ms=4,
                  seed=seed, n=n, t_max=t_max).start(loop)
    clients = []
    for _ in range(nclients):
        target = relay.addr
        ct, c = await loop.create_datagram_endpoint(
            lambda: PMClient(target, pattern, n, count, interval, timeout=(4 * delay + 30) / 1000.0, t_max=t_max),
            remote_addr=target)
        clients.append((ct, c))
    for _, c in clients:
        c.send()
    await asyncio.wait_for(asyncio.gather(*[c.done for _, c in clients]), 60)
    flows = list(relay.flows.values())
    res = {
        "true_up": 100.0 * sum(f.dropped[UP] for f in flows) / sum(f.rx[UP] for f in flows),
        "true_dn": 100.0 * sum(f.dropped[DOWN] for f in flows) / sum(f.rx[DOWN] for f in flows),
        "cli": [c.pm.meter(c.target) for _, c in clients],
        "srv": [srv.pm.peers[p].meter for p in srv.pm.peers],
        "up": [f.meters[UP] for f in flows],
        "dn": [f.meters[DOWN] for f in flows],
        "summary": relay.summary(),
        "lines": relay.lines(),
    }
    for ct, _ in clients:
        ct.close()
    st.close()
    relay.close()
    return res


def med(meters):
    s = sorted(x for m in meters for x in m.samples())
    assert len(s) >= 3, s  # enough samples for a median that means something
    return s[len(s) // 2]


def check(res, delay, rtt_tol=0.25, loss_tol=2.0):
    true_rtt = 2 * delay
    for key, truth in (("cli", "true_dn"), ("srv", "true_up"), ("up", "true_up"), ("dn", "true_dn")):
        lp, exp = total_loss(res[key])
        assert exp >= 300, (key, exp)
        assert abs(lp - res[truth]) <= loss_tol, (key, lp, res[truth])
        r = med(res[key])
        assert abs(r - true_rtt) <= rtt_tol * true_rtt, (key, r, true_rtt)


def test_pattern0_through_relay():
    res = asyncio.run(run_through_relay(0, 6, 110, 0, loss=5, delay=10, reorder=0, seed=4))
    check(res, 10)
    assert res["true_up"] > 1 and res["true_dn"] > 1  # the relay did drop
    assert any(line.startswith("pm 127.0.0.1:") for line in res["lines"])
    f = res["summary"]["flows"][0]
    assert f["up"]["pattern"] == 0 and f["up"]["relay_rx"] > 0
    json.dumps(res["summary"])


def test_pattern1_through_relay_with_reordering():
    # a request every 2 ms per client; reordering overtakes a held packet by about 2 others (x = 2).
    # One D chain per client: a lost or unreflectable D costs t_max + t_max/8 before the next one
    # (coap.pm), so four clients and a t_max fitted to this 30 ms path give enough samples.
    res = asyncio.run(run_through_relay(1, 4, 2000, 2, loss=5, delay=15, reorder=2, seed=9, t_max=200))
    check(res, 15)
    assert all(m.bursts == 0 for m in res["srv"] + res["up"])


def test_impairment_is_seeded():
    a = Impairment(10, 20, 5, 3, 5, random.Random(7))
    b = Impairment(10, 20, 5, 3, 5, random.Random(7))
    sa = [a() for _ in range(500)]
    assert sa == [b() for _ in range(500)]
    drops = sa.count(None)
    assert 30 <= drops <= 80
    assert all(d is None or 0.020 <= d <= 0.030 for d in sa)


def test_relay_refuses_other_addresses():
    with pytest.raises(ValueError):
        Relay(("10.0.0.1", 5683))
    with pytest.raises(ValueError):
        Relay(("127.0.0.1", 5683), listen=("0.0.0.0", 0))


def test_relay_cli_json(tmp_path):
    # a tiny echo server, the CLI relay in front, three marked requests, then the JSON summary
    srv = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    srv.bind(("127.0.0.1", 0))
    srv.settimeout(5)
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    probe.bind(("127.0.0.1", 0))
    rport = probe.getsockname()[1]
    probe.close()
    out = tmp_path / "relay.json"
    p = subprocess.Popen([sys.executable, "-m", "tools.relay", "--listen", "127.0.0.1:%d" % rport,
                          "--server", "127.0.0.1:%d" % srv.getsockname()[1], "--duration", "3", "--report", "0",
                          "--json", str(out), "--n", "16"], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        assert p.stdout.readline().startswith("relay: 127.0.0.1:%d" % rport)
        cli = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        cli.settimeout(5)
        for k in range(3):
            cli.sendto(msg.encode(msg.NON, msg.GET, k, b"t", [(options.PM, 0x40 | (k & 1) << 5)]), ("127.0.0.1", rport))
            data, src = srv.recvfrom(2048)
            assert msg.decode(data).mid == k
            srv.sendto(data, src)
            cli.recvfrom(2048)
        p.wait(15)
    finally:
        if p.poll() is None:
            p.kill()
    d = json.loads(out.read_text())
    f = d["flows"][0]
    assert f["up"]["pkts"] == 3 and f["up"]["relay_fwd"] == 3 and f["down"]["pkts"] == 3
    cli.close()
    srv.close()
