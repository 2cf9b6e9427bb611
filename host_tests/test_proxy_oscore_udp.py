# Appendix D of draft-tiloca-core-observe-multicast-notifications-04 end to end over real UDP on
# loopback: two boards (the firmware client with coap.groupsec under the MicroPython unix port, 32-bit
# when built) observe /r of the server (python -m tools.server --oscore) through the proxy (python -m
# tools.proxy), everything protected end to end; the proxy alone joins the group, for the boards' ticket
# requests (§9.2). The proxy's --trace is checked against the appendix's message sequence step by step;
# where the appendix and the body differ we follow the body (README "Proxies"): the LTMR value is
# tp_info in §2.2.2's order ([1, T, ...]; the figure writes [0x7b, 1, ...]), the ticket request's
# OSCORE option is ph_req's with its kid context (the figure leaves it out), the informative response's
# outer code is 2.04 (RFC 8613 §4.2; the figure: 2.05). Then the faults over UDP: a proxy that cannot
# join the group (its interface address is not this host's) refuses the ticket with 5.03 and the reason,
# the board ends its observation with it, nothing is joined, nothing crashes.
import json
import sys
import time

from coap import msg, cbor, cose
from coap import optinfo as o
from tools.soak.oscore import start_board, OscoreBoardLog

from proxy_procs import Proc, free_port, group_addr, joined, proxy, stepper, trace
from secflow import keys

FETCH = 0x05
GID = bytes.fromhex("57ab2e")


def _server(sport, grp, gport, keydir, *extra):
    p = Proc([sys.executable, "-m", "tools.server", "--bind", "127.0.0.1", "--port", str(sport), "--group", grp,
              "--group-port", str(gport), "--mc-if", "127.0.0.1", "--no-builtins", "--group-resource", "/r=1234",
              "--update", "/r=1", "--interval", "0.05", "--status-every", "0", "--oscore", keydir + "/server.json"]
             + list(extra))
    p.wait_for("listening on")
    return p


def _osc(m):
    return cose.parse_option(m.opt(cose.OSCORE))


