# Bad input (issue 3): each piece is dropped and counted, nothing escapes, and the other
# observations keep working (a good notification still arrives afterwards).
from coap import client, msg, cbor, cborenc
from coap import options as o
from tu import h, Rng
from tu_client import reg, resp, sent, SRV, grouped, info, notif, GRP, T, PH_REQ, LAST, SRV_RAW, GRP_RAW

TAG = cbor.Tag


def _two():
    c, a, sa = grouped(path="a")
    _, b, sb = grouped(c, path="b", token=b"\x7c", mid=0x9a)
    return c, a, sa, b, sb


def _still_works(c, sa, sb, v):
    c.receive(notif(v, b"good a"), SRV, 50000, GRP)
    c.receive(notif(v, b"good b", tok=b"\x7c", mid=(v + 1) & 0xFFFF), SRV, 50000, GRP)
    assert sa.got[-1][0] == b"good a" and sb.got[-1][0] == b"good b"


def test_bad_coap_and_wrong_notifications_are_dropped_and_counted():
    c, a, sa, b, sb = _two()
    bad = [
        (b"", "malformed"),
        (b"\x51", "malformed"),                                  # short
        (h("91 45 00 01 7b"), "malformed"),                      # version 2
        (h("5f 45 00 01") + b"\0" * 15, "malformed"),            # token length 15
        (h("51 45 00 01 7b 6d"), "malformed"),                   # option delta extension missing
        (h("51 45 00 01 7b 6e ff"), "malformed"),                # 2-byte length extension missing
        (h("51 45 00 01 7b 6d ff 61"), "malformed"),             # option length 268 runs past the end
        (h("51 45 00 01 7b ff"), "malformed"),                   # marker without payload
        (h("51 45 00 01 7b f1 00"), "malformed"),                # delta nibble 15
        (h("50 00 00 01 00"), "malformed"),                      # empty message with bytes
        (notif(30, tok=b"\x55"), "token"),                       # unknown token
        (notif(31, tok=b""), "token"),
        (notif(32, code=msg.NOT_FOUND), "code"),                 # wrong code on T
        (resp(msg.NON, msg.CHANGED, 33, T), "code"),             # 2.04 without Observe
        (msg.encode(msg.NON, msg.GET, 34, T), "code"),           # a request on the group
        (resp(msg.CON, msg.CONTENT, 35, T, 35, b"c"), "type"),   # CON multicast notification
        (msg.empty(msg.ACK, 36), "type"),
        (msg.empty(msg.NON, 37), "type"),
        (notif(5), "stale"),                                     # older than the baseline 10
    ]
    for data, why in bad:
        before = c.stats.dropped[why]
        c.receive(data, SRV, 100, GRP)
        assert c.stats.dropped[why] == before + 1, (data, why, c.stats)
    for src in (("192.0.2.10", 5684), ("192.0.2.11", 5683), ("::ffff:192.0.2.10", 5683)):
        before = c.stats.dropped["source"]
        c.receive(notif(40, mid=0x4000 + src[1]), src, 100, GRP)
        assert c.stats.dropped["source"] == before + 1, src
    assert c.take() == []  # nothing is answered on a group socket
    assert len(sa.got) == 1 and len(sb.got) == 1 and c.stats.delivered == 2
    assert c.stats.received == len(bad) + 3 + 4  # (+4 from the two set-ups)
    assert a.state == client.GROUP and b.state == client.GROUP
    _still_works(c, sa, sb, 41)


def _payload(tp=None, ph=PH_REQ, last=LAST, drop=None):
    tp = [1, T, TAG(260, SRV_RAW), 5683, TAG(260, GRP_RAW), 5683] if tp is None else tp
    m = {1: ph, 2: last, 3: tp}
    if drop:
        del m[drop]
    return cborenc.dumps(m)


