# Issue 7: a group observation (§3.3) whose notifications stop for longer than their Max-Age
# (RFC 7641 §3.3.1; default 60 s, RFC 7252 §5.10.5), optionally capped by max_silence_ms, registers
# again: the server restarted (a new informative response resumes it), or is gone (the CON times
# out and on_end tells the app). The deadline has a random part of the leisure time so a whole
# group does not re-register at once. Fake clock, no sockets; CPython and the unix port.
from coap import client, msg
from coap import options as o
from tu_client import mk, reg, sent, grouped, notif, info, SRV, GRP, T

LEISURE = 1000


def _due(c, now):
    """The re-registration sent by poll(now), decoded, or None."""
    c.tick(now)
    out = sent(c)
    assert len(out) <= 1, out
    return out[0] if out else None


def test_max_age_silence_reregisters_with_own_token():
    c, ob, s = grouped(mk(leisure_ms=LEISURE))
    c.receive(notif(11, extra=[(o.MAX_AGE, 5)]), SRV, 1000, GRP)
    dl = c.next_deadline()
    assert 1000 + 5000 <= dl <= 1000 + 5000 + LEISURE, dl
    assert _due(c, dl - 1) is None and ob.state == client.GROUP
    m, dest = _due(c, dl)
    assert dest == SRV and m.type == msg.CON and m.code == msg.GET and m.uint(o.OBSERVE) == 0 and m.path() == "/r"
    assert not m.token_is(T) and ob.state == client.REG and c.pending(ob)
    # the restarted server answers: a new group observation token, notifications resume
    c.receive(msg.empty(msg.ACK, m.mid), SRV, dl + 10)
    c.receive(info(bytes(m.token()), mid=0x77, token=b"\x7c"), SRV, dl + 20)
    assert sent(c)[0][0].type == msg.ACK
    assert ob.state == client.GROUP and ob.token == b"\x7c" and c.groups == {GRP: 1}
    c.receive(notif(12, b"old T", mid=0x5001), SRV, dl + 30, GRP)
    assert c.stats.dropped["token"] == 1
    c.receive(notif(11, b"new T", mid=0x5002, tok=b"\x7c"), SRV, dl + 40, GRP)
    assert s.got[-1][0] == b"new T" and s.ended == []


def test_default_max_age_is_60_s_and_each_notification_pushes_it():
    c, ob, s = grouped(mk(leisure_ms=LEISURE))
    for k in range(5):
        c.receive(notif(11 + k), SRV, k * 50000, GRP)        # every 50 s: never silent for 60 s
        assert _due(c, k * 50000 + 49999) is None
    last = 4 * 50000
    assert _due(c, last + 59999) is None
    m, dest = _due(c, last + 60000 + LEISURE)
    assert m.uint(o.OBSERVE) == 0 and ob.state == client.REG


def test_max_silence_ms_caps_a_long_max_age():
    c, ob, s = grouped(mk(leisure_ms=0, max_silence_ms=3000))
    c.receive(notif(11, extra=[(o.MAX_AGE, 3600)]), SRV, 100, GRP)
    assert c.next_deadline() == 3100
    assert _due(c, 3100) is not None


def test_server_gone_registration_times_out_and_ends():
    c, ob, s = grouped(mk(leisure_ms=0, max_silence_ms=2000, ack_timeout_ms=100, max_retransmit=2))
    c.receive(notif(11), SRV, 0, GRP)
    now = 2000
    m, _ = _due(c, now)
    n = 1
    while ob.state != client.ENDED and now < 10000:
        now += 50
        c.tick(now)
        n += len(c.take())
    assert n == 3 and s.ended == ["timeout"] and c.groups == {} and c.obs == []   # 1 + 2 retransmissions
    assert c.next_deadline() is None


def test_quiet_server_same_informative_response_keeps_the_group():
    c, ob, s = grouped(mk(leisure_ms=0, max_silence_ms=1000))
    m, _ = _due(c, 1002)                     # the baseline (last_notif) armed it at 2 ms
    c.receive(msg.empty(msg.ACK, m.mid), SRV, 1010)
    c.receive(info(bytes(m.token()), mid=0x78), SRV, 1020)   # same T, same group
    assert ob.state == client.GROUP and ob.token == T and c.groups == {GRP: 1}
    assert s.got[-1][2] == 10 and len(s.got) == 2          # the baseline again
    c.receive(notif(11), SRV, 1030, GRP)
    assert s.got[-1][2] == 11


def test_mrfd_feedback_timer_is_independent():
    c, ob, s = grouped(mk(leisure_ms=1000, max_silence_ms=5000))
    c.receive(notif(11, extra=[(o.MRFD, 0)]), SRV, 100, GRP)
    fb = c.next_deadline()
    assert fb < 1100
    m, _ = _due(c, fb)
    assert m.type == msg.NON and m.opt_len(o.MRFD) == 0 and ob.state == client.GROUP   # feedback, not a registration
    assert 5100 <= c.next_deadline() <= 6100


def test_proxy_observation_too():
    proxy = ("192.0.2.50", 5683)
    c = mk(leisure_ms=0, max_silence_ms=1500)
    from coap import inforespenc
    ob, s, r = reg(c, dest=proxy, opts=[(o.PROXY_URI, "coap://192.0.2.10/r")])
    c.receive(msg.empty(msg.ACK, r.mid), proxy, 1)
    ph = inforespenc.to_tim(msg.encode(msg.NON, msg.GET, 0, T, [(o.OBSERVE, 0), (o.PROXY_URI, "coap://192.0.2.10/r")]))
    c.receive(info(ob.token, ph=ph), proxy, 2)
    sent(c)
    assert ob.state == client.PROXY
    m, dest = _due(c, 1502)
    assert dest == proxy and m.uint(o.OBSERVE) == 0 and m.opt(o.PROXY_URI) is not None and ob.state == client.REG


def test_registration_went_elsewhere_the_response_to_the_new_one_comes_from_there():
    dest = ("192.0.2.99", 5683)      # e.g. a relay; tp_info names SRV, where notifications come from
    c, ob, s = grouped(mk(leisure_ms=0, max_silence_ms=1000), dest=dest)
    assert (ob.src or ob.dest) == SRV
    m, to = _due(c, 1002)
    assert to == dest and (ob.src or ob.dest) == dest          # the reply to the registration is expected from dest
    c.receive(msg.empty(msg.ACK, m.mid), dest, 1010)
    c.receive(info(bytes(m.token()), mid=0x79), dest, 1020)
    assert ob.state == client.GROUP and (ob.src or ob.dest) == SRV and c.stats.dropped["source"] == 0
    c.receive(notif(11, mid=0x5004), SRV, 1030, GRP)
    assert s.got[-1][2] == 11
