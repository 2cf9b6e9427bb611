# The forward proxy's sans-I/O core on an in-memory network (tools/proxy/sim.py) with the real
# server core and board client cores, a fake clock, no sockets: draft -04 §8 (Appendix C's
# sequence), §5.1 through a proxy, RFC 7252 §5.7 forwarding and errors, RFC 7641 §5, chains.
import random

import aiocoap
import pytest

from coap import client, msg, inforesp, cborenc
from coap import options as o
from tools.proxy.route import HOP_LIMIT
from tools.proxy import sim
from tools.proxy.sim import Server, S, P, P2, GRP, URI
from tools.server.core import ServerCore, Config
from tools.server.resources import Resource

class World(sim.World):
    def wire(self, src, dst, since=0):
        return [msg.decode(d) for t, d in self.net.between(src, dst, since)]


def decoded_everywhere(w):
    for t, s, d, data, g in w.net.wire:
        aiocoap.Message.decode(data)  # every datagram parses in an independent stack


def test_appendix_c_sequence_through_the_proxy():
    w = World()
    (c1a, c1, s1), (c2a, c2, s2) = w.cs
    ob1 = w.observe(0)
    # C1 -> P: GET Observe 0 Proxy-Uri
    r = w.wire(c1a, P)[0]
    assert r.code == msg.GET and r.uint(o.OBSERVE) == 0 and r.opt(o.PROXY_URI) == URI.encode()
    # P -> S: GET Observe 0, Uri-Host sensor.example, Uri-Path r (no Proxy-Uri)
    f = w.wire(P, S)[0]
    assert f.type == msg.CON and f.code == msg.GET and f.uint(o.OBSERVE) == 0
    assert [n for n, v in f.items()] == [o.URI_HOST, o.OBSERVE, o.URI_PATH]
    assert f.opt(o.URI_HOST) == b"sensor.example" and f.path() == "/r"
    # S -> P: the informative response (empty ACK, then CON 5.03), P joins GRP_ADDR:GRP_PORT
    fromS = w.wire(S, P)
    ir = fromS[-1]
    assert fromS[0].type == msg.ACK and fromS[0].code == 0
    assert ir.type == msg.CON and ir.code == msg.SERVICE_UNAVAILABLE and ir.token_bytes() == f.token_bytes()
    tp = inforesp.parse(bytes(ir.payload()))
    assert w.p.groups == {GRP: 1} and tp.token != f.token_bytes()
    # P -> C1: the same informative response with C1's token, CON (after the empty ACK)
    toC1 = w.wire(P, c1a)
    assert [(m.type, m.code) for m in toC1] == [(msg.ACK, 0), (msg.CON, msg.SERVICE_UNAVAILABLE)]
    assert toC1[1].token_bytes() == ob1.token and bytes(toC1[1].payload()) == bytes(ir.payload())
    assert toC1[1].uint(o.CONTENT_FORMAT) == o.CF_INFORMATIVE and not toC1[1].has(o.OBSERVE)
    assert ob1.state == client.PROXY and c1.groups == {} and s1.got[0][:3] == (cborenc.dumps("1234"), 60, tp_obs(tp))
    # C2 registers: its request is forwarded, the server's informative response goes back to C2 only
    n = len(w.net.wire)
    ob2 = w.observe(1)
    f2 = w.wire(P, S, n)[0]
    assert f2.code == msg.GET and f2.uint(o.OBSERVE) == 0 and f2.opt(o.URI_HOST) == b"sensor.example"
    assert [m.code for m in w.wire(P, c2a, n)] == [0, msg.SERVICE_UNAVAILABLE] and w.wire(P, c1a, n) == []
    assert ob2.state == client.PROXY and w.p.groups == {GRP: 1}
    assert w.srv.core.group_for("/r").counter.count >= 1
    # the value changes: ONE multicast notification from S, then one unicast per client from P
    n = len(w.net.wire)
    w.update("/r", cborenc.dumps("5678"))
    mc = w.wire(S, GRP, n)
    assert len(mc) == 1 and mc[0].type == msg.NON and mc[0].token_bytes() == tp.token
    v = mc[0].uint(o.OBSERVE)
    outs = [w.wire(P, c1a, n), w.wire(P, c2a, n)]
    for out, ob in zip(outs, (ob1, ob2)):
        assert len(out) == 1
        m = out[0]
        assert m.code == msg.CONTENT and m.token_bytes() == bytes(ob.token) and m.type == msg.NON
        assert m.uint(o.CONTENT_FORMAT) == 60 and bytes(m.payload()) == cborenc.dumps("5678")
        assert not m.has(o.MRFD)
    assert outs[0][0].uint(o.OBSERVE) == outs[1][0].uint(o.OBSERVE) != v   # the proxy's own numbering
    assert s1.got[-1][0] == s2.got[-1][0] == cborenc.dumps("5678")
    assert s1.got[-1][3] == client.VIA_UNICAST
    assert w.wire(S, c1a) == [] and w.wire(S, c2a) == []   # the clients talk to the proxy only
    decoded_everywhere(w)


