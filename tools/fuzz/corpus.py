"""Seed corpus for the fuzzers, written with the codec (coap.msg, coap.inforespenc, coap.cborenc):
the draft -04 §4 flow, the Appendix C flow (proxy), informative responses (IPv4/IPv6, cli_port
present/absent, Group OSCORE keys 4..12), MRFD polls and feedback, the §2.5 cancellation, and
PM-marked requests/notifications (draft-ietf-core-coap-pm, patterns 0 and 1).

Addresses are the documentation ones of the client tests: SRV 192.0.2.10:5683, the group
233.252.0.23:5683, the proxy 192.0.2.50:5683.
"""
from coap import msg, inforespenc, cborenc, cbor, pm
from coap import optinfo as o   # the whole option table (coap.options and more)

SRV_RAW = bytes([192, 0, 2, 10])
GRP_RAW = bytes([233, 252, 0, 23])
SRV6_RAW = bytes.fromhex("20010db8000000000000000000000010")
GRP6_RAW = bytes.fromhex("ff0500000000000000000000000000fd")
T = b"\x7b"                       # the group token of §4
C1_TOKEN = b"\x4a"
C2_TOKEN = b"\x01"
PRX_TOKEN = b"\x5e"               # Appendix C: the proxy's own token towards S


def ph_req(extra=()):
    """ph_req of §4: GET, Observe 0, Uri-Path r (tim: code | options)."""
    return inforespenc.to_tim(msg.encode(msg.NON, msg.GET, 0, T, [(o.OBSERVE, 0), (o.URI_PATH, "r")] + list(extra)))


def last_notif(v=10, payload="1234", extra=()):
    """last_notif of §4: 2.05 (0x45, see docs/environment.md), Observe v, CF 60, CBOR text payload."""
    return inforespenc.to_tim(msg.encode(msg.NON, msg.CONTENT, 0, T, [(o.OBSERVE, v), (o.CONTENT_FORMAT, 60)]
                                         + list(extra), cborenc.dumps(payload)))


def inforesp_payloads():
    """Informative-response payloads (§2.2): the §4 one and variants."""
    ph = ph_req()
    last = last_notif()
    out = [
        inforespenc.build(ph, last, T, SRV_RAW, 5683, GRP_RAW, None),          # cli_port absent: 5683
        inforespenc.build(ph, last, T, SRV_RAW, 5683, GRP_RAW, 5683),
        inforespenc.build(ph, last_notif(11, "5678", [(o.MRFD, 3)]), b"\x7b\x01\x02\x03", SRV_RAW, 6000,
                          GRP_RAW, 7777),
        inforespenc.build(ph, last, T, SRV6_RAW, 5683, GRP6_RAW, 5683),       # IPv6
        inforespenc.build(ph_req([(o.URI_HOST, "sensor.example")]), last, T, SRV_RAW, 5683, GRP_RAW, None),
        inforespenc.build(ph, last, T, SRV_RAW, 5683, GRP_RAW, None,
                          {4: "coap://as.example/join", 5: "gp1", 6: "coap://as.example", 7: -8, 8: 6,
                           9: 1, 10: 10, 11: -7, 12: 5}),                        # Group OSCORE guidance
        inforespenc.build(inforespenc.to_tim(msg.encode(msg.NON, msg.GET, 0, T, [(o.OBSERVE, 0),
                                                    (o.PROXY_URI, "coap://sensor.example/r")])),
                          last, T, SRV_RAW, 5683, GRP_RAW, None),
    ]
    return out


def informative(tok, mid=0x99, payload=None, mtype=msg.CON):
    """The 5.03 informative response (CON, separate: docs/environment.md) carrying payload."""
    if payload is None:
        payload = inforesp_payloads()[0]
    return msg.encode(mtype, msg.SERVICE_UNAVAILABLE, mid, tok, [(o.CONTENT_FORMAT, o.CF_INFORMATIVE)], payload)


def notification(v, payload="5678", tok=T, mid=None, extra=(), mtype=msg.NON, code=msg.CONTENT):
    opts = [(o.OBSERVE, v), (o.CONTENT_FORMAT, 60)] + list(extra)
    return msg.encode(mtype, code, (0x3000 + v) & 0xFFFF if mid is None else mid, tok, opts, cborenc.dumps(payload))


def registration(tok=C1_TOKEN, mid=1, extra=(), path="r", mtype=msg.CON):
    opts = [(o.OBSERVE, 0)] + ([(o.URI_PATH, path)] if path else []) + list(extra)
    return msg.encode(mtype, msg.GET, mid, tok, opts)


