# Draft -04 §9 (intermediaries together with end-to-end security) on the in-memory network of
# tools/proxy/sim.py with a fake clock: the server behind --oscore (tools/server/secure.py), the proxy
# core (tools/proxy/ticket.py, opaque.py) and board client cores with coap.groupsec (coap/ticket.py).
# Appendix D's sequence with the draft's identifiers (C1 kid 1 SN 101, C2 kid 2 SN 201, S kid 3 SN 301 /
# kid 4 SN 401, the group's kid 5 SN 501, Gid 57ab2e; tokens 0x4a, 0x4b, 0x01, 0x02; T = 0x7b), chains,
# and the faults: bad LTMR values, a group the proxy cannot join, a proxy that does not answer or
# refuses, the server's cancellation, clients leaving, replay and tampering between proxy and client.
# Where Appendix D and the body differ we follow the body (README "Proxies"): the LTMR value is tp_info
# in §2.2.2's order ([1, T, ...], not [0x7b, 1, ...]); the ticket request's OSCORE option is ph_req's,
# kid context included; the informative response's outer code is 2.04 (RFC 8613 §4.2), the first
# multicast notification's Partial IV 503 and its Observe the resource's next (test_oscore_example7).
import random

import aiocoap
import pytest

from coap import client, msg, cborenc, cbor, cose
from coap import optinfo as o
from tools.proxy.core import ProxyCore, ProxyConfig
from tools.proxy.sim import Net, Server, S, P, P2, GRP
from tools.server.core import ServerCore, Config
from tools.server.resources import Resource
from tools.server import secure

from secflow import FixedRng, board_sec, keys

URI = "coap://sensor.example/r"
FETCH = 0x05
GID = bytes.fromhex("57ab2e")
C1, C2 = ("10.0.1.1", 5683), ("10.0.1.2", 5683)
CBOR_1234, CBOR_5678 = cborenc.dumps("1234"), cborenc.dumps("5678")


class SeqRng(FixedRng):
    """getrandbits(8) gives the token bytes listed, in turn (then 0xc0, 0xc1, ...); all else 0."""

    def __init__(self, tokens):
        FixedRng.__init__(self)
        self.tokens = list(tokens)
        self.n = 0xc0

    def getrandbits(self, k):
        if k != 8:
            return 0
        if self.tokens:
            return self.tokens.pop(0)
        self.n = (self.n + 1) & 0xFF
        return self.n


class World:
    """S (SecureServer around ServerCore, /r group-observed from the first registration), P (its names:
    sensor.example -> S), optionally P2 in front of P, boards c1, c2 (10.0.1.k) with coap.groupsec."""

    def __init__(self, tmp, boards=("c1", "c2"), chain=False, proxy=None, draft=False, **ccfg):
        self.keydir = keys(tmp, n=len(boards), seqs={"group": 501, "oscore:c1": 301, "oscore:c2": 401} if draft else None)
        self.net = Net()
        self.core = ServerCore([Resource("/r", CBOR_1234, 60, group_after=1, writable=True),
                                Resource("/t", "0", 0, writable=True)],
                               Config(srv_addr=S[0], grp=GRP, notify_interval_ms=0, token_len=1 if draft else 4),
                               rng=FixedRng(0x7b) if draft else random.Random(1))
        self.srv = secure.setup(self.core, self.keydir + "/server.json")
        self.s = self.net.add(S, Server(self.srv))
        pcfg = dict(proxy or {})
        self.p = self.net.add(P, ProxyCore(ProxyConfig(**pcfg), rng=random.Random(2),
                                           resolve={"sensor.example": (S[0], None)}.get))
        self.p2 = self.net.add(P2, ProxyCore(ProxyConfig(next_hop=P, **pcfg), rng=random.Random(3))) if chain else None
        self.c = {}
        self.addr = {}
        for k, name in enumerate(boards):
            rng = SeqRng([(0x4a, 0x4b), (0x01, 0x02)][k]) if draft else random.Random(10 + k)
            c = client.Client(sec=board_sec(self.keydir, name, seq=(101, 201)[k] if draft else 0), rng=rng,
                              token_len=1, **ccfg)
            c.got, c.ended = [], []
            self.c[name] = c
            self.addr[name] = ("10.0.1.%d" % (k + 1), 5683)
            self.net.add(self.addr[name], c)

    def observe(self, name, run=1000, uri=URI):
        c = self.c[name]
        ob = c.observe(P2 if self.p2 else P, [(o.PROXY_URI, uri)], lambda p, cf, v, via: c.got.append((bytes(p), v, via)),
                       self.net.now, lambda ob, why: c.ended.append(why))
        self.net.pump()
        self.net.run(run)
        return ob

    def update(self, value, path="/r"):
        self.s.update(path, value, self.net.now)
        self.net.pump()

    def wire(self, src, dst, since=0):
        return [msg.decode(d) for t, d in self.net.between(src, dst, since)]

    def mark(self):
        return len(self.net.wire)


