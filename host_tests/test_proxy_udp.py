# Appendix C of draft-tiloca-core-observe-multicast-notifications-04 end to end over real UDP on
# loopback: two boards (the firmware client under the MicroPython unix port) observe /r of the
# server (python -m tools.server) through the proxy (python -m tools.proxy), which alone joins the
# group. The proxy's --trace (every datagram it receives and sends) is checked against the
# appendix's message sequence step by step. Where the appendix and the body differ we follow the
# body (README "Proxies"): last_notif's code is 2.05 (0x45, not 0x25), tp_info addresses carry tag
# 260, notifications keep the resource's Content-Format (60), and the forwarded registration of C2
# carries the proxy's token for the observation, which after the informative response is T (§3.2
# step 3 via §8), where the figure repeats 0x5e.
from coap import msg, inforesp, cborenc
from coap import options as o

from proxy_procs import BOARD, board, free_port, group_addr, joined, proxy, request, server, stepper, stop, trace

URI = "coap://sensor.example/r"


def _tim_obs(tim, token):
    m = msg.decode(msg.from_tim(tim, token))
    return m.code, m.uint(o.OBSERVE), bytes(m.payload())


def test_appendix_c_two_boards_one_proxy_one_server(tmp_path):
    sport, gport, pport = free_port(), free_port(), free_port()
    grp = group_addr()
    S, P = ("127.0.0.1", sport), ("127.0.0.1", pport)
    script = tmp_path / "board.py"
    script.write_text(BOARD)
    tr = tmp_path / "trace.jsonl"
    srv = server(sport, grp, gport)
    prx = proxy(pport, "--host", "sensor.example=127.0.0.1:%d" % sport, "--trace", str(tr), "--seed", "3")
    boards = []
    try:
        # the resource holds "1234" (application/cbor), as in §4 and Appendix C
        r = request(S, msg.PUT, [(o.URI_PATH, "r"), (o.CONTENT_FORMAT, 60)], cborenc.dumps("1234"))
        assert r.code == msg.CHANGED
        assert not joined(grp)
        boards.append(board(script, pport, URI, 2, 20000))           # C1
        boards[0].wait_for("notif")
        assert joined(grp)                                            # the proxy listens to GRP_ADDR
        boards.append(board(script, pport, URI, 2, 20000))           # C2
        boards[1].wait_for("notif")
        r = request(S, msg.PUT, [(o.URI_PATH, "r"), (o.CONTENT_FORMAT, 60)], cborenc.dumps("5678"))
        assert r.code == msg.CHANGED
        for b in boards:
            b.wait_for("done")
    finally:
        stop(*boards, prx, srv)
    for b in boards:
        assert "Traceback" not in b.out(), b.out()
        notes = b.grep("notif")
        assert [n[3] for n in notes] == [cborenc.dumps("1234").hex(), cborenc.dumps("5678").hex()], b.out()
        assert [n[1:3] for n in notes] == [["60", "1"], ["60", "0"]], b.out()  # CF 60; last_notif (§3.2
        # step 5, reported as from the group), then a notification via unicast from the proxy
        done = b.grep("done")[0]
        assert done[0] == "3" and done[1] == "0", done       # PROXY state, no group joined by the board
        assert done[4:] == ["0", "0", "0"], done             # no duplicates, reordering, drops
    t1, t2 = (bytes.fromhex(b.grep("token")[0][0]) for b in boards)
    c1, c2 = None, None
    steps = trace(tr)

    expect = stepper(steps, "Appendix C")

    # 1. C1 -> P: GET, Token 0x4a (C1's), Observe 0, Proxy-Uri coap://sensor.example/r
    k, (_, c1, _, m) = expect(lambda d, p, g, m: d == "in" and m.code == msg.GET and m.token_bytes() == t1,
                              "C1's registration", 0)
    assert m.uint(o.OBSERVE) == 0 and m.opt(o.PROXY_URI) == URI.encode() and m.type == msg.CON
    # 2. P -> S: GET, Token 0x5e (the proxy's), Observe 0, Uri-Host sensor.example, Uri-Path r
    k, (_, _, _, f1) = expect(lambda d, p, g, m: d == "out" and p == S and m.code == msg.GET, "P's registration", k)
    assert [n for n, v in f1.items()] == [o.URI_HOST, o.OBSERVE, o.URI_PATH]
    assert f1.opt(o.URI_HOST) == b"sensor.example" and f1.uint(o.OBSERVE) == 0 and f1.path() == "/r"
    # 3. S -> P: 5.03 informative response, Token 0x5e: ph_req, last_notif, tp_info [1, T, S, GRP]
    k, (_, _, _, ir) = expect(lambda d, p, g, m: d == "in" and p == S and m.code == msg.SERVICE_UNAVAILABLE,
                              "the informative response", k)
    assert ir.token_bytes() == f1.token_bytes() and ir.uint(o.CONTENT_FORMAT) == o.CF_INFORMATIVE
    info = inforesp.parse(bytes(ir.payload()))
    T = info.token
    assert (info.srv_addr, info.srv_port) == (bytes([127, 0, 0, 1]), sport)
    assert (info.cli_addr, info.cli_port) == (bytes(int(x) for x in grp.split(".")), gport)
    ph = msg.decode(msg.from_tim(info.ph_req, T))
    assert ph.code == msg.GET and ph.uint(o.OBSERVE) == 0 and ph.opt(o.URI_HOST) == b"sensor.example" and ph.path() == "/r"
    code, v0, pl = _tim_obs(info.last_notif, T)
    assert code == msg.CONTENT and pl == cborenc.dumps("1234")        # 0x45 (the appendix writes 0x25)
    # 4. (the proxy starts listening to GRP_ADDR:GRP_PORT; checked above with /proc/net/igmp)
    #    P -> C1: 5.03, Token 0x4a, the same payload
    k, (_, _, _, m) = expect(lambda d, p, g, m: d == "out" and p == c1 and m.code == msg.SERVICE_UNAVAILABLE,
                             "the informative response to C1", k)
    assert m.token_bytes() == t1 and m.type == msg.CON and bytes(m.payload()) == bytes(ir.payload())
    # 5. C2 -> P: GET, Token 0x01 (C2's), Observe 0, Proxy-Uri
    k, (_, c2, _, m) = expect(lambda d, p, g, m: d == "in" and m.code == msg.GET and m.token_bytes() == t2,
                              "C2's registration", k)
    assert c2 != c1 and m.uint(o.OBSERVE) == 0 and m.opt(o.PROXY_URI) == URI.encode()
    # 6. P -> S: GET, Observe 0, Uri-Host sensor.example, Uri-Path r (the proxy's token: T, see above)
    k, (_, _, _, f2) = expect(lambda d, p, g, m: d == "out" and p == S and m.code == msg.GET, "P forwards C2's", k)
    assert f2.items() == f1.items() and f2.token_bytes() == T
    # 7. S -> P: 5.03 informative response; P -> C2: 5.03, Token 0x01
    k, (_, _, _, ir2) = expect(lambda d, p, g, m: d == "in" and p == S and m.code == msg.SERVICE_UNAVAILABLE,
                               "the second informative response", k)
    assert inforesp.parse(bytes(ir2.payload())).token == T
    k, (_, _, _, m) = expect(lambda d, p, g, m: d == "out" and p == c2 and m.code == msg.SERVICE_UNAVAILABLE,
                             "the informative response to C2", k)
    assert m.token_bytes() == t2 and bytes(m.payload()) == bytes(ir2.payload())
    assert not [1 for d, p, g, m in steps[:k] if d == "out" and p == c1 and m.code == msg.SERVICE_UNAVAILABLE][1:]
    # 8. S -> GRP (multicast): 2.05, Token T, Observe 11, "5678"
    k, (_, _, g, n) = expect(lambda d, p, g, m: d == "in" and g is not None and m.code == msg.CONTENT
                             and bytes(m.payload()) == cborenc.dumps("5678"), "the multicast notification", k)
    assert g == (grp, gport) and n.type == msg.NON and n.token_bytes() == T and n.uint(o.CONTENT_FORMAT) == 60
    v = n.uint(o.OBSERVE)
    assert v > v0
    # 9. P -> C1 and P -> C2: 2.05, Tokens 0x4a and 0x01, the proxy's Observe (54123), "5678"
    outs = {}
    for who, tok in ((c1, t1), (c2, t2)):
        _, (_, _, _, m) = expect(lambda d, p, g, m: d == "out" and p == who and m.code == msg.CONTENT, "to a client", k)
        assert m.token_bytes() == tok and bytes(m.payload()) == cborenc.dumps("5678")
        assert m.uint(o.CONTENT_FORMAT) == 60 and not m.has(o.MRFD)
        outs[who] = m.uint(o.OBSERVE)
    assert outs[c1] == outs[c2] != v
    # the boards never talked to the server, nor to the group
    assert all(p in (S, c1, c2) or g is not None for d, p, g, m in steps)