def test_appendix_d_two_boards_one_proxy_one_server_protected(tmp_path):
    kd = keys(tmp_path / "keys", seqs={"group": 501, "oscore:c1": 301, "oscore:c2": 401})
    sport, gport, pport = free_port(), free_port(), free_port()
    grp = group_addr()
    S, P = ("127.0.0.1", sport), ("127.0.0.1", pport)
    tr = tmp_path / "trace.jsonl"
    srv = _server(sport, grp, gport, kd)
    prx = proxy(pport, "--host", "sensor.example=127.0.0.1:%d" % sport, "--trace", str(tr), "--seed", "4")
    b1 = b2 = None
    try:
        b1 = start_board(kd, "c1", "coap://sensor.example/r", 16000, proxy="127.0.0.1:%d" % pport, steps="none")  # C1
        time.sleep(5)
        assert joined(grp)                                     # the proxy listens, for C1's ticket request
        b2 = start_board(kd, "c2", "coap://sensor.example/r", 11000, proxy="127.0.0.1:%d" % pport)               # C2
        logs = [OscoreBoardLog(b.communicate(timeout=60)[0]) for b in (b1, b2)]
    finally:
        for b in (b1, b2):
            if b is not None and b.poll() is None:
                b.kill()
                b.wait(5)
        prx.stop()
        srv.stop()
    assert not joined(grp)                                     # left when the proxy stopped
    for name, b in zip(("c1", "c2"), logs):
        assert "Traceback" not in b.out and b.stats is not None, (name, b.out[-3000:])
        assert not b.ends and len(b.observes) == 1, (name, b.out[-3000:])
        vals = [int(p) for p in b.payloads()]
        assert vals[0] >= 1234 and len(vals) >= 4 and all(y > x for x, y in zip(vals, vals[1:])), (name, vals)
        assert [n[2] for n in b.notifs[:2]] == [1, 0]          # last_notif (§3.2 step 5), then from the proxy
        assert b.sec["informative"] == 1 and b.sec["verified"] == len(vals) - 1, (name, b.sec)
        assert sum(b.rejects.values()) == 0 and b.stats["security"] == 0, (name, b.rejects, b.stats)
    regtok = [bytes.fromhex(ln.split()[2]) for b in logs for ln in b.out.splitlines() if ln.startswith("O ")]
    steps = trace(tr)

    expect = stepper(steps, "Appendix D")

    clients, tickets, tp = [], [], None
    k = 0
    for n, (kid, tok) in enumerate(((b"\x01", regtok[0]), (b"\x02", regtok[1]))):
        # Cn -> P: FETCH, Observe 0, OSCORE {kid n; piv ...}, Uri-Host sensor.example, Proxy-Scheme coap
        k, (_, c, _, reg) = expect(lambda d, p, g, m: d == "in" and m.code == FETCH and m.token_bytes() == tok,
                                   "C%d's registration" % (n + 1), k)
        assert reg.uint(o.OBSERVE) == 0 and _osc(reg)[2] == kid and _osc(reg)[1] is None and not _osc(reg)[3]
        assert reg.opt(o.URI_HOST) == b"sensor.example" and reg.opt(o.PROXY_SCHEME) == b"coap" and not reg.has(o.URI_PATH)
        # P -> S: FETCH, the proxy's token, Observe 0, the OSCORE option and ciphertext untouched, Uri-Host
        k, (_, _, _, f) = expect(lambda d, p, g, m: d == "out" and p == S and m.code == FETCH, "P forwards it", k)
        assert [n_ for n_, v in f.items()] == [o.URI_HOST, o.OBSERVE, cose.OSCORE] and f.uint(o.OBSERVE) == 0
        assert f.opt(cose.OSCORE) == reg.opt(cose.OSCORE) and f.payload() == reg.payload() and f.token_bytes() != tok
        # S -> P: the protected informative response (outer 2.04, OSCORE {piv: 301 / 401}) on P's token
        k, (_, _, _, ir) = expect(lambda d, p, g, m: d == "in" and p == S and m.code == msg.CHANGED
                                  and m.token_bytes() == f.token_bytes(), "the informative response", k)
        assert _osc(ir)[0] == (301 + 100 * n).to_bytes(2, "big") and not ir.has(o.OBSERVE)
        # P -> Cn: untouched but for the token
        k, (_, _, _, a) = expect(lambda d, p, g, m: d == "out" and p == c and m.code == msg.CHANGED, "P -> C", k)
        assert a.token_bytes() == tok and a.items() == ir.items() and a.payload() == ir.payload()
        # Cn -> P: the ticket request: its own token, FETCH, Observe 0, ph_req's OSCORE option (kid 5, piv 501,
        # kid context 57ab2e, group mode), Uri-Host, Proxy-Scheme, LTMR = tp_info
        k, (_, _, _, t) = expect(lambda d, p, g, m: d == "in" and p == c and m.has(o.LTMR), "C's ticket request", k)
        assert t.code == FETCH and t.type == msg.CON and t.token_bytes() != tok and t.uint(o.OBSERVE) == 0
        assert _osc(t) == ((501).to_bytes(2, "big"), GID, b"\x05", True)
        assert t.opt(o.URI_HOST) == b"sensor.example" and t.opt(o.PROXY_SCHEME) == b"coap"
        tp = cbor.loads(t.opt(o.LTMR))
        assert tp[0] == 1 and tp[2:4] == [cbor.Tag(260, bytes([127, 0, 0, 1])), sport]
        assert tp[4] == cbor.Tag(260, bytes(int(x) for x in grp.split("."))) and tp[5] == gport
        # P -> Cn: its empty ACK (the answers are the notifications)
        expect(lambda d, p, g, m: d == "out" and p == c and m.type == msg.ACK and m.mid == t.mid and m.code == 0,
               "P acknowledges the ticket request", k)
        clients.append(c)
        tickets.append(t)
    T = tp[1]
    # the two ticket requests are the same but for token and Message ID (§9.2); never forwarded to S
    assert tickets[0].items() == tickets[1].items() and tickets[0].payload() == tickets[1].payload()
    assert clients[0] != clients[1]
    assert not [m for d, p, g, m in steps if d == "out" and p == S and m.has(o.LTMR)]
    # S -> GRP (multicast): 2.05, Token T, OSCORE {kid 5; piv; kid context}, after both tickets
    k, (_, _, g, n) = expect(lambda d, p, g, m: d == "in" and g is not None and m.code == msg.CONTENT, "multicast", k)
    assert g == (grp, gport) and n.type == msg.NON and n.token_bytes() == T and n.has(o.OBSERVE)
    assert _osc(n)[1:] == (GID, b"\x05", True) and int.from_bytes(_osc(n)[0], "big") > 502
    # P -> C1 and P -> C2: on their ticket requests' tokens, the proxy's Observe, protected end to end
    outs = []
    for c, t in zip(clients, tickets):
        _, (_, _, _, m) = expect(lambda d, p, g, m: d == "out" and p == c and m.code == msg.CONTENT
                                 and m.opt(cose.OSCORE) == n.opt(cose.OSCORE), "P -> C (notification)", k)
        assert m.token_bytes() == t.token_bytes() and m.payload() == n.payload()
        outs.append(m.uint(o.OBSERVE))
    assert outs[0] == outs[1] != n.uint(o.OBSERVE)
    # the boards never talked to the server, nor to the group
    assert all(p in [S] + clients or g is not None for d, p, g, m in steps)


