# Informative response (draft -04 §2.2, §4, Appendix C): the message flows byte by byte.
from tu import raises, h
from coap import msg, inforesp, inforespenc, cbor, cborenc
from coap import optinfo as o   # the whole option table (coap.options and more)
from coap.inforesp import InfoRespError

SRV = h("c000020a")      # 192.0.2.10
GRP = h("e9fc0017")      # 233.252.0.23
TP_HEX = "86 01 41 7b d90104 44 c000020a 191633 d90104 44 e9fc0017 191633"

# §4: C_1 registers /r with token 0x4a
REG_C1 = h("41 01 00 01 4a 60 51 72")
# phantom request (token 0x7b) and its transport-independent information
PH_REQ = h("01 60 51 72")
# INIT_NOTIF: 2.05, Observe 10, Content-Format 60, CBOR text "1234"
LAST = h("45 61 0a 61 3c ff 64 31 32 33 34")
PAYLOAD = h("a3 01 44 01605172 02 4b 45610a613cff6431323334 03" + TP_HEX)
# the CON 5.03 informative response to C_1, Content-Format 65000 (0xfde8)
INFO_C1 = h("41 a3 00 02 4a c2 fd e8 ff") + PAYLOAD
# the multicast notification after /r changes to "5678"
NOTIF = h("51 45 00 03 7b 61 0b 61 3c ff 64 35 36 37 38")


def test_section4_registration_bytes():
    assert msg.encode(msg.CON, msg.GET, 1, b"\x4a", [(o.OBSERVE, 0), (o.URI_PATH, "r")]) == REG_C1


def test_section4_phantom_request_and_payload():
    phantom = msg.encode(msg.NON, msg.GET, 0, b"\x7b", [(o.OBSERVE, 0), (o.URI_PATH, "r")])
    assert inforespenc.to_tim(phantom) == PH_REQ
    init_notif = msg.encode(msg.NON, msg.CONTENT, 0, b"\x7b", [(o.OBSERVE, 10), (o.CONTENT_FORMAT, o.CF_CBOR)], cborenc.dumps("1234"))
    assert inforespenc.to_tim(init_notif) == LAST
    assert inforespenc.build(PH_REQ, LAST, b"\x7b", SRV, 5683, GRP, 5683) == PAYLOAD


def test_section4_informative_response_bytes():
    b = msg.encode(msg.CON, msg.SERVICE_UNAVAILABLE, 2, b"\x4a", [(o.CONTENT_FORMAT, o.CF_INFORMATIVE)], PAYLOAD)
    assert b == INFO_C1
    m = msg.decode(INFO_C1)
    assert m.code == msg.SERVICE_UNAVAILABLE and m.uint(o.CONTENT_FORMAT) == 65000 and not m.has(o.OBSERVE)
    r = inforesp.parse(bytes(m.payload()))
    assert r.token == b"\x7b" and r.srv_addr == SRV and r.srv_port == 5683 and r.cli_addr == GRP and r.cli_port == 5683
    # client side (§3.2 steps 2 and 4): rebuild the phantom request and the latest notification with T
    ph = msg.decode(msg.from_tim(r.ph_req, r.token))
    assert ph.code == msg.GET and ph.uint(o.OBSERVE) == 0 and ph.path() == "/r" and ph.token_is(b"\x7b")
    ln = msg.decode(msg.from_tim(r.last_notif, r.token))
    assert ln.uint(o.OBSERVE) == 10 and cbor.loads(bytes(ln.payload())) == "1234"


def test_section4_notification_bytes():
    b = msg.encode(msg.NON, msg.CONTENT, 3, b"\x7b", [(o.OBSERVE, 11), (o.CONTENT_FORMAT, 60)], cborenc.dumps("5678"))
    assert b == NOTIF


