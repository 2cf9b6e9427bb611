# Board client core: informative response (draft -04 §3.2, §4), multicast notifications (§3.3),
# cancellation (§2.5, §3.4), MRFD feedback (§5.1), proxy (§8). Fake clock, no sockets.
from coap import client, msg, inforespenc, cborenc
from coap import options as o
from tu import h
from tu_client import mk, reg, resp, sent, info, notif, grouped, SRV, GRP, T, PH_REQ, NOTIF


def test_section4_informative_response_all_six_steps():
    c, ob, s = grouped()
    assert ob.state == client.GROUP
    assert (ob.src or ob.dest) == SRV and ob.grp == GRP and c.groups == {GRP: 1}          # step 1
    assert ob.token == T                                                     # step 3
    ph = msg.decode(ob.ph_req)                                               # step 2
    assert ph.code == msg.GET and ph.token_is(T) and ph.uint(o.OBSERVE) == 0 and ph.path() == "/r"
    assert inforespenc.to_tim(ob.ph_req) == PH_REQ
    assert s.got == [(cborenc.dumps("1234"), 60, 10, client.VIA_GROUP)]          # steps 4-5: baseline 10
    assert ob.value == 10 and ob.timer is None and c.next_deadline() == c.silence_end(ob)   # only the Max-Age silence
    c.receive(NOTIF, SRV, 1000, GRP)
    assert s.got[-1] == (cborenc.dumps("5678"), 60, 11, client.VIA_GROUP)
    assert c.take() == [] and c.stats.delivered == 2


def test_retransmitted_informative_response_acked_again_after_many_multicast_notifications():
    # RFC 7252 §4.5: the server's copy of the CON 5.03 (our ACK lost) gets the same ACK, even after
    # a stream of multicast notifications (they have their own half of the duplicate ring): a Reset
    # would tell the server this registration is not in the group
    c = mk()
    ob, s, r = reg(c)
    c.receive(msg.empty(msg.ACK, r.mid), SRV, 1)
    ir = info(ob.token)
    c.receive(ir, SRV, 2)
    assert [(m.type, m.mid) for m, d in sent(c)] == [(msg.ACK, 0x99)]
    for v in range(11, 51):
        c.receive(notif(v), SRV, 100 + v, GRP)
    assert len(s.got) == 41 and c.take() == []
    c.receive(ir, SRV, 4000)                         # the retransmission
    assert [(m.type, m.mid) for m, d in sent(c)] == [(msg.ACK, 0x99)]
    assert c.stats.duplicates == 1 and ob.state == client.GROUP and len(s.got) == 41


def test_multicast_notifications_only_from_srv_with_token_t():
    c, ob, s = grouped()
    c.receive(notif(20, b"port"), ("192.0.2.10", 5684), 10, GRP)
    c.receive(notif(21, b"addr"), ("192.0.2.11", 5683), 10, GRP)
    c.receive(notif(22, b"tok", tok=b"\x7c"), SRV, 10, GRP)
    c.receive(notif(23, b"tok0", tok=b"\x7b\x00"), SRV, 10, GRP)
    assert c.stats.dropped["source"] == 2 and c.stats.dropped["token"] == 2 and len(s.got) == 1
    c.receive(notif(9, b"older than the baseline"), SRV, 10, GRP)
    assert c.stats.reordered == 1 and len(s.got) == 1
    c.receive(notif(12, b"ok"), SRV, 10, GRP)
    c.receive(notif(12, b"ok"), SRV, 11, GRP)  # same MID again
    assert s.got[-1][:3] == (b"ok", 0, 12) and len(s.got) == 2 and c.stats.duplicates == 1
    c.receive(notif(13, b"unicast", mid=5000), SRV, 12)  # to the unicast endpoint, same token and source
    assert s.got[-1] == (b"unicast", 0, 13, client.VIA_UNICAST)


def test_cli_port_absent_means_5683_and_other_ports_are_used():
    c = mk()
    ob, s, r = reg(c)
    c.receive(info(ob.token, cli_port=None), SRV, 1)
    assert ob.grp == ("233.252.0.23", 5683)
    c2, ob2, s2 = grouped(grp=h("ff0500000000000000000000000000fd"), cli_port=7777, srv_port=6000)
    assert ob2.grp == ("ff05::fd", 7777) and (ob2.src or ob2.dest) == ("192.0.2.10", 6000)


def test_multicast_cancellation_from_the_right_source_only():
    c, ob, s = grouped()
    cancel = msg.encode(msg.NON, msg.SERVICE_UNAVAILABLE, 77, T)
    c.receive(cancel, ("192.0.2.99", 5683), 10, GRP)
    assert ob.state == client.GROUP and c.stats.dropped["source"] == 1
    c.receive(msg.encode(msg.NON, msg.SERVICE_UNAVAILABLE, 78, T, [], b"p"), SRV, 10, GRP)  # has payload
    assert ob.state == client.GROUP and c.stats.dropped["code"] == 1
    c.receive(cancel, SRV, 10, GRP)
    assert ob.state == client.ENDED and s.ended == ["group observation cancelled by the server"]
    assert c.groups == {} and c.obs == []
    c.receive(notif(30), SRV, 20, GRP)          # T is freed: unknown token now
    assert c.stats.dropped["token"] == 1 and len(s.got) == 1


