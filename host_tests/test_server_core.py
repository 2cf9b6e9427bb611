# The sans-I/O server core with a fake clock (issue 4): group observation (draft -04 §2),
# informative responses, multicast notifications, rough counting (§5.2, B.3), RFC 7252/7641
# behaviour, bad input. Every emitted datagram is also decoded by aiocoap (independent peer).
import random

import aiocoap

from coap import msg, inforesp, cbor
from coap import optinfo as o   # the whole option table (coap.options and more)
from coap.params import MAX_RETRANSMIT
from tools.server.core import ServerCore, Config
from tools.server.counting import RoughCounter, q_for
from tools.server.resources import Resource, builtins

SRV = "127.0.0.1"
GRP = ("224.0.1.187", 5683)
C1 = ("127.0.0.1", 40001)
C2 = ("127.0.0.1", 40002)


class Harness:
    def __init__(self, resources=None, **cfg):
        cfg.setdefault("srv_addr", SRV)
        cfg.setdefault("grp", GRP)
        self.pm = cfg.pop("pm", None)
        self.s = ServerCore(resources if resources is not None else builtins(time_period_ms=0, sensor_period_ms=0), Config(**cfg), pm=self.pm,
                            rng=random.Random(7))
        self.now = 0
        self.sent = []

    def _check(self, out):
        for buf, dst in out:
            aiocoap.Message.decode(buf)   # every message we emit parses in an independent stack
            self.sent.append((buf, dst))
        return [(msg.decode(b), d) for b, d in out]

    def rx(self, buf, src=C1):
        self.s.receive(buf, src, self.now)
        return self._check(self.s.take())

    def tick(self, t):
        self.now = t
        self.s.tick(t)
        return self._check(self.s.take())

    def update(self, path, v):
        self.s.update(path, v, self.now)
        return self._check(self.s.take())


def reg(mid=1, tok=b"\x4a", path="r", mtype=msg.CON, extra=()):
    return msg.encode(mtype, msg.GET, mid, tok, [(o.OBSERVE, 0), (o.URI_PATH, path)] + list(extra))


def confirmation(mid, path="r"):
    # §5.1: NON, Observe 0, empty MRFD, No-Response 26
    return reg(mid, b"\x01", path, msg.NON, [(o.MRFD, None), (o.NO_RESPONSE, o.NO_RESPONSE_ALL)])


def test_con_registration_empty_ack_then_con_503_informative():
    h = Harness()
    out = h.rx(reg())
    assert len(out) == 2
    ack, d0 = out[0]
    assert ack.type == msg.ACK and ack.code == 0 and ack.mid == 1 and d0 == C1
    ir, d1 = out[1]
    assert ir.type == msg.CON and ir.code == msg.SERVICE_UNAVAILABLE and ir.token_bytes() == b"\x4a"
    assert ir.uint(o.CONTENT_FORMAT) == o.CF_INFORMATIVE and not ir.has(o.OBSERVE)
    p = inforesp.parse(bytes(ir.payload()))
    g = h.s.group_for("/r")
    assert p.token == g.token and len(p.token) == 4
    assert p.srv_addr == bytes([127, 0, 0, 1]) and p.srv_port == 5683
    assert p.cli_addr == bytes([224, 0, 1, 187]) and p.cli_port == 5683
    ph = msg.from_tim(p.ph_req, p.token)
    m = msg.decode(ph)
    assert m.code == msg.GET and m.uint(o.OBSERVE) == 0 and m.path() == "/r"
    ln = msg.decode(msg.from_tim(p.last_notif, p.token))
    assert ln.code == msg.CONTENT and ln.has(o.OBSERVE) and bytes(ln.payload()) == b"0"   # INIT_NOTIF
    assert g.init and g.counter.count == 1
    # the payload comes from coap.inforespenc.build: tag 260 addresses, exactly keys 1, 2, 3
    raw = cbor.loads(bytes(ir.payload()))
    assert sorted(raw) == [1, 2, 3] and raw[3][2] == cbor.Tag(260, bytes([127, 0, 0, 1])) and len(raw[3]) == 5