def test_appendix_c_proxy_flow_bytes():
    # C1 -> P: Proxy-Uri; P -> S: Uri-Host + Uri-Path with P's token 0x5e
    c1 = msg.encode(msg.CON, msg.GET, 1, b"\x4a", [(o.OBSERVE, 0), (o.PROXY_URI, "coap://sensor.example/r")])
    assert c1 == h("41 01 00 01 4a 60 dd 10 0a") + b"coap://sensor.example/r"
    p = msg.encode(msg.CON, msg.GET, 9, b"\x5e", [(o.OBSERVE, 0), (o.URI_HOST, "sensor.example"), (o.URI_PATH, "r")])
    assert p == h("41 01 00 09 5e 3d 01") + b"sensor.example" + h("30 51 72")
    ph_req = inforespenc.to_tim(msg.encode(msg.NON, msg.GET, 0, b"\x7b", [(o.OBSERVE, 0), (o.URI_HOST, "sensor.example"), (o.URI_PATH, "r")]))
    assert ph_req == h("01 3d 01") + b"sensor.example" + h("30 51 72")
    pl = inforespenc.build(ph_req, LAST, b"\x7b", SRV, 5683, GRP, 5683)
    r = inforesp.parse(pl)
    # behind the proxy, the client rebuilds with its own token (§8)
    ph = msg.decode(msg.from_tim(r.ph_req, b"\x4a"))
    assert ph.token_is(b"\x4a") and bytes(ph.opt(o.URI_HOST)) == b"sensor.example"


def test_ipv6_and_default_port():
    s6 = h("20010db8" + "00" * 11 + "01")
    g6 = h("ff35003020010db8" + "00" * 6 + "1234")
    pl = inforespenc.build(PH_REQ, LAST, b"\x01\x02", s6, 5683, g6)
    r = inforesp.parse(pl)
    assert r.srv_addr == s6 and r.cli_addr == g6 and r.cli_port == 5683 and len(inforespenc.tp_info(r)) == 5
    assert inforesp.parse(inforespenc.build(PH_REQ, LAST, b"", SRV, 61616, GRP, 7000)).cli_port == 7000


def _payload(**changes):
    m = {1: PH_REQ, 2: LAST, 3: [1, b"\x7b", cbor.Tag(260, SRV), 5683, cbor.Tag(260, GRP), 5683]}
    for k, v in changes.items():
        if v is None:
            m.pop(int(k[1:]), None)
        else:
            m[int(k[1:])] = v
    return cborenc.dumps(m)


def _tp(i, v):
    t = [1, b"\x7b", cbor.Tag(260, SRV), 5683, cbor.Tag(260, GRP), 5683]
    if v is None:
        del t[i:]
    else:
        t[i] = v
    return t


def test_parse_reports_the_bad_field():
    cases = [
        (b"\xa1", "not CBOR"), (cborenc.dumps([1]), "not a CBOR map"),
        (_payload(k1=None), "ph_req"), (_payload(k2=None), "last_notif"), (_payload(k3=None), "tp_info"),
        (_payload(k1="text"), "ph_req"), (_payload(k1=h("01 f0")), "ph_req"), (_payload(k1=h("45")), "ph_req"),
        (_payload(k2=h("01")), "last_notif"), (_payload(k2=b""), "last_notif"),
        (_payload(k3=[]), "tp_info"), (_payload(k3=_tp(0, 2)), "tp_id"), (_payload(k3=_tp(2, None)), "5 or 6"),
        (_payload(k3=_tp(1, "t")), "token"), (_payload(k3=_tp(1, b"123456789")), "token"),
        (_payload(k3=_tp(2, SRV)), "srv_addr"), (_payload(k3=_tp(2, cbor.Tag(52, SRV))), "srv_addr"),
        (_payload(k3=_tp(2, cbor.Tag(260, b"\x01\x02\x03"))), "srv_addr"),
        (_payload(k3=_tp(3, 70000)), "srv_port"), (_payload(k3=_tp(3, "x")), "srv_port"),
        (_payload(k3=_tp(4, cbor.Tag(260, b"\x01" * 5))), "cli_addr"), (_payload(k3=_tp(5, 0)), "cli_port"),
        (_payload(k4=5), "join_uri"), (_payload(k7=[1]), "cs_alg"), (_payload(k10="x"), "cs_kenc"),
    ]
    for pl, field in cases:
        e = raises(InfoRespError, inforesp.parse, pl)
        assert field in str(e), (field, str(e))


def test_optional_keys_and_unknown_keys():
    r = inforesp.parse(_payload(k4="coap://gm/join", k7=-8, k99=1))
    assert r.extra == {"join_uri": "coap://gm/join", "cs_alg": -8}
    raises(InfoRespError, inforespenc.build, PH_REQ, LAST, b"", SRV, 1, GRP, None, {13: 1})
    raises(InfoRespError, inforespenc.build, PH_REQ, LAST, b"", b"\x01", 1, GRP)
