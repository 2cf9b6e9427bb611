# Board client core, exchange layer and traditional observation (RFC 7252 §4, RFC 7641),
# with a fake clock and no sockets. The fixtures (mk, reg, resp, sent, Sink) are in tu.py.
from coap import client, msg
from coap import options as o
from tu import raises
from tu_client import Sink, mk, reg, resp, sent, SRV


def established(c, now=0, v=5):
    """A traditional observation after a piggybacked 2.05 + Observe."""
    ob, s, r = reg(c, now)
    c.receive(resp(msg.ACK, msg.CONTENT, r.mid, ob.token, v, b"22", 0), SRV, now + 10)
    return ob, s, r


def test_registration_is_con_get_observe_0():
    c = mk(token_len=2)
    ob, s, r = reg(c)
    assert r.type == msg.CON and r.code == msg.GET and r.uint(o.OBSERVE) == 0 and r.path() == "/r"
    assert r.tkl == 2 and r.token_is(ob.token) and not r.has(o.MRFD) and not r.has(o.PM)
    assert ob.state == client.REG
    ob2, _, r2 = reg(c, path="s")
    assert ob2.token != ob.token and r2.mid != r.mid
    assert len(reg(mk(token_len=8))[2].token()) == 8


def test_no_link_local_or_multicast_destination():
    c = mk()
    raises(ValueError, c.observe, ("169.254.1.2", 5683), [], Sink(), 0)
    raises(ValueError, c.observe, ("fe80::1", 5683), [], Sink(), 0)
    raises(ValueError, c.observe, ("224.0.1.187", 5683), [], Sink(), 0)
    raises(ValueError, c.observe, ("example.org", 5683), [], Sink(), 0)
    raises(ValueError, c.observe, SRV, [(o.MRFD, None)], Sink(), 0)
    raises(ValueError, client.Client, token_len=0)
    assert c.take() == []


def test_retransmission_rfc7252_4_2():
    c = mk()
    ob, s, r = reg(c, 1000)
    first = c.next_deadline() - 1000
    assert 2000 <= first <= 3000
    times = []
    t = 1000
    for k in range(4):
        dl = c.next_deadline()
        c.tick(dl - 1)
        assert c.take() == []
        c.tick(dl)
        out = sent(c)
        assert len(out) == 1 and out[0][0].mid == r.mid and out[0][0].token_is(ob.token)
        times.append(dl - t)
        t = dl
    assert times == [first, 2 * first, 4 * first, 8 * first], times
    dl = c.next_deadline()
    assert dl - t == 16 * first and s.ended == []
    c.tick(dl)
    assert c.take() == [] and s.ended == ["timeout"] and ob.state == client.ENDED
    assert c.next_deadline() is None and c.obs == []


def test_retransmission_is_configurable():
    c = mk(ack_timeout_ms=100, ack_random_factor=1.0, max_retransmit=1)
    ob, s, r = reg(c)
    assert c.next_deadline() == 100
    c.tick(100)
    assert len(c.take()) == 1 and c.next_deadline() == 300
    c.tick(300)
    assert s.ended == ["timeout"]


def test_piggybacked_response_and_traditional_notifications():
    c = mk()
    ob, s, r = established(c, 0, 5)
    assert ob.state == client.TRAD and s.got == [(b"22", 0, 5, client.VIA_UNICAST)]
    assert c.take() == []  # nothing to ACK for a piggybacked response; retransmission stopped
    assert c.next_deadline() == 10 + 61000  # Max-Age 60 s (default) + 1 s
    c.receive(resp(msg.CON, msg.CONTENT, 77, ob.token, 6, b"23"), SRV, 100)
    out = sent(c)
    assert len(out) == 1 and out[0][0].type == msg.ACK and out[0][0].code == 0 and out[0][0].mid == 77
    assert out[0][1] == SRV
    c.receive(resp(msg.NON, msg.CONTENT, 78, ob.token, 7, b"24"), SRV, 200)
    assert c.take() == []
    assert [g[2] for g in s.got] == [5, 6, 7]


def test_reordering_in_traditional_observation():
    c = mk()
    ob, s, r = established(c, 0, 100)
    c.receive(resp(msg.NON, msg.CONTENT, 1, ob.token, 99, b"old"), SRV, 1000)
    assert c.stats.reordered == 1 and c.stats.dropped["stale"] == 1 and len(s.got) == 1
    c.receive(resp(msg.NON, msg.CONTENT, 2, ob.token, 101, b"new"), SRV, 2000)
    assert s.got[-1][0] == b"new"
    c.receive(resp(msg.NON, msg.CONTENT, 3, ob.token, 50, b"late but 128 s"), SRV, 2000 + 128001)
    assert s.got[-1][2] == 50 and c.stats.reordered == 1