def test_informative_retransmitted_until_acked_and_given_up_after_max_retransmit():
    h = Harness()
    ir = h.rx(reg())[1][0]
    assert h.tick(1000) == []
    t, seen = 0, 0
    for k in range(MAX_RETRANSMIT):
        t = h.s.next_deadline()
        out = h.tick(t)
        assert len(out) == 1 and out[0][0].buf == ir.buf
        seen += 1
    assert seen == 4
    # given up: the only registration joined no group (COUNT back to 0), so the group observation is
    # cancelled with the multicast 5.03 (§2.5; tools/server/core.py _not_in_group)
    last = h.tick(h.s.next_deadline())
    assert [(m.code, d) for m, d in last] == [(msg.SERVICE_UNAVAILABLE, GRP)]
    assert h.s.stats["timeouts"] == 1 and not h.s.pending and h.s.group_for("/r") is None
    # ACKed: no retransmission
    h2 = Harness()
    ir2 = h2.rx(reg())[1][0]
    assert h2.rx(msg.empty(msg.ACK, ir2.mid)) == []
    assert not h2.s.pending and h2.tick(60000) == []


def test_non_registration_gets_non_503_and_every_registration_counts():
    h = Harness()
    out = h.rx(reg(5, b"\x01\x02", mtype=msg.NON))
    assert len(out) == 1 and out[0][0].type == msg.NON and out[0][0].code == msg.SERVICE_UNAVAILABLE
    out2 = h.rx(reg(9, b"\x07", mtype=msg.NON), C2)
    p1 = inforesp.parse(bytes(out[0][0].payload()))
    p2 = inforesp.parse(bytes(out2[0][0].payload()))
    assert p1.token == p2.token and h.s.group_for("/r").counter.count == 2
    assert h.s.stats["registrations"] == 2


def test_notifications_multicast_non_observe_token_T_rate_limited_and_coalesced():
    h = Harness(notify_interval_ms=3000)
    ir = h.rx(reg())[1][0]
    h.rx(msg.empty(msg.ACK, ir.mid))
    g = h.s.group_for("/r")
    h.now = 100
    out = h.update("/r", "1")
    assert len(out) == 1
    n, dst = out[0]
    assert dst == GRP and n.type == msg.NON and n.code == msg.CONTENT and n.token_bytes() == g.token
    assert n.has(o.OBSERVE) and bytes(n.payload()) == b"1"
    obs1 = n.uint(o.OBSERVE)
    h.now = 1000
    assert h.update("/r", "2") == [] and h.update("/r", "3") == []     # coalesced
    assert h.s.next_deadline() <= 3100
    assert h.tick(3000) == []
    out = h.tick(3100)
    assert len(out) == 1 and bytes(out[0][0].payload()) == b"3" and out[0][0].uint(o.OBSERVE) > obs1
    assert not g.init and g.sent == 2
    # a later registration gets the latest notification in last_notif (§2.3)
    ir = h.rx(reg(2, b"\x4b"), C2)[1][0]
    ln = msg.decode(msg.from_tim(inforesp.parse(bytes(ir.payload())).last_notif, g.token))
    assert bytes(ln.payload()) == b"3"


def test_mrfd_only_in_first_notification_of_a_round():
    h = Harness(notify_interval_ms=0, wait_ms=5000)
    h.rx(reg())
    h.now = 10
    n1 = h.update("/r", "1")[0][0]
    assert n1.opt_len(o.MRFD) == 0 and n1.uint(o.MRFD) == 0      # Q = 0 (N = 1 <= M)
    h.now = 20
    n2 = h.update("/r", "2")[0][0]
    assert not n2.has(o.MRFD)


def test_confirmation_counted_as_R_no_reply_no_count_increment():
    h = Harness(notify_interval_ms=0, wait_ms=5000)
    h.rx(reg())
    g = h.s.group_for("/r")
    h.now = 10
    h.update("/r", "1")
    assert g.counter.open
    assert h.rx(confirmation(100), C2) == []
    assert g.counter.r == 1 and g.counter.count == 1 and h.s.stats["confirmations"] == 1