def tp_obs(tp):
    return msg.decode(msg.from_tim(tp.last_notif, tp.token)).uint(o.OBSERVE)


def test_observe_numbers_stay_fresher_than_the_clients_baseline():
    for seed in range(20):
        w = World(n=1, seed=seed)
        ob = w.observe(0)
        for k in range(3):
            w.update("/r", cborenc.dumps("v%d" % k))
        assert [g[0] for g in w.cs[0][2].got] == [cborenc.dumps(x) for x in ("1234", "v0", "v1", "v2")]
        assert ob.state == client.PROXY and w.cs[0][1].stats.reordered == 0


def test_mrfd_polls_answered_by_the_proxy_as_one_client():
    w = World(n=3, server=dict(m=1, first_after=1, wait_ms=2000))
    for i in range(3):
        w.observe(i)
    n = len(w.net.wire)
    for k in range(4):
        w.update("/r", cborenc.dumps("x%d" % k))
        w.net.run(6000)
    polls = [m for m in w.wire(S, GRP, n) if m.has(o.MRFD)]
    assert polls, "the server never asked for feedback"
    fb = [m for m in w.wire(P, S, n) if m.has(o.MRFD)]
    assert fb and all(m.type == msg.NON and m.uint(o.NO_RESPONSE) == 26 and m.opt(o.URI_HOST) == b"sensor.example"
                      for m in fb)
    for a, c, s in w.cs:
        assert all(not m.has(o.MRFD) for m in w.wire(P, a, n)) and c.stats.feedback == 0
        assert w.wire(a, S) == [] and not [m for m in w.wire(a, P, n) if m.has(o.MRFD)]
    g = w.srv.core.group_for("/r")
    assert g is not None and g.counter.rounds >= 1


def test_rst_and_silent_clients_are_removed_and_the_group_left():
    w = World(n=2, proxy=dict(con_every=1, ack_timeout_ms=100))
    (c1a, c1, s1), (c2a, c2, s2) = w.cs
    ob1 = w.observe(0)
    w.observe(1)
    c1.cancel(ob1, w.net.now, rst=True)   # C1 forgets and resets the next notification
    w.net.remove(c2a)                      # C2 vanishes
    w.update("/r", cborenc.dumps("a"))
    w.net.run(20000)
    t = list(w.p.targets.values())
    assert t == [] and w.p.groups == {} and w.p.up.obs == []
    assert w.p.stats["rst"] >= 1 and w.p.stats["client_timeouts"] >= 1 and w.p.stats["observers_removed"] == 2


def test_observe_1_deregisters_and_the_last_one_leaves_the_group():
    w = World(n=1)
    a, c, s = w.cs[0]
    ob = w.observe(0)
    tok = bytes(ob.token)
    c.cancel(ob, w.net.now)        # PROXY state: the board forgets silently; here it deregisters explicitly
    out = raw(w, 0, req(msg.GET, [(o.OBSERVE, 1), (o.PROXY_URI, URI)], mid=999, tok=tok))
    assert w.p.stats["deregistrations"] == 1 and w.p.groups == {} and not w.p.targets
    assert [(m.type, m.code, m.has(o.OBSERVE)) for m in out] == [(msg.ACK, msg.CONTENT, False)]  # the GET itself