def test_separate_response_after_empty_ack():
    c = mk()
    ob, s, r = reg(c)
    c.receive(msg.empty(msg.ACK, r.mid), SRV, 50)
    assert not c.pending(ob) and c.take() == []
    c.tick(10000)
    assert c.take() == []  # no retransmission after the empty ACK
    c.receive(resp(msg.CON, msg.CONTENT, 900, ob.token, 3, b"x"), SRV, 10100)
    out = sent(c)
    assert out[0][0].type == msg.ACK and out[0][0].mid == 900
    assert s.got == [(b"x", None, 3, client.VIA_UNICAST)] and ob.state == client.TRAD


def test_duplicate_con_acked_again_delivered_once():
    c = mk()
    ob, s, r = established(c)
    n = resp(msg.CON, msg.CONTENT, 4000, ob.token, 9, b"z")
    c.receive(n, SRV, 100)
    c.receive(n, SRV, 200)
    out = sent(c)
    assert [(m.type, m.mid) for m, d in out] == [(msg.ACK, 4000), (msg.ACK, 4000)]
    assert len(s.got) == 2 and c.stats.duplicates == 1
    # same Message ID from another endpoint is not a duplicate (RFC 7252 §4.5)
    c.receive(resp(msg.NON, msg.CONTENT, 4000, b"\xee", 1), ("192.0.2.11", 5683), 300)
    assert c.stats.duplicates == 1 and c.stats.dropped["token"] == 1
    c.receive(msg.empty(msg.ACK, r.mid), SRV, 400)  # a late ACK
    assert c.stats.duplicates == 2


def test_rst_for_unexpected_con():
    c = mk()
    ob, s, r = established(c)
    c.receive(resp(msg.CON, msg.CONTENT, 5, b"\x01\x02\x03\x09", 1, b"?"), SRV, 100)
    c.receive(msg.encode(msg.CON, msg.GET, 6, b"\x01", [(o.URI_PATH, "x")]), SRV, 100)
    c.receive(msg.empty(msg.CON, 7), SRV, 100)  # CoAP ping
    out = sent(c)
    assert [(m.type, m.mid, m.code) for m, d in out] == [(msg.RST, 5, 0), (msg.RST, 6, 0), (msg.RST, 7, 0)]
    assert c.stats.dropped["token"] == 1 and c.stats.dropped["code"] == 1
    c.receive(resp(msg.CON, msg.CONTENT, 5, b"\x01\x02\x03\x09", 1, b"?"), SRV, 150)  # duplicate: RST again
    assert [(m.type, m.mid) for m, d in sent(c)] == [(msg.RST, 5)] and c.stats.duplicates == 1
    c.receive(resp(msg.NON, msg.CONTENT, 8, b"\x01\x02\x03\x09", 1, b"?"), SRV, 100)
    assert c.take() == [] and c.stats.dropped["token"] == 2 and len(s.got) == 1


def test_max_age_expiry_reregisters_with_same_token():
    c = mk()
    ob, s, r = reg(c)
    c.receive(resp(msg.ACK, msg.CONTENT, r.mid, ob.token, 1, b"a", extra=[(o.MAX_AGE, 10)]), SRV, 0)
    assert c.next_deadline() == 11000
    c.tick(10999)
    assert c.take() == []
    c.tick(11000)
    out = sent(c)
    assert len(out) == 1
    m = out[0][0]
    assert m.type == msg.CON and m.uint(o.OBSERVE) == 0 and m.token_is(ob.token) and m.mid != r.mid
    assert ob.state == client.TRAD  # still observing while re-registering
    c.receive(resp(msg.ACK, msg.CONTENT, m.mid, ob.token, 2, b"b", extra=[(o.MAX_AGE, 10)]), SRV, 11050)
    assert s.got[-1][0] == b"b" and c.next_deadline() == 22050


def test_request_options_survive_every_request():
    # the observation keeps its options encoded (RAM); every request rebuilt from them carries the
    # same options in the same order: registration, re-registration (Max-Age), cancellation
    c = mk()
    opts = [(o.URI_PATH, "a"), (o.URI_QUERY, "x=1"), (o.URI_PATH, "b"), (o.URI_QUERY, "y")]
    ob, s, r = reg(c, opts=opts)
    want = [(o.OBSERVE, b""), (o.URI_PATH, b"a"), (o.URI_PATH, b"b"), (o.URI_QUERY, b"x=1"), (o.URI_QUERY, b"y")]
    assert r.items() == want, r.items()
    c.receive(resp(msg.ACK, msg.CONTENT, r.mid, ob.token, 1, b"a", extra=[(o.MAX_AGE, 1)]), SRV, 0)
    c.tick(2000)
    m = sent(c)[0][0]
    assert m.type == msg.CON and m.items() == want
    c.cancel(ob, 2100)
    m = sent(c)[0][0]
    assert m.uint(o.OBSERVE) == 1 and m.items()[1:] == want[1:]
    raises(ValueError, c.observe, SRV, [(o.URI_PATH, "x")] * (msg.MAX_OPTS + 1), s, 0)  # the codec's limit