def test_group_socket_shared_between_observations():
    c, a, sa = grouped(path="a")
    _, b, sb = grouped(c, path="b", token=b"\x7c", mid=0x9a)
    assert c.groups == {GRP: 2} and a.token == T and b.token == b"\x7c"
    c.receive(notif(11, b"to b", tok=b"\x7c"), SRV, 5, GRP)
    assert sb.got[-1][0] == b"to b" and len(sa.got) == 1
    c.cancel(a, 6)
    assert c.groups == {GRP: 1} and c.take() == []  # forgetting a group observation sends nothing
    c.receive(notif(12, b"b again", tok=b"\x7c"), SRV, 7, GRP)
    assert sb.got[-1][0] == b"b again"
    c.cancel(b, 8)
    assert c.groups == {}


def test_forget_with_rst_answers_the_next_notification():
    c, ob, s = grouped()
    c.cancel(ob, 5, rst=True)
    c.receive(notif(11, mid=0x4242), SRV, 6, GRP)
    out = sent(c)
    assert len(out) == 1 and out[0][0].type == msg.RST and out[0][0].mid == 0x4242 and out[0][1] == SRV
    c.receive(notif(12, mid=0x4243), SRV, 7, GRP)
    assert c.take() == []  # once


def test_mrfd_feedback_goes_to_the_original_destination_after_leisure():
    dest = ("192.0.2.99", 5683)   # the registration went here; notifications come from SRV
    c = mk(leisure_ms=1000)
    c, ob, s = grouped(c, dest=dest)
    assert (ob.src or ob.dest) == SRV and ob.dest == dest
    c.receive(notif(11, extra=[(o.MRFD, 0)]), SRV, 10000, GRP)  # Q = 0: every client answers
    dl = c.next_deadline()
    assert dl is not None and 10000 <= dl < 11000
    c.tick(dl - 1)
    assert c.take() == []
    c.tick(dl)
    out = sent(c)
    assert len(out) == 1 and out[0][1] == dest
    m = out[0][0]
    assert m.type == msg.NON and m.code == msg.GET and m.uint(o.OBSERVE) == 0 and m.path() == "/r"
    assert m.uint(o.NO_RESPONSE) == 26 and m.opt_len(o.MRFD) == 0 and m.tkl == 4 and not m.token_is(T)
    assert c.stats.feedback == 1 and ob.timer is None and c.next_deadline() == c.silence_end(ob) and len(s.got) == 2


def test_mrfd_probability_follows_q():
    c, ob, s = grouped(mk(seed=7, leisure_ms=0))
    ob.cb = lambda *a: None  # keep no 400 notifications around
    n = 0
    for k in range(400):
        c.receive(notif(11 + k, extra=[(o.MRFD, 2)]), SRV, 100 + k, GRP)
        c.tick(100 + k)
        n += len(c.take())
    assert 60 <= n <= 140, n  # 2**-2 of 400 = 100


def test_mrfd_in_last_notif_is_ignored():
    last = inforespenc.to_tim(msg.encode(msg.NON, msg.CONTENT, 0, T, [(o.OBSERVE, 10), (o.MRFD, 0)], b"v"))
    c, ob, s = grouped(last=last)
    assert ob.value == 10 and ob.timer is None and c.next_deadline() == c.silence_end(ob)
    c.tick(50000)   # past any leisure, before the Max-Age silence (60 s) re-registers
    assert c.take() == [] and c.stats.feedback == 0


def test_informative_response_replaces_traditional_observation():
    c = mk()
    ob, s, r = reg(c)
    c.receive(resp(msg.ACK, msg.CONTENT, r.mid, ob.token, 3, b"t", extra=[(o.MAX_AGE, 5)]), SRV, 0)
    assert ob.state == client.TRAD
    c.tick(6000)
    rr = sent(c)[0][0]  # Max-Age re-registration
    c.receive(msg.empty(msg.ACK, rr.mid), SRV, 6001)
    c.receive(info(ob.token), SRV, 6002)
    assert ob.state == client.GROUP and ob.token == T and ob.timer is None and c.next_deadline() == c.silence_end(ob)
    sent(c)
    c.receive(resp(msg.CON, msg.CONTENT, 600, bytes(r.token()), 4, b"old trad"), SRV, 6003)
    out = sent(c)
    assert out[0][0].type == msg.RST and c.stats.dropped["token"] == 1   # old token silently dropped
    assert s.got[-1][0] == cborenc.dumps("1234")