def test_section_523_worked_example_through_the_core():
    # N = COUNT = 32, M = 8 -> MRFD 2; 4 confirmations arrive; D = 1 -> 32 + (16 - 32) = 16
    h = Harness(notify_interval_ms=0, wait_ms=5000, m=8, d=1)
    for k in range(32):
        h.rx(reg(k + 1, b"\x01", mtype=msg.NON), ("127.0.0.1", 41000 + k))
    g = h.s.group_for("/r")
    assert g.counter.count == 32
    h.now = 100
    n = h.update("/r", "x")[0][0]
    assert n.uint(o.MRFD) == 2
    for k in range(4):
        h.now = 200 + k
        assert h.rx(confirmation(500 + k), ("127.0.0.1", 41000 + k)) == []
    h.tick(5000)
    assert g.counter.open
    h.tick(5100)
    assert not g.counter.open and g.counter.count == 16 and h.s.group_for("/r") is g
    assert g.counter.history[-1] == (1, 32, 2, 4, 16, 16)


def test_counter_b3_rules():
    assert [q_for(n, 8) for n in (0, 1, 8, 9, 16, 17, 32, 33, 100000)] == [0, 0, 0, 1, 1, 2, 2, 3, 14]
    c = RoughCounter(m=8, d=4, wait_ms=1000)
    c.add(32)
    assert c.on_notification(0) == 2 and c.on_notification(1) is None
    c.r = 8                                  # E = 32 = N: ratio 1 -> next round after 10
    assert c.close(1000) == (32, False) and c.until_next == 10
    for _ in range(9):
        assert c.on_notification(2000) is None
    assert c.on_notification(2000) == 2
    c.r = 1                                  # E = 4: N/E = 8 > 4 -> next notification
    assert c.close(3000) == (32 + (4 - 32) / 4, False) and c.until_next == 1
    assert c.on_notification(3001) is not None
    c.r = 0                                  # R = 0 -> next notification
    c.close(4001)
    assert c.until_next == 1
    # COUNT' includes clients added during the round
    c2 = RoughCounter(m=8, d=1)
    c2.add(4)
    assert c2.on_notification(0) == 0
    c2.r = 4
    c2.add(2)
    assert c2.close()[0] == 6
    # cancel below 0.2
    c3 = RoughCounter(m=8, d=1)
    c3.add(1)
    c3.on_notification(0)
    assert c3.close() == (0, True)
    assert c3.confirm(5) is False and c3.late == 1


def test_estimate_below_threshold_cancels_with_multicast_503_and_frees_T():
    h = Harness(notify_interval_ms=0, wait_ms=1000, d=1)
    h.rx(reg())
    g = h.s.group_for("/r")
    h.now = 10
    h.update("/r", "1")
    out = h.tick(1010)
    assert len(out) == 1
    c, dst = out[0]
    assert dst == GRP and c.code == msg.SERVICE_UNAVAILABLE and c.type == msg.NON
    assert c.token_bytes() == g.token and not c.has(o.OBSERVE) and not c.has_payload()
    assert h.s.group_for("/r") is None and g.token not in h.s.tokens[GRP].used
    assert msg.decode(g.ph_cancel).uint(o.OBSERVE) == 1 and msg.decode(g.ph_cancel).path() == "/r"
    # a new registration starts a new group observation with another T
    h.rx(reg(7, b"\x09"), C2)
    assert h.s.group_for("/r").token != g.token


def test_shutdown_cancels_every_group_observation():
    h = Harness()
    h.rx(reg())
    h.rx(reg(2, b"\x01", "sensor"), C2)
    toks = {g.token for g in h.s.groups.values()}
    h.s.shutdown(5)
    out = h._check(h.s.take())
    assert len(out) == 2 and {m.token_bytes() for m, d in out} == toks
    assert all(m.code == msg.SERVICE_UNAVAILABLE and d == GRP for m, d in out) and not h.s.groups


