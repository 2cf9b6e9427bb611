# The board client with PM (draft-ietf-core-coap-pm; issue 5 items 8, 9): registrations and plain
# requests (the telemetry POST) marked, multicast notifications measured on the GROUP flow apart
# from the server's unicast flow, one fresh mark per transmission, and the plain request API.
# Fake clock, no sockets (except one coapcast construction). Both runtimes, and the Cortex-M0.
from coap import client, msg, pm as pmod
from coap import options as o
from coap.pm import PMEndpoint
from tu import raises, skip
from tu_client import mk, reg, resp, sent, SRV, grouped, notif, GRP


def pmv(m):
    return pmod.value_of(m)


def s_bit(v):
    return (v >> 5) & 1


class Got:
    def __init__(self):
        self.calls = []

    def __call__(self, code, payload, cf):
        self.calls.append((code, bytes(payload), cf))


def test_registration_and_feedback_marked():
    pm = PMEndpoint("client", 0)
    c = mk(pm=pm)
    ob, s, r = reg(c)
    v = pmv(r)
    assert v is not None and v < 128 and s_bit(v) == 0        # first request: S = 0
    ob2, s2, r2 = reg(c, 5, "s")
    assert s_bit(pmv(r2)) == 1                                # the next one to the same server flips S
    assert pm.peers[SRV].tx == 2
    assert not reg(mk())[2].has(o.PM)                          # pm=None: no option


def test_multicast_notifications_measured_on_the_group_flow():
    pm = PMEndpoint("client", 0)
    c, ob, s = grouped(mk(pm=pm))
    srv = PMEndpoint("server", 0)                              # the server's marker of the group flow
    n = [0]

    def count(p, cf, v, via):
        n[0] += 1
    ob.cb = count                                             # (no list of 300 payloads on a board heap)
    unicast_before = pm.meter(SRV).pkts
    missed = 0
    for k in range(1, 321):
        v = srv.tx(GRP, k)
        if k % 20 == 7:                                       # 5% of the notifications never arrive
            missed += 1
            continue
        c.receive(notif(10 + k, extra=[(o.PM, v)]), SRV, 1000 + k, GRP)
    assert n[0] == 320 - missed
    g = pm.meter(GRP)
    # coap.pm n_group: blocks of 16; the block the board joined in is not counted (partial)
    assert g is not None and g.pkts == 320 - missed and g.n == 16 and g.blocks == 18
    assert g.loss_permille() == 48, g.loss_permille()          # 14 of the 288 in blocks 2..19
    assert pm.meter(SRV).pkts == unicast_before               # the unicast flow saw none of them
    st = pm.stats()["peers"]
    assert st["233.252.0.23:5683"]["lost"] == 14 == g.lost and st["233.252.0.23:5683"]["n"] == 16


def test_empty_ack_is_not_a_packet_of_the_flow():
    pm = PMEndpoint("client", 0)
    c = mk(pm=pm)
    ob, s, r = reg(c)
    c.receive(msg.empty(msg.ACK, r.mid), SRV, 5)
    m = pm.meter(SRV)
    assert m.pkts == 0 and m.absent == 0


def test_telemetry_request_marked_and_rtt_from_the_echo():
    pm = PMEndpoint("client", 0)
    c = mk(pm=pm)
    got = Got()
    r = c.request(SRV, 2, [(o.URI_PATH, "telemetry"), (o.CONTENT_FORMAT, 0)], b"up=1 rx=2", got, 1000)
    (m, d), = sent(c)
    assert d == SRV and m.type == msg.CON and m.code == 2 and m.path() == "/telemetry"
    assert bytes(m.payload()) == b"up=1 rx=2" and m.uint(o.CONTENT_FORMAT) == 0
    v = pmv(m)
    assert v is not None and s_bit(v) == 0
    assert r.state == client.REQ and c.next_deadline() is not None
    # the server echoes S in its piggybacked 2.04, 37 ms later
    c.receive(resp(msg.ACK, msg.CHANGED, m.mid, m.token_bytes(), extra=[(o.PM, v)]), SRV, 1037)
    assert got.calls == [(msg.CHANGED, b"", None)] and r.state == client.ENDED and r.code == msg.CHANGED
    assert c.obs == [] and c.txs == [] and c.next_deadline() is None
    mt = pm.meter(SRV)
    assert mt.rn == 1 and mt.rtt() == 37
    # the next request flips S
    c.request(SRV, 2, [(o.URI_PATH, "telemetry")], b"x", got, 2000)
    (m2, _), = sent(c)
    assert s_bit(pmv(m2)) == 1 and m2.mid != m.mid and not m2.token_is(m.token_bytes())


