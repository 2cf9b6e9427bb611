# Issue 7, spoofing: notifications from a wrong address or port, with a wrong token, a stale
# Observe, and a cancellation 5.03 (§2.5) from the wrong source are all dropped and counted; the
# group observation survives and a good notification still arrives (draft -04 §2.3, §3.3, §3.4;
# RFC 7641 §3.4; RFC 7252 §4.2). Fake clock, no sockets; CPython and the unix port.
from coap import client, msg
from coap import options as o
from tu_client import mk, reg, resp, sent, grouped, notif, info, SRV, GRP, T

WRONG_ADDR = ("192.0.2.11", 5683)
WRONG_PORT = ("192.0.2.10", 5684)
CANCEL = msg.encode(msg.NON, msg.SERVICE_UNAVAILABLE, 0x3100, T)


def _good(c, s, v, now):
    n = len(s.got)
    c.receive(notif(v, b"good"), SRV, now, GRP)
    assert len(s.got) == n + 1 and s.got[-1][2] == v, s.got


def test_wrong_address_and_port_dropped_and_counted():
    c, ob, s = grouped()
    for k, src in enumerate((WRONG_ADDR, WRONG_PORT, ("::ffff:192.0.2.10", 5683), ("192.0.2.10", 0))):
        c.receive(notif(20 + k, b"spoofed"), src, 10 + k, GRP)          # on the group socket
        c.receive(notif(30 + k, b"spoofed", mid=900 + k), src, 10 + k)  # and to the unicast socket
    st = c.stats
    assert st.dropped["source"] == 8 and st.delivered == 1 and len(s.got) == 1
    assert c.take() == []   # nothing answers a spoofed NON
    assert ob.state == client.GROUP and c.groups == {GRP: 1} and ob.value == 10
    _good(c, s, 11, 20)


def test_wrong_source_con_gets_no_ack():
    c, ob, s = grouped()
    c.receive(resp(msg.CON, msg.CONTENT, 0x5151, T, 40, b"spoofed con"), WRONG_PORT, 10)
    assert c.take() == [] and c.stats.dropped["source"] == 1 and len(s.got) == 1
    _good(c, s, 11, 20)


def test_wrong_token_dropped_and_counted():
    c, ob, s = grouped()
    for k, tok in enumerate((b"\x7c", b"\x7b\x00", b"", b"\x00\x7b", b"\x7b\x7b\x7b\x7b\x7b\x7b\x7b\x7b")):
        c.receive(notif(20 + k, b"wrong token", tok=tok), SRV, 10, GRP)
    assert c.stats.dropped["token"] == 5 and len(s.got) == 1 and c.take() == []
    _good(c, s, 11, 20)


def test_stale_observe_dropped_and_counted():
    c, ob, s = grouped()                  # baseline 10 from last_notif
    _good(c, s, 20, 100)
    for k, v in enumerate((19, 10, 0, (20 - 0x400000) & 0xFFFFFF, 20)):   # older, or equal (same value again)
        c.receive(notif(v, b"stale", mid=2000 + k), SRV, 200 + k, GRP)
    assert c.stats.dropped["stale"] == 5 and c.stats.reordered == 5 and len(s.got) == 2
    _good(c, s, 21, 300)
    c.receive(notif(21 + 0x800001, b"far ahead: older in 24-bit serial arithmetic", mid=3000), SRV, 400, GRP)
    assert c.stats.dropped["stale"] == 6 and ob.value == 21
    _good(c, s, 22, 500)


def test_cancellation_from_the_wrong_source_or_token_is_dropped():
    c, ob, s = grouped()
    c.receive(CANCEL, WRONG_ADDR, 10, GRP)
    c.receive(CANCEL, WRONG_PORT, 11, GRP)
    c.receive(msg.encode(msg.NON, msg.SERVICE_UNAVAILABLE, 0x3101, T), WRONG_PORT, 12)        # unicast, wrong port
    c.receive(msg.encode(msg.NON, msg.SERVICE_UNAVAILABLE, 0x3102, b"\x7c"), SRV, 13, GRP)    # wrong token
    c.receive(msg.encode(msg.CON, msg.SERVICE_UNAVAILABLE, 0x3103, T), WRONG_ADDR, 14)        # CON, wrong address
    st = c.stats
    assert st.dropped["source"] == 4 and st.dropped["token"] == 1 and c.take() == []
    assert ob.state == client.GROUP and c.groups == {GRP: 1} and s.ended == []
    _good(c, s, 11, 20)
    c.receive(CANCEL, SRV, 30, GRP)          # the real one ends it
    assert ob.state == client.ENDED and c.groups == {} and s.ended == ["group observation cancelled by the server"]


def test_spoofed_ack_or_rst_does_not_touch_a_registration():
    c = mk()
    ob, s, r = reg(c)
    c.receive(msg.empty(msg.RST, r.mid), WRONG_PORT, 1)      # would end the registration
    c.receive(msg.empty(msg.ACK, r.mid), WRONG_ADDR, 2)      # would stop the retransmissions
    assert ob.state == client.REG and c.pending(ob) and s.ended == []
    c.receive(info(ob.token), WRONG_PORT, 3)                 # a spoofed informative response
    assert ob.state == client.REG and c.stats.dropped["source"] == 1
    assert sent(c) == []  # no ACK for it
    c.receive(msg.empty(msg.ACK, r.mid), SRV, 4)
    c.receive(info(ob.token), SRV, 5)
    assert ob.state == client.GROUP and s.got[-1][2] == 10


def test_a_flood_of_spoofs_leaves_the_observation_and_memory_alone():
    c, ob, s = grouped()
    n = [0]

    def count(payload, cf, v, via):
        n[0] += 1
    ob.cb = count
    for k in range(2000):
        kind = k % 5
        if kind == 0:
            c.receive(notif(100 + k, b"x", mid=k), WRONG_PORT, 10 + k, GRP)
        elif kind == 1:
            c.receive(notif(100 + k, b"x", mid=k, tok=b"\x7c"), SRV, 10 + k, GRP)
        elif kind == 2:
            c.receive(notif(5, b"x", mid=k), SRV, 10 + k, GRP)             # stale (baseline moves up)
        elif kind == 3:
            c.receive(msg.encode(msg.NON, msg.SERVICE_UNAVAILABLE, k, T), WRONG_ADDR, 10 + k, GRP)
        else:
            c.receive(notif(100 + k, b"ok", mid=k), SRV, 10 + k, GRP)     # the good ones still arrive
    st = c.stats
    assert st.dropped["source"] == 800 and st.dropped["token"] == 400 and st.dropped["stale"] == 400, st
    assert n[0] == 400 and st.delivered == 401 and ob.state == client.GROUP and c.groups == {GRP: 1}
    assert c.take() == [] and len(c._dm) == 32 and len(c.forgotten) == 0   # bounded state