def _osc(m):
    return cose.parse_option(m.opt(cose.OSCORE))


def _tp(m):
    return cbor.loads(m.opt(o.LTMR))


def _requests(msgs):
    return [m for m in msgs if 1 <= m.code <= 31]


def test_appendix_d_step_by_step(tmp_path):
    w = World(tmp_path, draft=True)
    c1, c2 = w.c["c1"], w.c["c2"]
    p = w.p
    # C1 -> P: FETCH, Token 0x4a, Observe 0, OSCORE {kid 1; piv 101}, Uri-Host, Proxy-Scheme; GET Observe 0 /r inside
    ob1 = w.observe("c1")
    reg1 = w.wire(C1, P)[0]
    assert reg1.type == msg.CON and reg1.code == FETCH and reg1.token_bytes() == b"\x4a" and reg1.uint(o.OBSERVE) == 0
    assert _osc(reg1) == (bytes([101]), None, b"\x01", False)
    assert reg1.opt(o.URI_HOST) == b"sensor.example" and reg1.opt(o.PROXY_SCHEME) == b"coap" and not reg1.has(o.URI_PATH)
    # P -> S: FETCH, the proxy's token, Observe 0, the same OSCORE option and ciphertext, Uri-Host (no Proxy-Scheme)
    f1 = w.wire(P, S)[0]
    assert f1.code == FETCH and f1.token_bytes() != b"\x4a" and f1.uint(o.OBSERVE) == 0
    assert [n for n, v in f1.items()] == [o.URI_HOST, o.OBSERVE, cose.OSCORE] and f1.opt(o.URI_HOST) == b"sensor.example"
    assert f1.opt(cose.OSCORE) == reg1.opt(cose.OSCORE) and f1.payload() == reg1.payload()
    # S: T = 0x7b, PH_REQ protected in group mode: FETCH, OSCORE {kid 5; piv 501; kid context 57ab2e}
    g = w.core.group_for("/r")
    ph = msg.decode(g.ph_req)
    assert ph.code == FETCH and ph.token_bytes() == b"\x7b" and _osc(ph) == ((501).to_bytes(2, "big"), GID, b"\x05", True)
    # S -> P: (empty ACK, then) Token P's, OSCORE {piv 301}: the informative response, unreadable to P
    ir1 = [m for m in w.wire(S, P) if m.code][0]
    assert ir1.code == msg.CHANGED and ir1.token_bytes() == f1.token_bytes() and _osc(ir1)[0] == (301).to_bytes(2, "big")
    assert p.stats["informative_in"] == 0  # P does not even see an informative response (§9)
    # P -> C1: the same, Token 0x4a (untouched)
    a1 = [m for m in w.wire(P, C1) if m.code][0]
    assert a1.token_bytes() == b"\x4a" and a1.code == ir1.code and a1.items() == ir1.items() and a1.payload() == ir1.payload()
    # C1 -> P: the ticket request: FETCH, Token 0x4b, Observe 0, ph_req's OSCORE option (kid 5, piv 501,
    # kid context), Uri-Host, Proxy-Scheme, LTMR = [1, h'7b', SRV_ADDR, SRV_PORT, GRP_ADDR, GRP_PORT],
    # ph_req's ciphertext and counter signature
    t1 = _requests(w.wire(C1, P))[1]
    assert t1.type == msg.CON and t1.code == FETCH and t1.token_bytes() == b"\x4b" and t1.uint(o.OBSERVE) == 0
    assert t1.opt(cose.OSCORE) == ph.opt(cose.OSCORE) and _osc(t1) == ((501).to_bytes(2, "big"), GID, b"\x05", True)
    assert t1.opt(o.URI_HOST) == b"sensor.example" and t1.opt(o.PROXY_SCHEME) == b"coap" and not t1.has(o.URI_PORT)
    assert t1.payload() == ph.payload()
    assert _tp(t1) == [1, b"\x7b", cbor.Tag(260, bytes([10, 0, 0, 1])), 5683, cbor.Tag(260, bytes([233, 252, 0, 1]))]
    assert sorted(n for n, v in t1.items()) == [o.URI_HOST, o.OBSERVE, cose.OSCORE, o.PROXY_SCHEME, o.LTMR]
    # P: consumes it (never forwarded: S got one request), listens to GRP_ADDR:GRP_PORT, C1 observes on 0x4b
    assert len(_requests(w.wire(P, S))) == 1 and p.groups == {GRP: 1}
    assert [(m.type, m.code) for m in w.wire(P, C1)][-1] == (msg.ACK, 0)
    (t,) = p.targets.values()
    assert t.ticket.token == b"\x7b" and t.ticket.srv == S and t.ticket.grp == GRP
    assert [(ob.peer, ob.token) for ob in t.observers.values()] == [(C1, b"\x4b")]
    rebuilt = msg.decode(t.ticket.ph)  # the phantom request rebuilt: T, FETCH, Observe 0, OSCORE, ciphertext
    assert rebuilt.token_bytes() == b"\x7b" and rebuilt.code == FETCH and rebuilt.payload() == ph.payload()
    assert [n for n, v in rebuilt.items()] == [o.OBSERVE, cose.OSCORE] and rebuilt.uint(o.OBSERVE) == 0
    assert ob1.state == client.PROXY and c1.got == [(CBOR_1234, 0, 1)] and bytes(ob1.token) == b"\x4b"

    # C2: FETCH, Token 0x01, OSCORE {kid 2; piv 201} -> P -> S; S -> P {piv 401}; P -> C2 (Token 0x01)
    n0 = w.mark()
    ob2 = w.observe("c2")
    reg2 = w.wire(C2, P, n0)[0]
    assert reg2.token_bytes() == b"\x01" and _osc(reg2) == (bytes([201]), None, b"\x02", False)
    f2 = _requests(w.wire(P, S, n0))
    assert len(f2) == 1 and f2[0].opt(cose.OSCORE) == reg2.opt(cose.OSCORE) and f2[0].uint(o.OBSERVE) == 0
    ir2 = [m for m in w.wire(S, P, n0) if m.code][0]
    assert _osc(ir2)[0] == (401).to_bytes(2, "big")
    assert [m for m in w.wire(P, C2, n0) if m.code][0].payload() == ir2.payload()
    # C2 -> P: its ticket request, Token 0x02: the same as C1's but for token and Message ID (§9.2)
    t2 = _requests(w.wire(C2, P, n0))[1]
    assert t2.token_bytes() == b"\x02" and t2.items() == t1.items() and t2.payload() == t1.payload()
    assert [(ob.peer, ob.token) for ob in t.observers.values()] == [(C1, b"\x4b"), (C2, b"\x02")]
    assert ob2.state == client.PROXY and p.groups == {GRP: 1}

    # /r changes to "5678": S -> GRP (multicast), Token 0x7b, OSCORE {kid 5; piv 503; kid context}
    n0 = w.mark()
    w.update(CBOR_5678)
    (mc,) = w.wire(S, GRP, n0)
    assert mc.type == msg.NON and mc.token_bytes() == b"\x7b" and _osc(mc) == ((503).to_bytes(2, "big"), GID, b"\x05", True)
    # P -> C1 (Token 0x4b) and P -> C2 (Token 0x02): the proxy's Observe, the same OSCORE option,
    # ciphertext and signature: still protected end to end
    outs = []
    for who, tok in ((C1, b"\x4b"), (C2, b"\x02")):
        (m,) = w.wire(P, who, n0)
        assert m.token_bytes() == tok and m.code == msg.CONTENT and m.opt(cose.OSCORE) == mc.opt(cose.OSCORE)
        assert m.payload() == mc.payload() and not m.has(o.CONTENT_FORMAT)
        outs.append(m.uint(o.OBSERVE))
    assert outs[0] == outs[1] != mc.uint(o.OBSERVE)
    # both boards verified it and delivered it (through the proxy: unicast), Observe the server's (inner)
    for c in (c1, c2):
        assert c.got == [(CBOR_1234, 0, 1), (CBOR_5678, 1, 0)], c.got
        assert c.sec.stats.verified == 1 and c.sec.rejected() == 0 and c.stats.dropped["security"] == 0
        assert not c.groups and not c.sec.tks  # no group joined by a board; the ticket request answered
    assert w.core.group_for("/r").counter.estimate() == 2
    st = p.stats
    assert st["ltmr"] == st["tickets"] == 2 and st["ltmr_refused"] == 0 and st["notifications_out"] == 2
    for t_, s_, d_, data, g_ in w.net.wire:
        aiocoap.Message.decode(data)  # every datagram parses in an independent stack