def section4_flow():
    """Every message of the §4 example (and what follows it in our flows)."""
    return [
        registration(C1_TOKEN, 1),                                               # C_1 -> S
        msg.empty(msg.ACK, 1),                                                   # S -> C_1 empty ACK
        informative(C1_TOKEN, 0x99),                                             # S -> C_1 CON 5.03
        msg.empty(msg.ACK, 0x99),
        registration(C2_TOKEN, 2),                                               # C_2 -> S
        informative(C2_TOKEN, 0x9a),
        notification(11),                                                        # multicast 2.05 "5678"
        notification(12, "poll", extra=[(o.MRFD, 0)]),                           # §5.1 MRFD poll
        notification(13, "poll q5", extra=[(o.MRFD, 5)]),
        msg.encode(msg.NON, msg.GET, 7, b"\x11\x22\x33\x44",                     # §5.1 feedback
                   [(o.URI_PATH, "r"), (o.OBSERVE, 0), (o.NO_RESPONSE, 26), (o.MRFD, None)]),
        msg.encode(msg.NON, msg.SERVICE_UNAVAILABLE, 0x3100, T),                 # §2.5 cancellation
        msg.encode(msg.NON, msg.GET, 8, C1_TOKEN, [(o.OBSERVE, 1), (o.URI_PATH, "r")]),   # deregistration
        msg.encode(msg.CON, msg.GET, 9, b"", [(o.URI_PATH, ".well-known"), (o.URI_PATH, "core")]),
        msg.empty(msg.CON, 10),                                                  # CoAP ping
        msg.empty(msg.RST, 11),
    ]


def appendix_c_flow():
    """The Appendix C example with a proxy P."""
    pu = "coap://sensor.example/r"
    ph = inforespenc.to_tim(msg.encode(msg.NON, msg.GET, 0, T, [(o.OBSERVE, 0), (o.URI_HOST, "sensor.example"),
                                                                (o.URI_PATH, "r")]))
    pl = inforespenc.build(ph, last_notif(), T, SRV_RAW, 5683, GRP_RAW, 5683)
    return [
        msg.encode(msg.CON, msg.GET, 0x21, C1_TOKEN, [(o.OBSERVE, 0), (o.PROXY_URI, pu)]),        # C1 -> P
        msg.encode(msg.CON, msg.GET, 0x22, PRX_TOKEN, [(o.OBSERVE, 0), (o.URI_HOST, "sensor.example"),
                                                       (o.URI_PATH, "r")]),                     # P -> S
        informative(PRX_TOKEN, 0x23, pl),                                                       # S -> P
        msg.encode(msg.CON, msg.GET, 0x24, C2_TOKEN, [(o.OBSERVE, 0), (o.PROXY_URI, pu)]),        # C2 -> P
        informative(C1_TOKEN, 0x25, pl),                                                        # P -> C1
        informative(C2_TOKEN, 0x26, pl, msg.ACK),                                               # piggybacked
        notification(11, tok=T),                                                                # S -> P (multicast)
        notification(54123, tok=C1_TOKEN, mid=0x27),                                             # P -> C1
        notification(54123, tok=C2_TOKEN, mid=0x28, mtype=msg.CON),                              # P -> C2
        msg.encode(msg.CON, msg.SERVICE_UNAVAILABLE, 0x29, C1_TOKEN),                            # P ends it
    ]


def pm_flow():
    """PM-marked messages: pattern 0 (Q, S, Event) and pattern 1 (C, Event), on requests and
    notifications, and a malformed 2-byte PM value."""
    out = []
    for v in (pm.encode(0, 0, 0), pm.encode(0, 1, 1, event=0x15), pm.encode(1, 0, c=1),
              pm.encode(1, 1, c=0, event=0x2A), 0x7F, 0xFF):
        out.append(registration(C1_TOKEN, 0x40 + v, [(o.PM, v)]))
        out.append(notification(20 + (v & 7), extra=[(o.PM, v)]))
    out.append(notification(30, extra=[(o.PM, 0x1234)]))
    out.append(msg.encode(msg.ACK, msg.CONTENT, 0x41, C1_TOKEN, [(o.OBSERVE, 5), (o.PM, 0x60)], b"22"))
    return out


def messages():
    """All CoAP message seeds."""
    out = section4_flow() + appendix_c_flow() + pm_flow()
    out += [msg.encode(msg.CON, msg.GET, 0x50, b"\x01\x02\x03\x04\x05\x06\x07\x08",
                       [(o.URI_PATH, "sensor"), (o.BLOCK2, 0x02), (o.URI_QUERY, "a=1"), (o.ACCEPT, 60)]),
            msg.encode(msg.CON, msg.PUT, 0x51, b"\x09", [(o.URI_PATH, "r"), (o.CONTENT_FORMAT, 0)], b"42"),
            msg.encode(msg.CON, msg.GET, 0x52, b"\x0a", [(o.URI_PATH, "r"), (o.LTMR, None), (9, b"x")]),
            msg.encode(msg.NON, msg.CONTENT, 0x53, T, [(o.OBSERVE, 0xFFFFFF), (o.MAX_AGE, 5)], b"wrap")]
    return out


def cbor_items():
    """CBOR seeds: the informative-response payloads plus each major type."""
    out = inforesp_payloads()
    for v in (0, 23, 24, 255, 65536, 2 ** 32, 2 ** 63, -1, -1000, b"", b"\x00" * 30, "", "5678",
              [1, [2, [3]]], {1: b"a", "k": [1, 2]}, cbor.Tag(260, SRV_RAW), True, False, None, 1.5):
        out.append(cborenc.dumps(v))
    out += [bytes.fromhex(x) for x in ("f93c00", "fa3fc00000", "fb3ff8000000000000", "c11a514b67b0", "d9010444c000020a")]
    return out