def test_traditional_observation_through_the_proxy_served_from_its_observation():
    w = World(n=2)
    (c1a, c1, s1), (c2a, c2, s2) = w.cs
    ob1 = w.observe(0, "coap://10.0.0.1/t")
    assert ob1.state == client.TRAD and s1.got[0][0] == b"0"
    assert [(m.type, m.code) for m in w.wire(P, c1a)] == [(msg.ACK, msg.CONTENT)]   # the answer, no second copy
    f = w.wire(P, S)
    assert [n for n, v in f[0].items()] == [o.OBSERVE, o.URI_PATH]   # an IP literal: no Uri-Host
    n = len(w.net.wire)
    ob2 = w.observe(1, "coap://10.0.0.1/t")
    assert ob2.state == client.TRAD and w.wire(P, S, n) == [] and s2.got[0][0] == b"0"
    w.update("/t", "1")
    assert s1.got[-1][0] == s2.got[-1][0] == b"1"
    assert s1.got[-1][2] == s2.got[-1][2] and len(w.wire(S, P, n)) == 1
    c1.cancel(ob1, w.net.now)     # NON GET Observe 1 through the proxy
    w.net.pump()
    assert len(w.p.targets) == 1 and list(w.p.targets.values())[0].observers.keys() == {c2a}
    c2.cancel(ob2, w.net.now)
    w.net.run(3000)
    assert not w.p.targets and w.srv.core.resources["/t"].observers == {}


def raw(w, i, m_bytes, wait=0):
    """Send raw bytes from client i to the proxy; the proxy's answers to it."""
    a = w.cs[i][0]
    n = len(w.net.wire)
    w.p.receive(m_bytes, a, w.net.now)
    w.net.pump()
    if wait:
        w.net.run(wait)
    return w.wire(P, a, n)


def req(code=msg.GET, opts=(), mid=100, tok=b"\x01", mtype=msg.CON, payload=b""):
    return msg.encode(mtype, code, mid, tok, list(opts), payload)


def test_ordinary_requests_piggybacked_and_nonconfirmable():
    w = World(n=1)
    out = raw(w, 0, req(msg.PUT, [(o.PROXY_URI, "coap://sensor.example/t"), (o.CONTENT_FORMAT, 0)], payload=b"42"))
    assert [(m.type, m.code, m.mid) for m in out] == [(msg.ACK, msg.CHANGED, 100)]
    out = raw(w, 0, req(msg.GET, [(o.PROXY_SCHEME, "coap"), (o.URI_HOST, "sensor.example"), (o.URI_PATH, "t")], mid=101))
    assert [(m.type, m.code, bytes(m.payload())) for m in out] == [(msg.ACK, msg.CONTENT, b"42")]
    out = raw(w, 0, req(msg.GET, [(o.PROXY_URI, "coap://sensor.example/t")], mid=102, mtype=msg.NON))
    assert [(m.type, m.code) for m in out] == [(msg.NON, msg.CONTENT)]
    # a duplicate gets the same answer, no second upstream request
    n = len(w.net.wire)
    out = raw(w, 0, req(msg.GET, [(o.PROXY_SCHEME, "coap"), (o.URI_HOST, "sensor.example"), (o.URI_PATH, "t")], mid=101))
    assert [(m.type, m.code, m.mid) for m in out] == [(msg.ACK, msg.CONTENT, 101)] and w.wire(P, S, n) == []
    assert w.p.stats["dup"] == 1


def test_slow_upstream_gets_empty_ack_then_separate_response():
    w = World(n=1, proxy=dict(ack_delay_ms=100))
    w.net.drop = lambda s, d, data: s == S and msg.decode(data).code == msg.CONTENT and w.net.now < 50
    a = w.cs[0][0]
    out = raw(w, 0, req(msg.GET, [(o.PROXY_URI, "coap://sensor.example/t")]), wait=10000)
    assert [(m.type, m.code) for m in out][:2] == [(msg.ACK, 0), (msg.CON, msg.CONTENT)]


@pytest.mark.parametrize("opts,code,counter", [
    ([(o.URI_PATH, "r")], msg.NOT_FOUND, "not_proxied"),
    ([(o.PROXY_URI, "coaps://sensor.example/r")], 0xA5, "unsupported_scheme"),
    ([(o.PROXY_URI, "http://sensor.example/r")], 0xA5, "unsupported_scheme"),
    ([(o.PROXY_SCHEME, "coap+tcp"), (o.URI_HOST, "x")], 0xA5, "unsupported_scheme"),
    ([(o.PROXY_URI, "coap://[::1/r")], msg.BAD_REQUEST, "bad_request"),
    ([(o.PROXY_URI, "coap://unknown.example/r")], 0xA2, "unresolved"),
    ([(o.PROXY_URI, "coap://224.0.1.187/r")], 0xA5, "bad_target"),
    ([(o.PROXY_URI, "coap://169.254.1.1/r")], 0xA5, "bad_target"),
    ([(o.PROXY_SCHEME, "coap")], msg.BAD_REQUEST, "bad_request"),
    ([(o.PROXY_URI, URI), (65010, b"x")], 0xA2, "unsafe_option"),
    ([(o.PROXY_URI, URI), (HOP_LIMIT, 1)], 0xA8, "hop_limit"),
    ([(o.PROXY_URI, URI), (o.LTMR, b"\x86\x01")], 0x82, "ltmr_refused"),  # malformed tp_info (§9.1)
    ([(o.PROXY_URI, b"\xff\xfe")], msg.BAD_REQUEST, "bad_request"),
])
def test_refused_requests_get_one_clear_answer(opts, code, counter):
    w = World(n=1)
    out = raw(w, 0, req(msg.GET, opts))
    assert [(m.type, m.code) for m in out] == [(msg.ACK, code)] and out[0].payload()
    assert w.p.stats[counter] == 1 and w.wire(P, S) == []