def test_chain_second_proxy_forwards_the_ticket_once(tmp_path):
    """§9.2: every proxy in the chain forwards the ticket request; the one adjacent to the origin
    consumes it and alone listens to the group (§8)."""
    w = World(tmp_path, chain=True)
    obs = [w.observe("c1"), w.observe("c2")]
    assert [ob.state for ob in obs] == [client.PROXY, client.PROXY]
    assert w.p2.stats["tickets_forwarded"] == 2 and w.p2.stats["tickets"] == 0 and not w.p2.groups
    # P got ONE ticket request (the same ticket from two clients goes once), from P2; P listens
    tk = [m for m in _requests(w.wire(P2, P)) if m.has(o.LTMR)]
    assert len(tk) == 1 and tk[0].opt(o.PROXY_SCHEME) == b"coap" and w.p.stats["tickets"] == 1
    assert w.p.groups == {GRP: 1} and not _requests(w.wire(P, S))[2:]
    w.update(CBOR_5678)
    w.update(cborenc.dumps("9"))
    for c in w.c.values():
        assert [g[0] for g in c.got] == [CBOR_1234, CBOR_5678, cborenc.dumps("9")]
        assert c.sec.rejected() == 0
    # the server is left: both clients' observations end with its cancellation, relayed through both proxies
    w.core.cancel_group("/r", w.net.now)
    w.net.pump()
    assert [c.ended for c in w.c.values()] == [["group observation cancelled by the server"]] * 2
    assert not w.p.targets and not w.p2.targets and not w.p.groups