def test_retransmissions_get_a_fresh_mark():
    pm = PMEndpoint("client", 0, n=4, x=1)
    c = mk(pm=pm)
    got = Got()
    c.request(SRV, 2, [(o.URI_PATH, "telemetry")], b"p", got, 0)
    (m0, _), = sent(c)
    seen = [pmv(m0)]
    for _ in range(4):
        c.tick(c.next_deadline())
        (m, _), = sent(c)
        assert m.mid == m0.mid and m.token_is(m0.token_bytes()) and bytes(m.payload()) == b"p"
        seen.append(pmv(m))
    assert pm.peers[SRV].tx == 5
    assert [s_bit(v) for v in seen] == [0, 1, 0, 1, 0]          # S flips per transmission
    assert [(v >> 6) & 1 for v in seen] == [0, 0, 0, 0, 1]      # Q: a block of n=4, then the toggle
    c.tick(c.next_deadline())
    assert got.calls == [(None, b"", None)] and c.take() == []  # timeout after MAX_RETRANSMIT
    # the registration's retransmission too
    ob, s, r = reg(c, 100000)
    c.tick(c.next_deadline())
    (m, _), = sent(c)
    assert m.mid == r.mid and m.uint(o.OBSERVE) == 0 and m.path() == "/r" and pmv(m) != pmv(r)
    # without PM the very same bytes go again
    c2 = mk()
    c2.request(SRV, 2, [(o.URI_PATH, "t")], b"p", got, 0)
    b0 = c2.take()[0][0]
    c2.tick(c2.next_deadline())
    assert c2.take()[0][0] == b0


def test_request_non_separate_reset_and_timeouts():
    c = mk()
    got = Got()
    # NON: a NON response matched by token and source
    r = c.request(SRV, 1, [(o.URI_PATH, "time")], b"", got, 0, confirmable=False)
    (m, _), = sent(c)
    assert m.type == msg.NON and m.code == 1
    c.receive(resp(msg.NON, msg.CONTENT, 77, m.token_bytes(), payload=b"123", cf=0), ("192.0.2.99", 5683), 5)
    assert got.calls == [] and c.stats.dropped["source"] == 1      # right token, wrong source
    c.receive(resp(msg.NON, msg.CONTENT, 78, m.token_bytes(), payload=b"123", cf=0), SRV, 6)
    assert got.calls == [(msg.CONTENT, b"123", 0)] and r.state == client.ENDED
    # NON never answered: cb(None) at MAX_TRANSMIT_WAIT (93 s with the defaults)
    c.request(SRV, 1, [(o.URI_PATH, "time")], b"", got, 1000, confirmable=False)
    c.take()
    assert c.next_deadline() == 1000 + 93000
    c.tick(1000 + 92999)
    assert len(got.calls) == 1
    c.tick(1000 + 93000)
    assert got.calls[-1] == (None, b"", None) and c.obs == []
    # CON: empty ACK, then the separate CON response (ACKed)
    r = c.request(SRV, 3, [(o.URI_PATH, "r")], b"9", got, 200000)
    (m, _), = sent(c)
    c.receive(msg.empty(msg.ACK, m.mid), SRV, 200010)
    assert c.take() == [] and r.state == client.REQ
    c.receive(resp(msg.CON, msg.CHANGED, 900, m.token_bytes()), SRV, 200020)
    (a, d), = sent(c)
    assert a.type == msg.ACK and a.code == 0 and a.mid == 900 and d == SRV
    assert got.calls[-1] == (msg.CHANGED, b"", None) and r.code == msg.CHANGED
    # CON answered by RST
    r = c.request(SRV, 2, [(o.URI_PATH, "x")], b"", got, 300000)
    (m, _), = sent(c)
    c.receive(msg.empty(msg.RST, m.mid), SRV, 300001)
    assert got.calls[-1] == (None, b"", None) and r.error == "reset by the server"
    # a failing callback is counted, never raised
    def bad(code, p, cf):
        raise RuntimeError("app bug")
    c.request(SRV, 1, [], b"", bad, 400000, confirmable=False)
    (m, _), = sent(c)
    c.receive(resp(msg.NON, msg.CONTENT, 901, m.token_bytes()), SRV, 400001)
    assert c.stats.dropped["internal"] == 1
    # bad arguments
    raises(ValueError, c.request, SRV, 0x45, [], b"", got, 0)
    raises(ValueError, c.request, ("224.0.1.187", 5683), 1, [], b"", got, 0)
    assert c.obs == [] and c.take() == []