def test_safe_unknown_options_forwarded_hop_limit_decremented():
    w = World(n=1, proxy=dict(hop_limit=None))
    raw(w, 0, req(msg.GET, [(o.PROXY_URI, "coap://sensor.example/t"), (65008, b"safe"), (HOP_LIMIT, 5)]))
    f = w.wire(P, S)[0]
    assert f.opt(65008) == b"safe" and f.uint(HOP_LIMIT) == 4


def test_upstream_silent_gives_504():
    w = World(n=1, proxy=dict(ack_timeout_ms=100, max_retransmit=1, wait_ms=60000, ack_delay_ms=50))
    w.net.remove(S)
    out = raw(w, 0, req(msg.GET, [(o.PROXY_URI, "coap://sensor.example/t")]), wait=5000)
    assert [(m.type, m.code) for m in out] == [(msg.ACK, 0), (msg.CON, 0xA4)]
    ob = w.observe(0)
    w.net.run(5000)
    assert ob.state == client.ENDED and "5.04" in (ob.error or "") and not w.p.targets


@pytest.mark.parametrize("payload", [b"", b"\xa0", b"\xff\x00", cborenc.dumps({1: b"\x01", 2: b"\x45", 3: [1]}),
                                     cborenc.dumps({1: b"\x01\x60", 2: b"\x45\x60", 3: [1, b"\x7b", 5, 6, 7]})])
def test_malformed_informative_responses_counted_no_group_clients_told(payload):
    """The proxy's upstream core retries once, then the clients get 5.02; no group is joined."""
    w = World(n=1, proxy=dict(ack_timeout_ms=100))
    w.net.remove(S)
    ob = w.observe(0)
    sent = [msg.decode(d) for t, s, dd, d, g in w.net.wire if s == P and dd == S]
    for k in range(2):
        f = [m for m in sent if m.code == msg.GET][-1]
        bad = msg.encode(msg.ACK, msg.SERVICE_UNAVAILABLE, f.mid, f.token_bytes(),
                         [(o.CONTENT_FORMAT, o.CF_INFORMATIVE)], payload)
        w.p.receive(bad, S, w.net.now)
        w.net.pump()
        assert w.p.groups == {}
        n = len(w.net.wire)
        w.net.run(11000)
        sent = [msg.decode(d) for t, s, dd, d, g in w.net.wire[n:] if s == P and dd == S]
        if k == 0:
            assert sent, "the proxy did not register again after a malformed informative response"
    assert w.p.up.stats.dropped["inforesp"] == 2 and w.p.groups == {} and not w.p.targets
    assert ob.state == client.ENDED and "5.02" in ob.error


def test_chain_only_the_proxy_next_to_the_origin_joins():
    w = World(n=2, chain=True)
    (c1a, c1, s1), (c2a, c2, s2) = w.cs
    ob1 = w.observe(0)
    ob2 = w.observe(1)
    assert w.p.groups == {GRP: 1} and w.p2.groups == {} and c1.groups == {} and c2.groups == {}
    assert ob1.state == ob2.state == client.PROXY
    f = w.wire(P2, P)[0]
    assert f.opt(o.PROXY_URI) == URI.encode()            # P2 keeps Proxy-Uri for the next proxy
    assert list(w.p.targets.values())[0].observers.keys() == {P2}   # P sees P2 as its one client
    n = len(w.net.wire)
    w.update("/r", cborenc.dumps("5678"))
    assert len(w.wire(P, P2, n)) == 1 and len(w.wire(P2, c1a, n)) == 1 and len(w.wire(P2, c2a, n)) == 1
    assert s1.got[-1][0] == s2.got[-1][0] == cborenc.dumps("5678")
    assert c1.stats.reordered == c2.stats.reordered == 0