@pytest.mark.parametrize("value,why", [
    (b"\x00\x01\x02", "not CBOR"),
    (cborenc.dumps([2, b"\x7b", cbor.Tag(260, bytes(4)), 5683, cbor.Tag(260, bytes([233, 252, 0, 1]))]), "tp_id"),
    (cborenc.dumps([1, b"\x7b", cbor.Tag(260, bytes([10, 0, 0, 1])), 5683]), "4 elements"),
    (cborenc.dumps([1, b"\x7b", cbor.Tag(260, bytes([10, 0, 0, 1])), 5683, cbor.Tag(260, bytes([10, 0, 0, 7]))]),
     "unicast cli_addr"),
    (cborenc.dumps([1, b"\x7b", cbor.Tag(260, bytes([10, 0, 0, 1])), 5683, cbor.Tag(260, bytes.fromhex("ff02" + "00" * 13 + "01"))]),
     "link-local group"),
    (cborenc.dumps([1, b"\x7b", cbor.Tag(260, bytes([233, 252, 0, 2])), 5683, cbor.Tag(260, bytes([233, 252, 0, 1]))]),
     "multicast srv_addr"),
    (cborenc.dumps([1, b"\x7b", bytes([10, 0, 0, 1]), 5683, cbor.Tag(260, bytes([233, 252, 0, 1]))]), "no tag 260"),
    (cborenc.dumps([1, bytes(9), cbor.Tag(260, bytes([10, 0, 0, 1])), 5683, cbor.Tag(260, bytes([233, 252, 0, 1]))]),
     "9-byte token"),
])
def test_bad_ltmr_value_is_4_02_counted_nothing_joined(tmp_path, value, why):
    w = World(tmp_path, boards=("c1",))
    ob = w.observe("c1")
    good = _requests(w.wire(C1, P))[1]
    n0 = w.mark()
    bad = msg.encode(msg.CON, FETCH, 0x1234, b"\x99", [kv for kv in good.items() if kv[0] != o.LTMR] + [(o.LTMR, value)],
                     bytes(good.payload()))
    w.net.nodes[P].receive(bad, ("10.0.1.9", 5683), w.net.now)
    w.net.pump()
    (ans,) = w.wire(P, ("10.0.1.9", 5683), n0)
    assert (ans.type, ans.code) == (msg.ACK, 0x82) and b"Listen-To-Multicast-Responses" in bytes(ans.payload()), why
    assert w.p.stats["ltmr_refused"] == 1 and w.p.stats["errors"] == 0
    (t,) = w.p.targets.values()  # only c1's (its good ticket); the bad one added nobody and joined nothing
    assert list(t.observers) == [C1] and w.p.groups == {GRP: 1} and ob.state == client.PROXY


