# Appendix A.1 on the board (coap.join): joining a group observation from discovery data (no
# registration), MRFD polls still answered (§5.1), bad data refused; and the core's side of a proxy's
# re-registration (§8). All runtimes.
from coap import client, msg, inforespenc, cborenc
from coap import join as J
from coap import options as o
from tu import raises
from tu_client import Sink, mk, reg, sent, SRV, SRV_RAW, GRP, GRP_RAW, T, PH_REQ, LAST, NOTIF


def payload(**kw):
    a = dict(ph=PH_REQ, last=LAST, token=T, srv=SRV_RAW, srv_port=5683, grp=GRP_RAW, cli_port=None)
    a.update(kw)
    return inforespenc.build(a["ph"], a["last"], a["token"], a["srv"], a["srv_port"], a["grp"], a["cli_port"])


def test_join_from_data_no_registration_then_multicast():
    c = mk()
    s = Sink()
    ob = J.start(c, payload(), s, 0, s.end)
    assert ob.state == client.GROUP and ob.token == T and c.groups == {GRP: 1}
    assert (ob.src or ob.dest) == SRV and c.take() == []                   # nothing on the wire
    assert s.got == [(cborenc.dumps("1234"), 60, 10, client.VIA_GROUP)]    # last_notif: the baseline
    c.receive(NOTIF, SRV, 100, GRP)
    assert s.got[-1] == (cborenc.dumps("5678"), 60, 11, client.VIA_GROUP)
    c.receive(msg.encode(msg.NON, msg.CONTENT, 7, T, [(o.OBSERVE, 12)], b"x"), ("192.0.2.99", 5683), 100, GRP)
    assert len(s.got) == 2 and c.stats.dropped["source"] == 1


def test_joined_board_answers_mrfd_polls_to_the_server():
    c = mk()
    ob = J.start(c, payload(), Sink(), 0)
    c.receive(msg.encode(msg.NON, msg.CONTENT, 9, T, [(o.OBSERVE, 12), (o.MRFD, 0)], b"y"), SRV, 10, GRP)
    c.tick(c.next_deadline())
    out = sent(c)
    assert len(out) == 1 and out[0][1] == SRV
    fb = out[0][0]
    assert fb.type == msg.NON and fb.code == msg.GET and fb.uint(o.OBSERVE) == 0 and fb.path() == "/r"
    assert fb.opt_len(o.MRFD) == 0 and fb.uint(o.NO_RESPONSE) == 26 and c.stats.feedback == 1
    assert ob.state == client.GROUP


def test_join_after_silence_registers_like_any_group_observation():
    c = mk(max_silence_ms=1000)
    ob = J.start(c, payload(), Sink(), 0)
    c.tick(c.next_deadline())
    out = sent(c)
    assert len(out) == 1 and out[0][1] == SRV
    r = out[0][0]
    assert r.type == msg.CON and r.uint(o.OBSERVE) == 0 and r.path() == "/r" and ob.state == client.REG


def test_join_refuses_bad_data_and_leaves_nothing_behind():
    c = mk()
    for bad in (b"", b"\xa0", cborenc.dumps({1: PH_REQ, 2: LAST}), payload(grp=SRV_RAW),
                payload(ph=b"\x45\x60"), payload(last=b"\x45"), payload(srv=b"\xa9\xfe\x01\x01")):
        raises(ValueError, J.start, c, bad, Sink(), 0)
    assert c.obs == [] and c.groups == {} and c.take() == []


def test_pick_from_discovery_data():
    one = payload()
    assert J.pick(one, None) is one
    doc = cborenc.dumps({"/r": one})
    assert J.pick(doc, None) == one and J.pick(doc, "/r") == one
    two = cborenc.dumps({"/r": one, "/s": payload(token=b"\x01")})
    raises(ValueError, J.pick, two, None)
    assert J.pick(two, "/s") == payload(token=b"\x01")
    raises(ValueError, J.pick, two, "/t")
    raises(ValueError, J.pick, cborenc.dumps({}), None)
    raises(ValueError, J.pick, cborenc.dumps([1]), None)


def test_unicast_informative_response_in_group_state_reconfigures():
    """A proxy re-registers a group observation (§8): notifications on T keep coming meanwhile; the
    server's new informative response (a new T after a restart) reconfigures it."""
    c = mk()
    ob, s, r = reg(c)
    c.receive(msg.encode(msg.ACK, msg.SERVICE_UNAVAILABLE, r.mid, ob.token, [(o.CONTENT_FORMAT, o.CF_INFORMATIVE)],
                         payload()), SRV, 1)
    assert ob.state == client.GROUP and c.take() == []
    c._register(ob, 2)                                   # (what the proxy's Upstream.reregister does)
    out = sent(c)
    assert len(out) == 1 and out[0][0].type == msg.CON and out[0][0].uint(o.OBSERVE) == 0 and out[0][0].token_is(T)
    c.receive(NOTIF, SRV, 3, GRP)                       # the observation goes on meanwhile
    assert s.got[-1][2] == 11
    mid = out[0][0].mid
    c.receive(msg.empty(msg.ACK, mid), SRV, 4)
    c.receive(msg.encode(msg.CON, msg.SERVICE_UNAVAILABLE, 77, T, [(o.CONTENT_FORMAT, o.CF_INFORMATIVE)],
                         payload(token=b"\x7c")), SRV, 5)
    assert sent(c)[0][0].type == msg.ACK
    assert ob.state == client.GROUP and ob.token == b"\x7c" and c.groups == {GRP: 1} and not c.pending(ob)
    assert s.got[-1][2] == 10                            # the new last_notif is the new baseline