def test_server_restart_behind_the_proxy_observers_re_informed():
    w = World(n=1, proxy=dict(max_silence_ms=3000))
    a, c, s = w.cs[0]
    ob = w.observe(0)
    old = w.srv.core.group_for("/r").token
    # the server process dies (no §2.5 cancellation) and a new one starts on the same address
    w.net.remove(S)
    res = [Resource("/r", cborenc.dumps("new"), 60, group_after=1, writable=True)]
    w.srv = w.net.add(S, Server(ServerCore(res, Config(srv_addr=S[0], grp=GRP, notify_interval_ms=0),
                                           rng=random.Random(99))))
    w.net.run(15000)  # the proxy's silence deadline passes: it registers again and gets the new T
    new = w.srv.core.group_for("/r").token
    assert new != old and w.p.groups == {GRP: 1}
    assert ob.state == client.PROXY and w.p.stats["informative_out"] == 2
    w.update("/r", cborenc.dumps("after"))
    assert s.got[-1][0] == cborenc.dumps("after") and c.stats.reordered == 0


def test_server_cancellation_reaches_the_clients():
    w = World(n=2)
    obs = [w.observe(0), w.observe(1)]
    w.srv._keep(w.srv.core.cancel_group("/r", w.net.now))   # §2.5: multicast 5.03 without Observe/payload
    w.net.pump()
    assert all(ob.state == client.ENDED for ob in obs) and w.p.groups == {} and not w.p.targets
    assert all("cancelled" in ob.error for ob in obs)


def test_bad_datagrams_never_crash_the_proxy():
    w = World(n=1)
    w.observe(0)
    rng = random.Random(5)
    for k in range(3000):
        n = rng.randrange(0, 40)
        data = bytes(rng.getrandbits(8) for _ in range(n))
        if data and rng.random() < 0.5:
            data = bytes([0x40 | (data[0] & 0x3F)]) + data[1:]
        src = (S, P, w.cs[0][0], ("10.9.9.9", 1))[k % 4]
        w.p.receive(data, src, w.net.now, GRP if k % 7 == 0 else None)
        w.p.tick(w.net.now + k)
        for buf, dst in w.p.take():
            msg.decode(buf)
    assert w.p.stats["errors"] == 0


def test_fuzz_target_reaches_group_traditional_and_waiting_states():
    from tools.fuzz.proxy import ProxyTarget
    t = ProxyTarget()
    t(b"")
    p = t.p
    states = sorted(x.up.state for x in p.targets.values())
    assert client.GROUP in states and client.TRAD in states and client.REG in states, states
    assert len(p.groups) == 1 and sum(len(x.observers) for x in p.targets.values()) == 3
    assert p.down.open                                  # a request is waiting for its upstream answer
    t(bytes([4]) + msg.encode(msg.NON, msg.CONTENT, 1, bytes(p.up.obs[0].token), [(o.OBSERVE, 50)], b"x"))
    assert p.stats["notifications_in"] >= 3


def test_traditional_cache_served_only_while_fresh_with_the_time_left():
    w = World(n=2)
    (c1a, c1, s1), (c2a, c2, s2) = w.cs
    w.observe(0, "coap://10.0.0.1/t")
    w.net.run(20000)                                   # 20 s of the default Max-Age 60 s gone
    n = len(w.net.wire)
    w.observe(1, "coap://10.0.0.1/t")
    first = w.wire(P, c2a, n)[0]
    assert w.wire(P, S, n) == [] and first.uint(o.MAX_AGE) == 40    # from the proxy, 40 s left
    # stale: a new client's registration refreshes it upstream first
    w.net.nodes.pop(c2a)
    w3 = client.Client(rng=random.Random(99), log=lambda *a: None)
    a3 = ("10.0.3.3", 5683)
    w.net.add(a3, w3)
    w.srv.core.resources["/t"].set(b"fresh")         # changed without a notification
    t = list(w.p.targets.values())[0]
    t.fresh_until = w.net.now                          # (as after Max-Age)
    s3 = sim.Sink()
    n = len(w.net.wire)
    w3.observe(P, [(o.PROXY_URI, "coap://10.0.0.1/t")], s3, w.net.now)
    w.net.pump()
    assert [m.uint(o.OBSERVE) for m in w.wire(P, S, n)] == [0] and s3.got[0][0] == b"fresh"