@pytest.mark.parametrize("edit,code,text", [
    (lambda items, pl: ([kv for kv in items if kv[0] != cose.OSCORE], pl), msg.BAD_REQUEST, b"protected"),
    (lambda items, pl: (items, b""), msg.BAD_REQUEST, b"protected"),
    (lambda items, pl: ([kv for kv in items if kv[0] != o.OBSERVE], pl), msg.BAD_REQUEST, b"Observe 0"),
    (lambda items, pl: ([kv for kv in items if kv[0] != cose.OSCORE] + [(cose.OSCORE, b"\x09\x00\x01")], pl),
     msg.BAD_REQUEST, b"group-mode"),
    (lambda items, pl: ([kv for kv in items if kv[0] != o.URI_HOST] + [(o.URI_HOST, "10.0.0.7")], pl),
     msg.BAD_REQUEST, b"not the request's target"),
])
def test_ticket_request_that_is_not_one_is_4_00(tmp_path, edit, code, text):
    w = World(tmp_path, boards=("c1",))
    w.observe("c1")
    good = _requests(w.wire(C1, P))[1]
    items, pl = edit(good.items(), bytes(good.payload()))
    n0 = w.mark()
    w.net.nodes[P].receive(msg.encode(msg.CON, FETCH, 0x1234, b"\x99", items, pl), ("10.0.1.9", 5683), w.net.now)
    w.net.pump()
    (ans,) = w.wire(P, ("10.0.1.9", 5683), n0)
    assert (ans.type, ans.code) == (msg.ACK, code) and text in bytes(ans.payload())
    assert w.p.stats["ltmr_refused"] == 1 and len(next(iter(w.p.targets.values())).observers) == 1


def test_group_the_proxy_cannot_join_ends_the_observation_with_its_reason(tmp_path):
    w = World(tmp_path, boards=("c1",))
    ob = w.observe("c1", run=0)  # (the driver tries to join at once: before any timer)
    assert w.p.groups == {GRP: 1}
    w.p.join_failed(GRP, "No such device", w.net.now)  # what the driver says when the join fails
    w.net.pump()
    assert ob.state == client.ENDED and w.c["c1"].ended == [
        "ticket request refused by the proxy: 5.03 proxy cannot listen to 233.252.0.1:5683: No such device"]
    assert not w.p.groups and not w.p.targets and w.p.stats["join_failed"] == 1
    assert w.c["c1"].stats.dropped["security"] == 0