def test_behind_a_proxy_own_token_proxy_address_tp_info_ignored():
    proxy = ("192.0.2.50", 5683)
    c = mk()
    ob, s, r = reg(c, dest=proxy, opts=[(o.PROXY_URI, "coap://192.0.2.10/r")])
    assert r.opt(o.PROXY_URI) is not None and ob.proxied
    tok0 = bytes(r.token())
    c.receive(msg.empty(msg.ACK, r.mid), proxy, 1)
    ph = inforespenc.to_tim(msg.encode(msg.NON, msg.GET, 0, T, [(o.OBSERVE, 0), (o.PROXY_URI, "coap://192.0.2.10/r")]))
    c.receive(info(ob.token, ph=ph), proxy, 2)
    assert sent(c)[0][0].type == msg.ACK
    assert ob.state == client.PROXY and ob.token == tok0 and (ob.src or ob.dest) == proxy and ob.grp is None
    assert c.groups == {} and s.got[0][2] == 10
    p = msg.decode(ob.ph_req)
    assert p.token_is(tok0) and bytes(p.opt(o.PROXY_URI)) == b"coap://192.0.2.10/r"
    c.receive(notif(11, b"via proxy", tok=tok0), proxy, 3)
    c.receive(resp(msg.CON, msg.CONTENT, 9, tok0, 12, b"con"), proxy, 4)
    assert sent(c)[0][0].type == msg.ACK
    c.receive(notif(13, b"direct from SRV"), SRV, 5, GRP)
    assert [g[0] for g in s.got[1:]] == [b"via proxy", b"con"] and c.stats.dropped["token"] == 1


def test_malformed_informative_response_reregisters_once_then_withdraws():
    c, other, so = grouped(path="other")
    ob, s, r = reg(c, 100, "r")
    c.receive(info(ob.token, mid=0x100, payload=b"\xa3\x01\x44"), SRV, 101)   # truncated CBOR
    assert c.stats.dropped["inforesp"] == 1 and len(c.logs) == 1 and "re-registering" in c.logs[0]
    assert ob.state == client.REG and sent(c)[0][0].type == msg.ACK
    assert c.next_deadline() == 101 + 10000
    c.tick(101 + 10000)
    rr = sent(c)[0][0]
    assert rr.type == msg.CON and rr.uint(o.OBSERVE) == 0 and rr.path() == "/r" and rr.token_is(r.token())
    c.receive(info(ob.token, mid=0x101, grp=h("c0000201")), SRV, 10200)   # cli_addr not multicast
    assert len(c.logs) == 2 and "withdrawing" in c.logs[1] and ob.state == client.ENDED
    assert "cli_addr" in ob.error and c.stats.dropped["inforesp"] == 2
    c.receive(notif(11, b"other still works"), SRV, 10300, GRP)
    assert so.got[-1][0] == b"other still works" and c.groups == {GRP: 1}


def test_informative_response_drops_another_traditional_observation_of_the_resource():
    c = mk()
    trad, st, r = reg(c)
    c.receive(resp(msg.ACK, msg.CONTENT, r.mid, trad.token, 3, b"t"), SRV, 0)
    other, so, r2 = reg(c, 1, "other")
    c.receive(resp(msg.ACK, msg.CONTENT, r2.mid, other.token, 3, b"o"), SRV, 1)
    c2, ob, s = grouped(c, 2)
    assert trad.state == client.ENDED and st.ended == ["replaced by a group observation"]
    assert c.take() == []  # silently: no deregistration sent
    assert other.state == client.TRAD and ob.state == client.GROUP


def test_no_payload_view_delivers_observe_and_cf_and_allocates_nothing():
    c = mk()
    rec = [0, 1, None, None, None]  # calls, payload, cf, observe, via (the callback allocates nothing)

    def cb(p, cf, v, via):
        rec[0] += 1
        rec[1] = p
        rec[2] = cf
        rec[3] = v
        rec[4] = via
    ob = c.observe(SRV, [(o.URI_PATH, "r")], cb, 0, view=False)
    r = msg.decode(c.take()[0][0])
    c.receive(msg.empty(msg.ACK, r.mid), SRV, 1)
    c.receive(info(ob.token), SRV, 2)
    assert ob.state == client.GROUP and rec == [1, None, 60, 10, client.VIA_GROUP]   # the baseline, no view
    c.take()
    ns = [notif(11 + k, b"5678", mid=0x300 + k) for k in range(8)]
    c.receive(ns[0], SRV, 3, GRP)
    ns = ns[1:]
    try:
        import gc
        alloc = gc.mem_alloc
    except (ImportError, AttributeError):  # CPython: no allocation count
        alloc = None
    if alloc is not None:
        gc.collect()
        gc.disable()
        a = alloc()
        for d in ns:
            c.receive(d, SRV, 4, GRP)
        b = alloc()
        gc.enable()
        assert b == a, (b - a)   # issue 15: nothing allocated from datagram to callback
    else:
        for d in ns:
            c.receive(d, SRV, 4, GRP)
    assert rec == [9, None, 0, 18, client.VIA_GROUP] and c.stats.delivered == 9