def client_inputs():
    """Inputs of the client target: control byte + datagram (see targets.client_target)."""
    out = []
    msgs = messages()
    for k, m in enumerate(msgs):
        out.append(bytes([k & 0xFF]) + m)
    for ctl in range(0, 256, 7):
        out.append(bytes([ctl]) + notification(11 + ctl, extra=[(o.MRFD, ctl & 7)]))
        out.append(bytes([ctl]) + msg.encode(msg.NON, msg.SERVICE_UNAVAILABLE, ctl, T))
    return out


def split_seq(data):
    """A sequence input (the clientseq target): records [ctl][len][datagram], the last one cut short
    if need be."""
    out = []
    i = 0
    n = len(data)
    while i + 2 <= n and len(out) < 32:
        ctl, ln = data[i], data[i + 1]
        out.append((ctl, data[i + 2:i + 2 + ln]))
        i += 2 + ln
    return out


def join_seq(recs):
    b = bytearray()
    for ctl, d in recs:
        b += bytes([ctl, len(d)]) + d
    return bytes(b)


def clientseq_inputs():
    """Sequences for targets.clientseq_target (records [ctl][len][datagram]; ctl 0x08 = from SRV on
    the group socket, 0x00 = from SRV unicast, 0x04 = from the proxy). The client (make_client(2),
    seeded) has a registration of /w awaiting its separate response with token 636e9bc3."""
    w = bytes.fromhex("636e9bc3")
    g, u, px, wrong = 0x08, 0x00, 0x04, 0x0A
    n = notification
    seqs = [
        [(g, n(11)), (g, n(11)), (g, n(13)), (g, n(12)), (g, n(14, extra=[(o.MRFD, 0)])), (0x38, n(15))],
        [(wrong, msg.encode(msg.NON, msg.SERVICE_UNAVAILABLE, 0x3100, T)), (g, n(11)),
         (g, msg.encode(msg.NON, msg.SERVICE_UNAVAILABLE, 0x3101, T)), (g, n(12)), (g, n(13, tok=b"\x7c"))],
        [(u, msg.empty(msg.ACK, 1)), (u, informative(w, 0x200)), (u, informative(w, 0x200)),
         (g, n(11, tok=T)), (u, informative(w, 0x201)), (0x30, n(12, tok=T))],
        [(px, notification(54123, tok=bytes.fromhex("78a661c9"), mid=0x27)),
         (px, notification(54124, tok=bytes.fromhex("78a661c9"), mid=0x28, mtype=msg.CON)),
         (px, msg.encode(msg.CON, msg.SERVICE_UNAVAILABLE, 0x29, bytes.fromhex("78a661c9")))],
        [(u, msg.encode(msg.ACK, msg.CONTENT, 0x10, bytes.fromhex("187c07e4"), [(o.OBSERVE, 4), (o.MAX_AGE, 1)], b"t")),
         (u, msg.encode(msg.CON, msg.CONTENT, 0x11, bytes.fromhex("187c07e4"), [(o.OBSERVE, 5)], b"t")),
         (0x30, msg.empty(msg.RST, 0x11)), (u, msg.encode(msg.NON, msg.CONTENT, 0x12, bytes.fromhex("187c07e4")))],
    ]
    return [join_seq(sq) for sq in seqs] + [join_seq([(g, m)]) for m in pm_flow()]


def server_inputs():
    """Inputs of the server target: control byte + datagram (see targets.server_target)."""
    return [bytes([k & 0xFF]) + m for k, m in enumerate(messages())]


def pm_inputs():
    """Inputs of the PM target: (value, dt) triples (see targets.pm_target): a marked flow of
    3 blocks of 64 per pattern, and a short reordered one."""
    out = []
    for pat in (0, 1):
        b = bytearray()
        for k in range(192):
            q = (k // 64) & 1
            v = pm.encode(0, q, k & 1) if pat == 0 else pm.encode(1, c=q ^ (1 if k % 64 == 20 else 0))
            b += bytes([v, 0, 10])
        out.append(bytes(b))
    out.append(bytes([0x40, 0, 5, 0x00, 0, 5, 0x40, 0, 5, 0x60, 1, 0, 0x20, 0, 1, 0xFF, 0xFF, 0xFF]))
    return out


def corpus(target):
    if target == "proxy":  # tools/fuzz/proxy.py builds its seeds from the proxy's own traffic
        from tools.fuzz import proxy
        return proxy.corpus()
    if target in ("oscoreopt", "unprotect"):  # in their own module: this one also loads on MicroPython
        from tools.fuzz import corpus_oscore
        return corpus_oscore.corpus(target)
    return {"msg": messages, "cbor": cbor_items, "inforesp": inforesp_payloads, "client": client_inputs,
            "clientseq": clientseq_inputs, "server": server_inputs, "pm": pm_inputs}[target]()