def test_proxy_that_never_answers_the_ticket_ends_the_observation(tmp_path):
    w = World(tmp_path, boards=("c1",), ack_timeout_ms=500)  # (all 5 tries before its silence deadline)
    tickets = []

    def drop(s, d, data):
        m = msg.decode(data)
        if d == P and m.has(o.LTMR):
            tickets.append(m)
            return True
        return False
    w.net.drop = drop
    ob = w.observe("c1", run=50000)
    assert len(tickets) == 5 and len({m.mid for m in tickets}) == 1  # CON, MAX_RETRANSMIT = 4
    assert ob.state == client.ENDED and w.c["c1"].ended == ["ticket request: no answer from the proxy"]


def test_proxy_without_section_9_refuses_the_ticket(tmp_path):
    """A proxy that does not know LTMR (critical) answers 4.02 (RFC 7252 §5.4.1), unprotected: the
    board takes it as the proxy's answer to its ticket request (RFC 8613 §8.4) and ends."""
    w = World(tmp_path, boards=("c1",))
    real = w.p.tickets.request

    def refuse(ex, r, m, now):
        w.p.down.reply(ex, 0x82, [], b"Unknown critical option", now)
    w.p.tickets.request = refuse
    ob = w.observe("c1")
    assert ob.state == client.ENDED and w.c["c1"].ended == ["ticket request refused by the proxy: 4.02 Unknown critical option"]
    assert not w.p.groups
    w.p.tickets.request = real


def test_reset_to_the_ticket_ends_the_observation(tmp_path):
    w = World(tmp_path, boards=("c1",))
    p = w.p

    def rst(ex, r, m, now):
        p.down.send(msg.empty(msg.RST, ex.mid), ex.peer)
    p.tickets.request = rst
    ob = w.observe("c1")
    assert ob.state == client.ENDED and w.c["c1"].ended == ["ticket request reset by the proxy"]


def test_unprotected_error_after_the_first_notification_is_dropped(tmp_path):
    """Once notifications flow, an unprotected word on the token is not the proxy's answer to the
    ticket any more: dropped (security), the observation goes on."""
    w = World(tmp_path, boards=("c1",))
    ob = w.observe("c1")
    w.update(CBOR_5678)
    c = w.c["c1"]
    c.receive(msg.encode(msg.NON, msg.SERVICE_UNAVAILABLE, 0x4444, bytes(ob.token), [], b"bye"), P, w.net.now)
    assert ob.state == client.PROXY and c.stats.dropped["security"] == 1
    w.update(cborenc.dumps("9"))
    assert c.got[-1][0] == cborenc.dumps("9")


def test_replayed_or_tampered_notifications_through_the_proxy_rejected(tmp_path):
    w = World(tmp_path, boards=("c1",))
    ob = w.observe("c1")
    c = w.c["c1"]
    held = []
    w.net.drop = lambda s, d, data: d == C1 and held.append(data) is None
    w.update(CBOR_5678)
    w.net.drop = None
    (fwd,) = [msg.decode(d) for d in held]

    def again(m, mid, flip=None):
        b = bytearray(msg.encode(m.type, m.code, mid, m.token_bytes(), m.items(), bytes(m.payload())))
        if flip is not None:
            b[flip] ^= 1
        c.receive(bytes(b), P, w.net.now)
    again(fwd, fwd.mid ^ 1, flip=-3)                                 # its signature tampered (in front of it)
    again(fwd, fwd.mid ^ 2, flip=-80)                                # its ciphertext tampered
    again(fwd, fwd.mid)                                              # the real one
    again(fwd, fwd.mid ^ 3)                                          # replayed (a new Message ID)
    forged = msg.encode(msg.NON, msg.CONTENT, 0x7777, fwd.token_bytes(), [(o.OBSERVE, 99)], b"forged")
    c.receive(forged, P, w.net.now)                                  # unprotected
    assert [g[0] for g in c.got] == [CBOR_1234, CBOR_5678] and c.stats.dropped["security"] == 4
    rej = c.sec.rejects()
    assert rej["replay"] == 1 and rej["signature"] == 1 and rej["tag"] == 1 and rej["not_protected"] == 1, rej
    w.update(cborenc.dumps("9"))
    assert c.got[-1][0] == cborenc.dumps("9") and ob.state == client.PROXY