def test_traditional_observation_rfc7641():
    h = Harness(notify_interval_ms=0, con_every=3)
    out = h.rx(reg(1, b"\x11", "time"))
    assert len(out) == 1
    r = out[0][0]
    assert r.type == msg.ACK and r.code == msg.CONTENT and r.has(o.OBSERVE) and r.token_bytes() == b"\x11"
    types = []
    for k in range(3):
        h.now = 100 * (k + 1)
        (n, d), = h.update("/time", str(k))
        assert d == C1 and n.token_bytes() == b"\x11" and n.has(o.OBSERVE)
        types.append(n.type)
    assert types == [msg.NON, msg.NON, msg.CON]   # every con_every-th is CON (RFC 7641 §4.5)
    h.rx(msg.empty(msg.ACK, n.mid))
    h.now = 500
    (n, d), = h.update("/time", "x")
    h.rx(msg.empty(msg.RST, n.mid))               # RST to a notification cancels (§3.6)
    h.now = 600
    assert h.update("/time", "y") == []
    # deregistration with Observe 1
    h.rx(reg(3, b"\x12", "time"), C2)
    out = h.rx(msg.encode(msg.CON, msg.GET, 4, b"\x12", [(o.OBSERVE, 1), (o.URI_PATH, "time")]), C2)
    assert out[0][0].code == msg.CONTENT and not out[0][0].has(o.OBSERVE)
    assert not h.s.resources["/time"].observers


def test_policy_k_moves_traditional_observers_into_the_group():
    res = [Resource("/r", "1", group_after=2, writable=True)]
    h = Harness(res)
    out = h.rx(reg(1, b"\x21"))
    assert out[0][0].code == msg.CONTENT and out[0][0].has(o.OBSERVE)       # traditional for now
    out = h.rx(reg(2, b"\x22"), C2)
    codes = sorted((m.type, m.code, d, m.token_bytes()) for m, d in out)
    assert (msg.CON, msg.SERVICE_UNAVAILABLE, C1, b"\x21") in codes          # C1 told it moved
    assert (msg.CON, msg.SERVICE_UNAVAILABLE, C2, b"\x22") in codes
    assert h.s.group_for("/r").counter.count == 2 and not res[0].observers


def test_well_known_core_and_mc_sender():
    h = Harness()
    (r, _), = h.rx(msg.encode(msg.CON, msg.GET, 1, b"", [(o.URI_PATH, ".well-known"), (o.URI_PATH, "core")]))
    body = bytes(r.payload()).decode()
    assert r.code == msg.CONTENT and r.uint(o.CONTENT_FORMAT) == 40 and "</r>;obs" in body and "</time>;obs" in body
    ir = h.rx(reg(2), C2)[1][0]
    g = h.s.group_for("/r")
    q = msg.encode(msg.CON, msg.GET, 3, b"\x01", [(o.URI_PATH, ".well-known"), (o.URI_PATH, "core"),
                                                  (o.URI_PATH, "mc-sender"), (o.URI_QUERY, "token=" + g.token.hex())])
    (r, _), = h.rx(q)
    assert r.code == msg.CONTENT and r.uint(o.CONTENT_FORMAT) == o.CF_INFORMATIVE
    assert bytes(r.payload()) == bytes(ir.payload())
    for k, (query, code) in enumerate((("token=zz", msg.BAD_REQUEST), ("token=00", msg.NOT_FOUND),
                                       ("x=1", msg.BAD_REQUEST))):
        q = msg.encode(msg.CON, msg.GET, 10 + k, b"", [(o.URI_PATH, ".well-known"), (o.URI_PATH, "core"),
                                                                (o.URI_PATH, "mc-sender"), (o.URI_QUERY, query)])
        assert h.rx(q)[0][0].code == code


