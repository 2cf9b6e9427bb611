# PM through the proxy (draft-ietf-core-coap-pm §4.2, §4.3.1, §7) on the in-memory network with
# loss and delay injected on each segment: a collaborating proxy measures the client-proxy and
# proxy-server segments apart (each segment's receivers see the loss injected on it, in each
# direction), and the segments add up to the end-to-end figures; a non-collaborating proxy forwards
# the option untouched only when told it is safe to; at an administrative boundary it strips it.
import random

import pytest

from coap import client, msg
from coap import options as o
from coap.pm import PMEndpoint
from tools.proxy import sim
from tools.proxy.pm import ProxyPM
from tools.proxy.sim import S, P
from tools.server.core import ServerCore, Config
from tools.server.resources import Resource

C = ("10.0.1.1", 5683)
DELAY = {frozenset((C, P)): 20, frozenset((P, S)): 50}    # one way, ms
LOSS = {frozenset((C, P)): 0.05, frozenset((P, S)): 0.10}


class Truth:
    """What the network did to PM-marked datagrams, per direction."""

    def __init__(self, seed):
        self.rng = random.Random(seed)
        self.sent = {}
        self.lost = {}

    def drop(self, src, dst, data):
        seg = frozenset((src, dst))
        m = msg.decode(data)
        marked = m.has(o.PM)
        lose = self.rng.random() < LOSS.get(seg, 0)
        if marked:
            self.sent[(src, dst)] = self.sent.get((src, dst), 0) + 1
            if lose:
                self.lost[(src, dst)] = self.lost.get((src, dst), 0) + 1
        return lose

    def loss(self, src, dst):
        return 100.0 * self.lost.get((src, dst), 0) / self.sent[(src, dst)]


def world(pm_mode="collaborating", pattern=0):
    w = sim.World(n=0, proxy=dict(ack_delay_ms=500))
    # the server and the proxy with PM; one board client with PM
    w.net.remove(S)
    res = [Resource("/t", "0", 0, writable=True)]
    w.spm = PMEndpoint("server", pattern)
    w.srv = w.net.add(S, sim.Server(ServerCore(res, Config(srv_addr=S[0], grp=sim.GRP), pm=w.spm, rng=random.Random(5))))
    w.net.remove(P)
    from tools.proxy.core import ProxyCore, ProxyConfig
    w.ppm = ProxyPM(pattern, pm_mode)
    w.p = w.net.add(P, ProxyCore(ProxyConfig(ack_delay_ms=500), rng=random.Random(6),
                                 resolve={"sensor.example": (S[0], None)}.get, pm=w.ppm))
    w.cpm = PMEndpoint("client", pattern)
    w.c = w.net.add(C, client.Client(rng=random.Random(7), pm=w.cpm, log=lambda *a: None))
    return w


def requests(w, n):
    """n requests one at a time (NSTART = 1), each when the previous one is answered or given up."""
    done = [0]
    for k in range(n):
        got = []
        w.c.request(P, msg.GET, [(o.PROXY_URI, "coap://sensor.example/t")], b"", lambda c, p, cf: got.append(c),
                    w.net.now)
        w.net.pump()
        for _ in range(400):
            if got:
                break
            w.net.run(50)
        done[0] += 1 if got and got[0] == msg.CONTENT else 0
    return done[0]


def fig(ep, peer, key):
    return ep.stats()["peers"]["%s:%d" % peer][key]


def test_collaborating_proxy_measures_each_segment_and_they_add_up():
    w = world()
    t = Truth(11)
    w.net.drop = t.drop
    w.net.delay = lambda s, d: DELAY.get(frozenset((s, d)), 0)
    ok = requests(w, 2500)
    assert ok >= 2400
    # loss, measured by each receiver from the Q wave, against what the network dropped (<= 1 pp)
    pairs = [(w.ppm.down, C, (C, P)),       # client -> proxy, at the proxy (its client side)
             (w.cpm, P, (P, C)),            # proxy -> client, at the client
             (w.ppm.upstream, S, (S, P)),   # server -> proxy, at the proxy (its server side)
             (w.spm, P, (P, S))]            # proxy -> server, at the server
    measured = {}
    for ep, peer, (a, b) in pairs:
        m = fig(ep, peer, "loss_pct")
        assert m is not None and abs(m - t.loss(a, b)) <= 1.0, ((a, b), m, t.loss(a, b))
        measured[(a, b)] = m
    assert 3 <= measured[(C, P)] <= 7 and 8 <= measured[(S, P)] <= 12
    # the segments add up: request direction end to end = 1 - (1 - a)(1 - b)
    e2e = 100 * (1 - (1 - measured[(C, P)] / 100) * (1 - measured[(P, S)] / 100))
    truth = 100 * (1 - (1 - t.loss(C, P) / 100) * (1 - t.loss(P, S) / 100))
    assert abs(e2e - truth) <= 1.5, (e2e, truth)
    # delay: the proxy's upstream RTT is the proxy-server segment (2 x 50 ms); the client's covers
    # the whole path (2 x 20 + 2 x 50); their difference is the client-proxy segment
    up = fig(w.ppm.upstream, S, "rtt_ms")
    e2e_rtt = fig(w.cpm, P, "rtt_ms")
    assert 95 <= up <= 110, up
    assert 135 <= e2e_rtt <= 155, e2e_rtt
    assert 35 <= e2e_rtt - up <= 50
    st = w.ppm.stats()
    assert st["clients"]["peers"] and st["servers"]["peers"] and st["mode"] == "collaborating"


def _marks(w, src, dst):
    return [msg.decode(d).uint(o.PM) for t, d in w.net.between(src, dst)]


def test_non_collaborating_forwards_pm_untouched_only_when_safe():
    w = world("forward")
    requests(w, 20)
    up = [msg.decode(d) for t, d in w.net.between(C, P)]
    fwd = [msg.decode(d) for t, d in w.net.between(P, S)]
    assert [m.uint(o.PM) for m in up if m.code] == [m.uint(o.PM) for m in fwd if m.code]   # the client's own marks
    assert _marks(w, S, P) == _marks(w, P, C)           # the server's marks reach the client as they were
    assert w.ppm.forwarded == 20 and w.ppm.upstream is None


@pytest.mark.parametrize("mode", [None, "strip"])
def test_default_drops_pm_as_unsafe_and_a_boundary_strips_it(mode):
    w = world("strip")
    if mode is None:
        w.p.pm = None
        w.p.up.pm = None
        w.p.down.mark = None
    requests(w, 10)
    assert all(m is None for m in _marks(w, P, S)) and all(m is None for m in _marks(w, P, C))
    assert any(m is not None for m in _marks(w, C, P)) and any(m is not None for m in _marks(w, S, P))
    if mode == "strip":
        assert w.ppm.stripped == 20