def test_server_cancellation_relayed_group_left(tmp_path):
    w = World(tmp_path)
    w.observe("c1")
    w.observe("c2")
    w.core.cancel_group("/r", w.net.now)
    w.net.pump()
    for c in w.c.values():
        assert c.ended == ["group observation cancelled by the server"] and c.sec.rejected() == 0
    assert not w.p.targets and not w.p.groups and w.p.stats["ticket_ended"] == 1


def test_clients_leaving_release_the_group(tmp_path):
    w = World(tmp_path, proxy=dict(con_every=1))
    obs = {n: w.observe(n) for n in ("c1", "c2")}
    w.c["c1"].cancel(obs["c1"], w.net.now, rst=True)
    w.update(CBOR_5678)
    assert w.p.groups == {GRP: 1} and [list(t.observers) for t in w.p.targets.values()] == [[C2]]
    # c2 vanishes: its CON notification times out
    w.net.remove(C2)
    w.update(cborenc.dumps("9"))
    w.net.run(300000)
    assert not w.p.targets and not w.p.groups and w.p.stats["observers_removed"] == 2


def test_silence_ends_the_proxy_listening(tmp_path):
    w = World(tmp_path, boards=("c1",), proxy=dict(max_silence_ms=30000))
    w.observe("c1")
    assert w.p.groups == {GRP: 1}
    w.net.remove(C1)
    w.net.run(31000)
    assert not w.p.targets and not w.p.groups and w.p.stats["ticket_ended"] == 1


def test_ltmr_number_configurable_everywhere(tmp_path):
    old = (o.MRFD, o.LTMR, o.PM, o.CF_INFORMATIVE)
    o.configure(ltmr=65011)
    try:
        w = World(tmp_path, boards=("c1",))
        ob = w.observe("c1")
        (tk,) = [m for m in w.wire(C1, P) if m.has(65011)]
        assert not tk.has(65003) and ob.state == client.PROXY and w.p.groups == {GRP: 1}
        w.update(CBOR_5678)
        assert w.c["c1"].got[-1][0] == CBOR_5678
    finally:
        o.configure(*old)


def test_protected_traditional_observation_relayed_as_it_is(tmp_path):
    """A protected observation of a resource that is not group-observed: the proxy cannot read it
    either; registration and notifications are relayed per client on their tokens (opaque.py)."""
    w = World(tmp_path, boards=("c1",))
    ob = w.observe("c1", uri="coap://sensor.example/t")
    assert ob.state == client.TRAD and not w.p.groups
    for v in (b"1", b"2"):
        w.update(v, "/t")
    c = w.c["c1"]
    assert [g[0] for g in c.got] == [b"0", b"1", b"2"] and c.stats.dropped["security"] == 0
    (t,) = w.p.targets.values()
    assert t.relay is not None and list(t.observers) == [C1] and w.p.stats["notifications_out"] == 2
    w.c["c1"]._register(ob, w.net.now)  # a re-registration (Max-Age expiry, same token): replaces the relay
    w.net.pump()
    (t2,) = w.p.targets.values()
    assert t2 is not t and list(t2.observers) == [C1]
    w.update(b"3", "/t")
    assert [g[0] for g in c.got][-1] == b"3" and c.stats.dropped["security"] == 0


def test_protected_registration_upstream_silent_gets_5_04(tmp_path):
    w = World(tmp_path, boards=("c1",), proxy=dict(ack_timeout_ms=100, max_retransmit=1, ack_delay_ms=50))
    w.net.remove(S)
    n0 = w.mark()
    w.observe("c1", run=2000)
    sent = w.wire(P, S, n0)  # the CON and its one retransmission (max_retransmit 1), outer Observe kept
    assert len(sent) == 2 and sent[0].mid == sent[1].mid and sent[0].uint(o.OBSERVE) == 0 and sent[0].has(cose.OSCORE)
    ans = [m for m in w.wire(P, C1, n0) if m.code]
    assert ans and ans[0].code == 0xA4 and bytes(ans[0].payload()) == b"no answer from upstream"
    assert not w.p.targets and w.p.stats["gateway_timeouts"] == 1