def test_requests_and_group_observation_side_by_side():
    pm = PMEndpoint("client", 0)
    c, ob, s = grouped(mk(pm=pm))
    got = Got()
    c.request(SRV, 2, [(o.URI_PATH, "telemetry")], b"t", got, 3000)
    (m, _), = sent(c)
    # a multicast message with the request's token is not its response
    c.receive(resp(msg.NON, msg.CHANGED, 5, m.token_bytes()), SRV, 3001, GRP)
    assert got.calls == []
    c.receive(notif(30, extra=[(o.PM, 0)]), SRV, 3002, GRP)
    c.receive(resp(msg.ACK, msg.CHANGED, m.mid, m.token_bytes(), extra=[(o.PM, pmv(m))]), SRV, 3010)
    assert got.calls == [(msg.CHANGED, b"", None)] and s.got[-1][2] == 30
    assert pm.meter(GRP).pkts == 1 and pm.meter(SRV).rn == 1


def test_coapcast_pm_convenience():
    try:
        import coapcast
    except ImportError as e:  # the Cortex-M0 (qemu) port has no socket module
        skip("coapcast.Client needs sockets: %s" % e)
    c = coapcast.Client("127.0.0.1", 0, iface="127.0.0.1")
    assert c.pm is None and c.core.pm is None and c.pm_stats() is None
    c.close()
    c = coapcast.Client("127.0.0.1", 0, iface="127.0.0.1", pm=1)
    assert c.core.pm is c.pm and c.pm.pattern == 1 and c.pm.role == pmod.CLIENT
    got = Got()
    r = c.post("coap://127.0.0.1:9/telemetry", b"up=1", got, cf=0)
    assert r.state == client.REQ and c.pm.peers[("127.0.0.1", 9)].tx == 1
    st = c.pm_stats()
    assert st["role"] == "client" and st["pattern"] == 1 and "127.0.0.1:9" in st["peers"]
    assert len(c.pm.lines()) == 1 and c.pm.lines()[0].startswith("pm 127.0.0.1:9")
    r = c.post("coap://127.0.0.1:9/t", b"", method=1, confirmable=False)   # sent at once (flush)
    assert r.state == client.REQ and r.method == 1 and r.non and c.pm.peers[("127.0.0.1", 9)].tx == 2
    c.close()
    own = PMEndpoint("client", 0, n=32)
    c = coapcast.Client("127.0.0.1", 0, iface="127.0.0.1", pm=own)
    assert c.pm is own and c.core.pm is own
    c.close()