BAD_INFO = [
    ("truncated CBOR", _payload()[:-3]),
    ("not a map", cborenc.dumps([1, 2, 3])),
    ("absurd byte-string length", h("a1 01 5b ffffffffffffffff") + b"xx"),
    ("absurd array length", h("a1 03 9b 00000000ffffffff")),
    ("deep nesting", b"\x81" * 200 + b"\x00"),
    ("missing ph_req", _payload(drop=1)),
    ("missing last_notif", _payload(drop=2)),
    ("missing tp_info", _payload(drop=3)),
    ("wrong tag", _payload([1, T, TAG(52, SRV_RAW), 5683, TAG(260, GRP_RAW)])),
    ("untagged address", _payload([1, T, SRV_RAW, 5683, TAG(260, GRP_RAW)])),
    ("5-byte address", _payload([1, T, TAG(260, SRV_RAW + b"\0"), 5683, TAG(260, GRP_RAW)])),
    ("3-byte group", _payload([1, T, TAG(260, SRV_RAW), 5683, TAG(260, GRP_RAW[:3])])),
    ("port 70000", _payload([1, T, TAG(260, SRV_RAW), 70000, TAG(260, GRP_RAW)])),
    ("9-byte token", _payload([1, b"123456789", TAG(260, SRV_RAW), 5683, TAG(260, GRP_RAW)])),
    ("tp_id 2", _payload([2, T, TAG(260, SRV_RAW), 5683, TAG(260, GRP_RAW)])),
    ("short tp_info", _payload([1, T, TAG(260, SRV_RAW)])),
    ("unicast cli_addr", _payload([1, T, TAG(260, SRV_RAW), 5683, TAG(260, SRV_RAW)])),
    ("link-local srv_addr", _payload([1, T, TAG(260, h("a9fe0001")), 5683, TAG(260, GRP_RAW)])),
    ("ph_req is a POST", _payload(ph=h("02 60 51 72"))),
    ("ph_req without Observe 0", _payload(ph=h("01 b1 72"))),
    ("ph_req malformed options", _payload(ph=h("01 6d"))),
    ("last_notif is 4.04", _payload(last=h("84 61 0a"))),
    ("last_notif without Observe", _payload(last=h("45 c1 3c ff 01"))),
    ("last_notif is a request", _payload(last=h("01 61 0a"))),
    ("empty last_notif", _payload(last=b"")),
]


def test_bad_informative_responses_are_dropped_and_others_unaffected():
    c, a, sa, b, sb = _two()
    mid = 0x500
    for name, payload in BAD_INFO:
        ob, s, r = reg(c, 1000, "x")
        before = c.stats.dropped["inforesp"]
        nlog = len(c.logs)
        mid += 1
        c.receive(info(ob.token, mid=mid, payload=payload), SRV, 1001)
        assert c.stats.dropped["inforesp"] == before + 1, name
        assert len(c.logs) == nlog + 1, name  # one clear log line
        assert ob.state == client.REG and ob.retried, name
        assert sent(c)[0][0].type == msg.ACK
        c.cancel(ob, 1002)
        c.take()
    assert c.groups == {GRP: 2} and len(c.obs) == 2
    _still_works(c, sa, sb, 11)


def test_random_datagrams_never_raise():
    c, a, sa, b, sb = _two()
    r = Rng(2024)
    seeds = [notif(11), info(T), msg.encode(msg.CON, msg.GET, 1, b"", [(o.URI_PATH, "r")])]
    for k in range(1500):
        base = bytearray(seeds[k % 3])
        for _ in range(1 + r.getrandbits(2)):
            i = r.getrandbits(8) % len(base)
            base[i] = r.getrandbits(8)
        if r.getrandbits(1):
            base = base[:r.getrandbits(8) % (len(base) + 1)]
        src = SRV if r.getrandbits(1) else ("192.0.2.77", 5683)
        c.receive(bytes(base), src, 2000 + k, GRP if r.getrandbits(1) else None)
        c.take()  # as the driver does after every datagram
    c.take()
    assert c.stats.received >= 1500
    # a mutation can be a valid cancellation (5.03 on T from SRV): whoever is still observing
    # gets the next good notification, and a new group observation works
    alive = [(ob, s, tok) for ob, s, tok in ((a, sa, T), (b, sb, b"\x7c")) if ob.state == client.GROUP]
    assert alive
    for ob, s, tok in alive:
        ob.value = -1  # fuzzed notifications may have moved the baseline
        c.receive(notif(0x7777, b"good", tok=tok, mid=0x7000 + tok[0]), SRV, 50000, GRP)
        assert s.got[-1][0] == b"good"
    _, n, sn = grouped(c, path="n", token=b"\x7d", mid=0x9b)
    c.receive(notif(11, b"new", tok=b"\x7d", mid=0x7100), SRV, 50001, GRP)
    assert sn.got[-1][0] == b"new"