def test_put_post_and_rfc7252_errors():
    h = Harness(notify_interval_ms=0, max_payload=64)
    h.rx(reg(50, b"\x55"), C2)
    (r, _), n = h.rx(msg.encode(msg.CON, msg.PUT, 1, b"\x01", [(o.URI_PATH, "r")], b"42"))
    assert r.code == msg.CHANGED and n[1] == GRP and bytes(n[0].payload()) == b"42"
    assert h.rx(msg.encode(msg.CON, msg.POST, 2, b"", [(o.URI_PATH, "r")], b"43"))[0][0].code == msg.CHANGED
    cases = [
        (msg.encode(msg.CON, msg.PUT, 3, b"", [(o.URI_PATH, "time")], b"1"), msg.METHOD_NOT_ALLOWED),
        (msg.encode(msg.CON, msg.DELETE, 4, b"", [(o.URI_PATH, "r")]), msg.METHOD_NOT_ALLOWED),
        (msg.encode(msg.CON, msg.GET, 5, b"", [(o.URI_PATH, "nope")]), msg.NOT_FOUND),
        (msg.encode(msg.CON, msg.GET, 6, b"", [(o.URI_PATH, "r"), (65001, b"x")]), msg.BAD_OPTION),
        (msg.encode(msg.CON, msg.GET, 7, b"", [(o.URI_PATH, "r"), (o.BLOCK1, 0)]), msg.BAD_OPTION),
        (msg.encode(msg.CON, msg.PUT, 8, b"", [(o.URI_PATH, "r")], b"x" * 65), msg.REQUEST_ENTITY_TOO_LARGE),
        (msg.encode(msg.CON, msg.GET, 9, b"", [(o.URI_PATH, "r"), (o.ACCEPT, 60)]), msg.NOT_ACCEPTABLE),
        (msg.encode(msg.CON, msg.GET, 10, b"", [(o.URI_PATH, "r"), (o.URI_PATH, b"\xff")]), msg.BAD_REQUEST),
        (msg.encode(msg.CON, msg.GET, 11, b"", [(o.PROXY_URI, "coap://x/r")]), 0xA5),
    ]
    for buf, code in cases:
        out = h.rx(buf)
        assert len(out) == 1 and out[0][0].type == msg.ACK and out[0][0].code == code, (buf.hex(), out[0][0].code)
    assert h.rx(msg.encode(msg.CON, msg.PUT, 12, b"", [(o.URI_PATH, "r")], b"x" * 65))[0][0].uint(o.SIZE1) == 64
    # NON with an unknown critical option is rejected (RFC 7252 §5.4.1)
    (r, _), = h.rx(msg.encode(msg.NON, msg.GET, 13, b"", [(o.URI_PATH, "r"), (65001, b"x")]))
    assert r.type == msg.RST and r.mid == 13
    st = h.s.stats
    assert st["not_found"] == 1 and st["bad_option"] == 3 and st["method"] == 2 and st["too_large"] == 2


def test_dedup_by_source_and_mid():
    h = Harness()
    a = h.rx(reg())
    b = h.rx(reg())                     # a retransmitted CON registration
    assert len(b) == 1 and b[0][0].buf == a[0][0].buf and h.s.stats["dup"] == 1
    assert h.s.group_for("/r").counter.count == 1
    assert len(h.rx(reg(), C2)) == 2     # same MID from another endpoint is a new request


def test_bad_input_counted_never_crashes():
    h = Harness()
    rng = random.Random(1)
    junk = [b"", b"\x00", b"\x40", b"\x4f\x01\x00\x01", b"\x40\x01\x00\x01\xff", b"\x80\x01\x00\x00",
            b"\x40\x00\x00\x01\x01", b"\x50\x00\x00\x01", b"\x40\x01\x00\x01\xf0"]
    junk += [bytes(rng.getrandbits(8) for _ in range(rng.randrange(1, 40))) for _ in range(2000)]
    for j in junk:
        h.rx(j, ("127.0.0.1", 30000 + rng.randrange(1000)))
    assert h.s.stats["errors"] == 0 and h.s.stats["malformed"] > 100
    out = h.rx(msg.encode(msg.CON, msg.GET, 1, b"\x01", [(o.URI_PATH, "r"), (o.URI_PATH, "")]) + b"", ("::1", 1))
    assert h.s.stats["errors"] == 0
    assert h.rx(reg(999, b"\x77"), ("127.0.0.1", 29999))[1][0].code == msg.SERVICE_UNAVAILABLE


def test_registration_flood_is_bounded_and_good_client_still_served():
    h = Harness(max_pending=200, dedup_max=500)
    for k in range(3000):
        h.rx(reg(k & 0xFFFF, b"\x01"), ("127.0.0.1", 10000 + k))
    assert len(h.s.pending) <= 200 and len(h.s.dedup) <= 500 and h.s.stats["overload"] > 0
    assert h.s.group_for("/r").counter.count == 3000
    out = h.rx(msg.encode(msg.NON, msg.GET, 1, b"\x01", [(o.URI_PATH, "time")]), ("127.0.0.1", 9))
    assert out[0][0].code == msg.CONTENT