def test_ticket_for_a_group_the_proxy_cannot_join(tmp_path):
    """The proxy's group joins fail (--mc-if: an address that is not this host's): the ticket request
    gets 5.03 with the reason, the board ends its observation with it; the proxy holds no group, no
    target, and goes on answering (a second board the same). Every component with LTMR = 65011 (a
    proxy on another number would refuse the ticket request's unknown critical option instead)."""
    kd = keys(tmp_path / "keys")
    sport, gport, pport = free_port(), free_port(), free_port()
    grp = group_addr()
    srv = _server(sport, grp, gport, kd, "--ltmr", "65011")
    sj = tmp_path / "proxy.json"
    prx = proxy(pport, "--host", "sensor.example=127.0.0.1:%d" % sport, "--mc-if", "192.0.2.1", "--stats-json", str(sj),
                "--ltmr", "65011")
    try:
        logs = []
        for name in ("c1", "c2"):
            b = start_board(kd, name, "coap://sensor.example/r", 4000, proxy="127.0.0.1:%d" % pport, ltmr=65011)
            logs.append(OscoreBoardLog(b.communicate(timeout=60)[0]))
        assert not joined(grp)
    finally:
        prx.stop()
        srv.stop()
    st = json.loads(sj.read_text())
    for b in logs:
        assert "Traceback" not in b.out and b.stats is not None, b.out[-3000:]
        why = "ticket request refused by the proxy: 5.03 proxy cannot listen to %s:%d" % (grp, gport)
        assert b.ends and all(e[1].startswith(why) for e in b.ends), b.out   # (it observes again 1 s after)
        assert len(b.observes) - 1 <= len(b.ends) <= len(b.observes), b.out
        assert all(via == 1 for t, v, via, p in b.notifs) and b.stats["security"] == 0, b.out  # last_notif only
    assert st["stats"]["join_failed"] >= 2 and st["stats"]["errors"] == 0 and not st["targets"] and not st["groups"]
    assert st["stats"]["ltmr"] == st["stats"]["tickets"] == st["stats"]["join_failed"] and not st["stats"]["ltmr_refused"]
    assert st["join_errors"] >= 2 and "Traceback" not in prx.out()
