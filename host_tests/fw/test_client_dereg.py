# A clean stop() of a traditional observation (RFC 7641 §3.6): the server's answer to the
# deregistration, and a notification that crossed it, are expected, not `dropped token` (README's
# library snippet used to print dropped={'token': 1} after c.stop()); a CON answer gets its ACK.
from coap import msg
from tu_client import mk, reg, resp, sent, SRV


def established(c, v=5):
    ob, s, r = reg(c, 0, "time")
    c.receive(resp(msg.ACK, msg.CONTENT, r.mid, ob.token, v, b"22", 0), SRV, 10)
    return ob, s


def test_answer_to_the_deregistration_is_no_drop():
    c = mk()
    ob, s = established(c)
    tok = bytes(ob.token)
    c.cancel(ob, 100)
    d = sent(c)
    assert len(d) == 1 and d[0][0].code == msg.GET and d[0][0].token_is(tok)
    c.receive(resp(msg.NON, msg.CONTENT, 77, tok, 6, b"23", 0), SRV, 105)   # a notification that crossed it
    c.receive(resp(msg.NON, msg.CONTENT, 78, tok, None, b"23", 0), SRV, 110)  # the answer: no Observe
    assert c.stats.dropped["token"] == 0 and sent(c) == [] and c.deregs == []
    assert s.got == [(b"22", 0, 5, 0)]                  # nothing delivered after stop()
    # once answered, the token is unknown again: a stray response on it is a drop as before
    c.receive(resp(msg.NON, msg.CONTENT, 79, tok, None, b"x", 0), SRV, 120)
    assert c.stats.dropped["token"] == 1


def test_con_answer_gets_an_ack_and_a_con_notification_a_reset():
    c = mk()
    ob, s = established(c)
    tok = bytes(ob.token)
    c.cancel(ob, 100)
    sent(c)
    c.receive(resp(msg.CON, msg.CONTENT, 90, tok, 6, b"x", 0), SRV, 101)
    out = sent(c)
    assert [(m.type, m.mid) for m, _ in out] == [(msg.RST, 90)]
    c.receive(resp(msg.CON, msg.CONTENT, 91, tok, None, b"x", 0), SRV, 102)
    out = sent(c)
    assert [(m.type, m.mid, d) for m, d in out] == [(msg.ACK, 91, SRV)]
    c.receive(resp(msg.CON, msg.CONTENT, 91, tok, None, b"x", 0), SRV, 103)   # its duplicate: the same ACK
    assert [(m.type, m.mid) for m, _ in sent(c)] == [(msg.ACK, 91)]
    assert c.stats.dropped["token"] == 0


def test_only_from_that_server_and_bounded():
    c = mk()
    obs = [established(c, 5)[0] for _ in range(6)]
    toks = [bytes(ob.token) for ob in obs]
    for ob in obs:
        c.cancel(ob, 100)
    sent(c)
    assert len(c.deregs) == 4                            # bounded: the oldest are forgotten
    c.receive(resp(msg.NON, msg.CONTENT, 60, toks[-1], None, b"x", 0), ("192.0.2.99", 5683), 110)
    assert c.stats.dropped["token"] == 1 and len(c.deregs) == 4   # another source: a drop