def test_link_local_srv_addr_falls_back_to_traditional():
    h = Harness(srv_addr="fe80::1", grp=("ff05::fd", 5683))
    out = h.rx(reg())
    assert out[0][0].code == msg.CONTENT and out[0][0].has(o.OBSERVE) and h.s.group_for("/r") is None


def test_ipv6_group_tp_info():
    h = Harness(srv_addr="2001:db8::1", grp=("ff35:30:2001:db8::1234", 6000))
    ir = h.rx(reg())[1][0]
    p = inforesp.parse(bytes(ir.payload()))
    assert len(p.srv_addr) == 16 and p.cli_addr[0] == 0xFF and p.cli_port == 6000
    h.now = 10
    assert h.update("/r", "1")[0][1] == ("ff35:30:2001:db8::1234", 6000)


class FakePM:
    def __init__(self):
        self.tx_calls = []
        self.rx_calls = []

    def tx(self, peer, now, request_value=None):
        self.tx_calls.append((peer, request_value))
        return 0x20

    def rx(self, peer, value, now):
        self.rx_calls.append((peer, value))


def test_pm_hook():
    pm = FakePM()
    h = Harness(pm=pm, notify_interval_ms=0)
    out = h.rx(reg(extra=[(o.PM, 0x60)]))
    assert pm.rx_calls == [(C1, 0x60)]
    assert out[1][0].uint(o.PM) == 0x20 and pm.tx_calls[-1] == (C1, 0x60)
    h.now = 5
    n = h.update("/r", "1")[0][0]
    assert n.uint(o.PM) == 0x20 and pm.tx_calls[-1] == (GRP, None)
    h2 = Harness()
    assert not h2.rx(reg())[1][0].has(o.PM)


def test_group_oscore_seam_sees_phantom_request_and_notifications():
    kinds = []

    class Sec:
        def protect(self, g, buf, kind):
            kinds.append(kind)
            return buf

        def extra(self, g):
            return {4: "coap://gm.example/join"}

    h = Harness(security=Sec(), notify_interval_ms=0)
    ir = h.rx(reg())[1][0]
    assert inforesp.parse(bytes(ir.payload())).extra["join_uri"] == "coap://gm.example/join"
    h.now = 1
    h.update("/r", "1")
    h.s.shutdown(2)
    assert kinds == ["ph_req", "notif", "notif", "ph_cancel", "cancel"]


def test_mtu_warning(caplog):
    h = Harness(notify_interval_ms=0, path_mtu=1280)
    h.rx(reg())
    h.now = 1
    with caplog.at_level("WARNING", logger="coapcast.server"):
        h.update("/r", "x" * 100)
    assert any("5% of the path MTU" in r.getMessage() for r in caplog.records)


def test_block2_on_well_known_core():
    res = [Resource("/r%d" % k, "v") for k in range(20)]
    h = Harness(res)
    full = b""
    num = 0
    while True:
        (r, _), = h.rx(msg.encode(msg.CON, msg.GET, 100 + num, b"", [(o.URI_PATH, ".well-known"), (o.URI_PATH, "core"),
                                                                      (o.BLOCK2, (num << 4) | 2)]))
        full += bytes(r.payload())
        if not r.uint(o.BLOCK2) & 8:
            break
        num += 1
    assert num > 0 and full.count(b";obs") == 20


def test_cli_builds_core_and_driver():
    import pytest
    from tools.server.__main__ import parser, build
    core, drv = build(parser().parse_args([
        "--bind", "127.0.0.1", "--port", "6000", "--group", "224.0.1.200", "--group-port", "6001", "--policy", "3",
        "--interval", "1.5", "--m", "16", "--d", "2", "--wait", "5", "--resource", "/a=1", "--group-resource", "/g=x",
        "--update", "/a=0.5", "--seed", "3"]))
    c = core.cfg
    assert c.grp == ("224.0.1.200", 6001) and c.srv_addr == "127.0.0.1" and c.notify_interval_ms == 1500
    assert (c.m, c.d, c.wait_ms) == (16, 2, 5000)
    r = core.resources
    assert r["/r"].group_after == 3 and r["/g"].group_after == 3 and r["/a"].group_after is None
    assert r["/a"].period_ms == 500 and r["/a"].writable and r["/g"].value == b"x"
    assert drv.mc_if == "127.0.0.1" and drv.bind == ("127.0.0.1", 6000)
    core6, drv6 = build(parser().parse_args(["-6", "--policy", "never", "--no-builtins"]))
    assert core6.cfg.grp == ("ff05::fd", 5683) and drv6.bind == ("::", 5683) and not core6.resources
    with pytest.raises(SystemExit):
        parser().parse_args(["--policy", "sometimes"])