def test_cancel_traditional_sends_get_observe_1():
    c = mk()
    ob, s, r = established(c)
    c.cancel(ob, 100)
    out = sent(c)
    assert len(out) == 1 and out[0][1] == SRV
    m = out[0][0]
    assert m.code == msg.GET and m.uint(o.OBSERVE) == 1 and m.token_is(ob.token) and m.path() == "/r"
    assert ob.state == client.ENDED and c.obs == [] and not m.has(o.MRFD)
    c.receive(resp(msg.CON, msg.CONTENT, 50, ob.token, 8, b"late"), SRV, 200)
    assert sent(c)[0][0].type == msg.RST and len(s.got) == 1


def test_not_observable_and_error_responses_end_the_observation():
    c = mk()
    ob, s, r = reg(c)
    c.receive(resp(msg.ACK, msg.CONTENT, r.mid, ob.token, None, b"once"), SRV, 5)
    assert s.got == [(b"once", None, -1, client.VIA_UNICAST)] and ob.state == client.ENDED
    ob, s, r = reg(c)
    c.receive(resp(msg.ACK, msg.NOT_FOUND, r.mid, ob.token), SRV, 5)
    assert s.got == [] and ob.error == "4.04" and s.ended == ["error response 4.04"]
    ob, s, r = reg(c)
    c.receive(msg.empty(msg.RST, r.mid), SRV, 5)
    assert ob.state == client.ENDED and s.ended == ["reset by the server"]


def test_response_from_another_source_is_dropped():
    c = mk()
    ob, s, r = reg(c)
    c.receive(resp(msg.ACK, msg.CONTENT, r.mid, ob.token, 1, b"x"), ("192.0.2.66", 5683), 5)
    c.receive(resp(msg.CON, msg.CONTENT, 31, ob.token, 1, b"x"), ("192.0.2.10", 5684), 5)
    assert s.got == [] and ob.state == client.REG and c.stats.dropped["source"] == 1
    assert c.stats.duplicates == 1  # the ACK from elsewhere matches no exchange


class FakePM:
    def __init__(self):
        self.rx_log = []
        self.tx_log = []

    def tx(self, peer, now, request_value=None):
        self.tx_log.append(peer)
        return 0x25

    def rx(self, peer, value, now):
        self.rx_log.append((peer, value))


def test_pm_hook():
    pm = FakePM()
    c = mk(pm=pm)
    ob, s, r = reg(c)
    assert r.uint(o.PM) == 0x25 and pm.tx_log == [SRV]
    c.receive(resp(msg.ACK, msg.CONTENT, r.mid, ob.token, 1, b"x", extra=[(o.PM, 0x41)]), SRV, 5)
    c.receive(resp(msg.NON, msg.CONTENT, 3, ob.token, 2, b"y"), SRV, 6)
    assert pm.rx_log == [(SRV, 0x41), (SRV, None)]
    c.cancel(ob, 7)
    assert sent(c)[0][0].uint(o.PM) == 0x25


class FakeSec:
    """The seam for Group OSCORE (coap.groupsec.GroupSec is the real one): protect() wraps every
    outgoing message, unprotect() vets input; attach/tick/deadline/informative as the core calls them."""

    def __init__(self):
        self.protected = 0

    def attach(self, core):
        pass

    def tick(self, now):
        pass

    def deadline(self):
        return None

    def informative(self, o, r):
        pass

    def protect(self, pkt, dest):
        self.protected += 1
        return pkt

    def unprotect(self, m, src, grp):
        if m.has_payload() and bytes(m.payload()) == b"forged":
            return None
        if m.has_payload() and bytes(m.payload()) == b"boom":
            raise ValueError("verification failed")
        return m


def test_security_seam():
    sec = FakeSec()
    c = mk(sec=sec)
    ob, s, r = established(c)
    assert sec.protected == 1
    c.receive(resp(msg.NON, msg.CONTENT, 3, ob.token, 6, b"forged"), SRV, 6)
    c.receive(resp(msg.NON, msg.CONTENT, 4, ob.token, 7, b"boom"), SRV, 6)
    c.receive(resp(msg.NON, msg.CONTENT, 5, ob.token, 8, b"ok"), SRV, 6)
    assert c.stats.dropped["security"] == 2 and [g[0] for g in s.got] == [b"22", b"ok"]


def test_callback_exception_does_not_escape():
    c = mk()
    ob, s, r = reg(c)

    def bad(*a):
        raise RuntimeError("app bug")
    ob.cb = bad
    c.receive(resp(msg.ACK, msg.CONTENT, r.mid, ob.token, 1, b"x"), SRV, 5)
    assert c.stats.dropped["internal"] == 1 and ob.state == client.TRAD and len(c.logs) == 1