def test_mutated_valid_requests_never_raise_inside_the_core():
    h = Harness(notify_interval_ms=0, wait_ms=50)
    seeds = [reg(), reg(2, b"\x01", "r", msg.NON, [(o.MRFD, None), (o.NO_RESPONSE, 26)]),
             msg.encode(msg.CON, msg.PUT, 3, b"\x01", [(o.URI_PATH, "r"), (o.CONTENT_FORMAT, 0)], b"12"),
             msg.encode(msg.CON, msg.GET, 4, b"", [(o.URI_PATH, ".well-known"), (o.URI_PATH, "core"),
                                                   (o.URI_PATH, "mc-sender"), (o.URI_QUERY, "token=00")]),
             msg.encode(msg.CON, msg.GET, 5, b"", [(o.URI_PATH, ".well-known"), (o.URI_PATH, "core"), (o.BLOCK2, 2)])]
    rng = random.Random(11)
    for k in range(6000):
        b = bytearray(rng.choice(seeds))
        for _ in range(rng.randrange(1, 4)):
            b[rng.randrange(len(b))] = rng.getrandbits(8)
        if rng.random() < 0.2:
            b = b[:rng.randrange(len(b) + 1)]
        h.rx(bytes(b), ("127.0.0.1", 20000 + (k % 50)))
        if k % 100 == 0:
            h.tick(h.now + 200)
            h.now += 200
    assert h.s.stats["errors"] == 0 and h.s.stats["rx"] == 6000


def test_resources_from_config(tmp_path):
    import json
    from tools.server.resources import from_config
    p = tmp_path / "res.json"
    p.write_text(json.dumps({"resources": [
        {"path": "/t", "value": "20", "group_after": 1, "writable": True, "group": "224.0.1.190:6000"},
        {"path": "/u", "value": "x", "observable": False, "period_ms": 100}]}))
    t, u = from_config(str(p))
    assert t.group_after == 1 and t.grp == ("224.0.1.190", 6000) and t.writable and t.value == b"20"
    assert not u.observable and u.period_ms == 100 and u.group_after is None
    h = Harness([t, u])
    ir = h.rx(reg(1, b"\x01", "t"))[1][0]
    assert inforesp.parse(bytes(ir.payload())).cli_port == 6000
    h6 = Harness([Resource("/t", "1", group_after=1, grp=("ff05::fd", 6000))])   # IPv4 SRV_ADDR, IPv6 group
    assert h6.rx(reg(1, b"\x01", "t"))[0][0].code == msg.CONTENT and h6.s.group_for("/t") is None


def test_real_pm_endpoint_plugs_in():
    from coap.pm import PMEndpoint
    pm = PMEndpoint("server", pattern=0)
    h = Harness(pm=pm, notify_interval_ms=0)
    for k in range(20):
        h.now = k * 10
        out = h.rx(reg(k + 1, b"\x01", mtype=msg.NON, extra=[(o.PM, 0x20 if k % 2 else 0x00)]), C1)
        assert out[0][0].has(o.PM)
        h.update("/r", str(k))
    assert isinstance(pm.stats(), dict)
    from tools.server.__main__ import parser, build
    core, _ = build(parser().parse_args(["--pm", "1", "--no-builtins"]))
    assert core.pm is not None and core.pm.pattern == 1


def test_traditional_observer_table_is_bounded():
    h = Harness(max_observers=5)
    for k in range(8):
        (r, _), = h.rx(reg(k + 1, b"\x01", "time"), ("127.0.0.1", 31000 + k))
        assert r.code == msg.CONTENT and r.has(o.OBSERVE) == (k < 5)
    assert len(h.s.resources["/time"].observers) == 5 and h.s.stats["overload"] == 3
