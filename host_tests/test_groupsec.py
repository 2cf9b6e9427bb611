# Protected group observations (draft -04 §6-7) in memory, fake clock: the real server behind
# tools/server/secure.py and board client cores with coap.groupsec. What must be rejected is rejected
# and counted (by reason), nothing of it is delivered, and the observation survives; §6.3.1's "one new
# registration, then withdraw" when ph_req or last_notif does not verify; §6.1's fields; the server's
# RFC 8613 §8.2 refusals; retransmissions; Sender Sequence Numbers across restarts; PM as outer / inner /
# both option (coap-pm §4.5); verification in steps from the poll loop (the board's own verifier).
import json
import os

from coap import cbor, cose, msg, sigverify, client
from coap import optinfo as o
from coap.msgcore import Msg
from tools.server.resources import Resource

from secflow import Net, keys, SRV, GRP


def _osc(data):
    m = msg.decode(data)
    return cose.parse_option(m.opt(cose.OSCORE)) if m.has(cose.OSCORE) else None


def _mc(net, since=0):
    return [d for s, dst, d in net.wire[since:] if dst == GRP]


def group_net(tmp_path, boards=("c1",), **kw):
    net = Net(keys(tmp_path), boards=boards, **kw)
    obs = {b: net.observe(b) for b in boards}
    net.pump()
    for b, ob in obs.items():
        assert ob.state == client.GROUP, (b, net.boards[b].logs if hasattr(net.boards[b], "logs") else None)
    return net, obs


def test_group_observation_delivers_verified_notifications_only(tmp_path):
    net, obs = group_net(tmp_path, ("c1", "c2"))
    for k in range(3):
        net.update(b"v%d" % k)
    for name in ("c1", "c2"):
        c = net.boards[name]
        assert [g[0] for g in c.got] == [b"1234", b"v0", b"v1", b"v2"]
        assert c.sec.stats.verified == 3 and c.sec.rejected() == 0 and c.stats.dropped["security"] == 0
    # every datagram on the wire is OSCORE-protected, except the empty ACKs
    for src, dst, d in net.wire:
        assert len(d) == 4 or _osc(d) is not None, msg.decode(d)
    rep = net.srv.report()["oscore"]
    assert rep["verified"] == 2 and rep["rejected"] == 0 and rep["group_protected"]["notif"] == 4  # INIT_NOTIF + 3


def test_attacks_rejected_counted_observation_survives(tmp_path):
    """The on-path / address-forging attacks the unprotected mode cannot stop (test_spoofing_udp.py)."""
    net, obs = group_net(tmp_path, ("c1",), resources=[
        Resource("/r", "1234", cf=0, group_after=1, writable=True), Resource("/s", "abcd", cf=0, group_after=1,
                                                                              writable=True)])
    c = net.boards["c1"]
    other = net.observe("c1", "s")
    net.pump()
    net.hold = True   # the next notifications of /r and /s: held (not seen by the board yet)
    net.update(b"r1")
    net.update(b"s1", "/s")
    net.hold = False
    (_, _, real), (_, _, s_real) = [x for x in net.held if x[1] == GRP]
    T = bytes(obs["c1"].token)
    assert msg.decode(real).token_bytes() == T
    sent = 0

    def inject(data):
        nonlocal sent
        sent += 1
        net.deliver(data, SRV, GRP)  # from the server's address and port, on T

    m = msg.decode(real)
    before = list(c.got)
    inject(msg.encode(msg.NON, msg.CONTENT, 0x7000, T, [(o.OBSERVE, 999), (o.CONTENT_FORMAT, 0)], b"forged"))
    inject(msg.encode(msg.NON, msg.SERVICE_UNAVAILABLE, 0x7001, T))                       # forged cancellation
    raw = bytearray(real)
    raw[-70] ^= 1                                                                          # tampered ciphertext
    inject(bytes(raw))
    sig = bytearray(real)
    sig[-1] ^= 1                                                                           # tampered signature
    inject(bytes(sig))
    s_on_t = bytearray(s_real)                                                             # /s's, replayed on T
    s_on_t[4:4 + len(T)] = T
    inject(bytes(s_on_t))
    inject(msg.encode(msg.NON, msg.CONTENT, 0x7002, T, m.items(), bytes(len(m.payload()))))  # garbage, its option
    assert c.stats.dropped["security"] == sent and c.got == before
    net.deliver(real, SRV, GRP)                                                            # the real one
    assert c.got[-1][0] == b"r1"
    inject(real)                                                                           # replayed
    assert c.stats.dropped["security"] == sent and c.got[-1][0] == b"r1"
    rej = c.sec.rejects()
    assert rej["not_protected"] == 2 and rej["tag"] == 3 and rej["signature"] == 1 and rej["replay"] == 1, rej
    assert c.sec.rejected() == sent
    assert obs["c1"].state == client.GROUP and other.state == client.GROUP
    net.deliver(s_real, SRV, GRP)
    net.update(b"r2")
    assert [g[0] for g in c.got[-2:]] == [b"s1", b"r2"]   # both observations still delivering


def test_forged_cancellation_with_group_keys_but_unsigned(tmp_path):
    """A member that knows the group keys but not the server's signing key cannot end the observation."""
    net, obs = group_net(tmp_path)
    c = net.boards["c1"]
    net.update(b"x")
    n_data = _mc(net)[-1]
    n = msg.decode(n_data)
    # the real cancellation verifies; the same with a flipped signature bit does not
    net.hold = True
    net.core.cancel_group("/r", net.now)
    net.pump()
    cancel = [d for s, dst, d in net.held if dst == GRP][0]
    bad = bytearray(cancel)
    bad[-5] ^= 0x40
    net.deliver(bytes(bad), SRV, GRP)
    assert obs["c1"].state == client.GROUP and c.sec.rejects()["signature"] == 1
    net.deliver(cancel, SRV, GRP)
    assert obs["c1"].state == client.ENDED and c.ended == ["group observation cancelled by the server"]
    assert n.token_bytes() == bytes(msg.decode(cancel).token_bytes())
    # the cancellation is bound to the phantom registration request (request_piv = its PIV) with a fresh PIV
    assert _osc(cancel)[2] == b"\x05" and int.from_bytes(_osc(cancel)[0], "big") > int.from_bytes(_osc(n_data)[0], "big") + 1


def _tamper(net, field):
    """Make the server's informative responses carry a tampered ph_req or last_notif (a bit of its
    signature flipped) inside an otherwise valid, OSCORE-protected 5.03."""
    g = net.core.group_for("/r")
    b = bytearray(getattr(g, field))
    b[-3] ^= 0x10
    setattr(g, field, bytes(b))
    g._payload = None


def test_tampered_last_notif_one_new_registration_then_withdraw(tmp_path):
    for field, reason in (("last_notif", "last_notif failed verification (signature)"),
                          ("ph_req", "ph_req failed verification (signature)")):
        d = tmp_path / field
        net = Net(keys(d), boards=("c1",), retry_backoff_ms=1000)
        net.core.start_group("/r", 0, SRV[0])
        _tamper(net, field)
        c = net.boards["c1"]
        ob = net.observe("c1")
        net.pump()
        assert ob.state == client.REG and c.sec.stats.failed_informative == 1   # one new registration ...
        net.now += 1100
        net.pump()
        regs = [x for x in net.wire if x[1] == SRV and msg.decode(x[2]).code == 0x05]
        assert len(regs) == 2 and ob.state == client.ENDED and c.sec.stats.failed_informative == 2  # ... then withdraw
        assert ob.error == "inforesp: " + reason and c.got == [] and not c.groups, ob.error
        assert c.stats.dropped["inforesp"] == 2


def test_informative_response_from_a_non_member(tmp_path):
    """An unprotected (or wrongly keyed) informative response on the registration's token, from the
    server's address: rejected, counted; the real one is taken."""
    d = keys(tmp_path)
    net = Net(d, boards=("c1",))
    c = net.boards["c1"]
    net.hold = True
    ob = net.observe("c1")
    net.pump()
    reg = msg.decode(net.held[0][2])
    from coap import inforespenc
    ph = inforespenc.to_tim(msg.encode(msg.NON, msg.GET, 0, b"\x66", [(o.OBSERVE, 0), (o.URI_PATH, "r")]))
    last = inforespenc.to_tim(msg.encode(msg.NON, msg.CONTENT, 0, b"\x66", [(o.OBSERVE, 9)], b"evil"))
    pl = inforespenc.build(ph, last, b"\x66", bytes([127, 0, 0, 1]), 5683, bytes([224, 0, 1, 187]))
    evil = msg.encode(msg.ACK, msg.SERVICE_UNAVAILABLE, reg.mid, reg.token_bytes(),
                      [(o.CONTENT_FORMAT, o.CF_INFORMATIVE)], pl)
    net.hold = False
    net.deliver(evil, SRV, c.addr)
    # one made with a non-member's own (valid-looking) OSCORE context: its tag fails
    from coap import oscoreserver
    rogue = oscoreserver.Context(b"\x11" * 16, b"\x03", b"\x01")
    _, rb = rogue.unprotect_request(Msg().decode(net.held[0][2]), replay=False) or (None, None)
    assert rb is None  # (the rogue cannot even read the request)
    from coap.oscore import Binding
    fake = rogue.protect_response(evil, Binding(b"\x01", _osc(net.held[0][2])[0]), fresh=True)
    net.deliver(fake, SRV, c.addr)
    assert c.sec.rejects()["not_protected"] == 1 and c.sec.rejects()["tag"] == 1 and c.stats.dropped["security"] == 2
    assert ob.state == client.REG and c.got == []
    for s, dst, data in net.held:  # the real exchange goes on
        net.deliver(data, s, dst)
    net.pump()
    assert ob.state == client.GROUP and c.got[0][0] == b"1234"


def test_section_6_1_fields(tmp_path):
    # fields without join_uri and sec_gp: ignored (§6.1), the observation goes on (pre-configured member)
    net = Net(keys(tmp_path / "a"), boards=("c1",))
    net.core.cfg.security.fields = {7: cose.EDDSA, 11: 10}
    ob = net.observe("c1")
    net.pump()
    c = net.boards["c1"]
    assert ob.state == client.GROUP and c.sec.stats.fields_ignored == 1 and c.got[0][0] == b"1234"
    assert any("ignored (§6.1)" in line for line in c.sec.log.__self__)
    # sec_gp naming a group the board is no member of: one new registration, then withdraw
    net = Net(keys(tmp_path / "b"), boards=("c1",), retry_backoff_ms=500)
    net.core.cfg.security.fields = {4: "coap://gm.example/ace-group/other", 5: "other"}
    ob = net.observe("c1")
    net.pump()
    net.now += 600
    net.pump()
    assert ob.state == client.ENDED and "OSCORE group 'other' is not ours" in ob.error, ob.error


def test_server_refuses_unprotected_and_replayed_requests(tmp_path):
    net = Net(keys(tmp_path), boards=("c1",))
    srv = net.srv
    plain = msg.encode(msg.CON, msg.GET, 0x1111, b"\x01", [(o.OBSERVE, 0), (o.URI_PATH, "r")])
    srv.receive(plain, ("127.0.0.1", 40009), 0, None, SRV[0])
    (resp, dst), = srv.take()
    r = msg.decode(resp)
    assert r.type == msg.ACK and r.code == 0x81 and bytes(r.payload()) == b"OSCORE required" and not r.has(cose.OSCORE)
    assert net.core.stats["registrations"] == 0 and srv.stats["unprotected"] == 1
    # a board's registration, then the same bytes again after the exchange is forgotten: replay
    net.hold = True
    net.observe("c1")
    net.pump()
    reg = net.held[0][2]
    srv.receive(reg, net.boards["c1"].addr, 0, None, SRV[0])
    first = srv.take()
    srv.receive(reg, net.boards["c1"].addr, 10, None, SRV[0])       # retransmission: the same answer again
    again = srv.take()
    assert [msg.decode(d).type for d, _ in first] == [msg.ACK, msg.CON] and msg.decode(again[0][0]).type == msg.ACK
    assert srv.stats["rejected"] == 1
    srv.receive(reg, net.boards["c1"].addr, 10 ** 9, None, SRV[0])  # long after: a replay
    (resp, _), = srv.take()
    r = msg.decode(resp)
    assert r.code == 0x81 and bytes(r.payload()) == b"Replay detected" and srv.refused == {"not_protected": 1, "replay": 1}
    # a request with a Partial IV never used (so no replay) but not what was encrypted: its tag fails
    m = msg.decode(reg)
    opts = [(n, v if n != cose.OSCORE else cose.option(b"\xee", None, b"\x01")) for n, v in m.items()]
    srv.receive(msg.encode(msg.CON, m.code, 0x2222, m.token_bytes(), opts, bytes(m.payload())),
                ("127.0.0.1", 40010), 10 ** 9, None, SRV[0])
    r = msg.decode(srv.take()[0][0])
    assert r.code == 0x80 and bytes(r.payload()) == b"Decryption failed"
    # an unknown kid
    opts = [(n, v if n != cose.OSCORE else cose.option(b"\xef", None, b"\x09")) for n, v in m.items()]
    srv.receive(msg.encode(msg.CON, m.code, 0x2223, m.token_bytes(), opts, bytes(m.payload())),
                ("127.0.0.1", 40010), 10 ** 9, None, SRV[0])
    r = msg.decode(srv.take()[0][0])
    assert r.code == 0x81 and bytes(r.payload()) == b"Security context not found"
    assert net.core.stats["registrations"] == 1   # only the one that verified reached the core


def test_retransmissions_keep_the_partial_iv(tmp_path):
    """A CON registration that is lost goes again with the same Partial IV and ciphertext (with PM
    outer, only the PM option changes): the server's answer binds to the request it saw first."""
    from coap.pm import PMEndpoint
    net = Net(keys(tmp_path), boards=())
    c = net.add_board(str(tmp_path), "c1", 40001, pm=PMEndpoint("client", 0))
    net.hold = True
    net.observe("c1")
    net.pump()
    net.now += 5000
    net.pump()   # the retransmission (the first was "lost": held)
    regs = [d for s, dst, d in net.held if dst == SRV]
    assert len(regs) == 2
    a, b = msg.decode(regs[0]), msg.decode(regs[1])
    assert a.mid == b.mid and _osc(regs[0]) == _osc(regs[1]) and a.payload() == b.payload()
    assert a.has(o.PM) and b.has(o.PM)  # PM outer: on-path probes see it
    net.hold = False
    net.deliver(regs[1], c.addr, SRV)
    net.pump()
    assert c.obs[0].state == client.GROUP


def test_duplicate_informative_response_acked_not_verified_again(tmp_path):
    net = Net(keys(tmp_path), boards=("c1",))
    c = net.boards["c1"]
    ob = net.observe("c1")
    net.pump()
    info = [x for x in net.wire if x[0] == SRV and msg.decode(x[2]).type == msg.CON][0]
    n = len(net.wire)
    net.deliver(info[2], SRV, c.addr)  # the server did not get our ACK and sent it again
    out = c.take()
    assert [msg.decode(d).type for d, _ in out] == [msg.ACK] and c.sec.stats.duplicates == 1
    assert c.sec.stats.informative == 1 and ob.state == client.GROUP and len(net.wire) == n + 1


def test_sequence_numbers_survive_a_restart(tmp_path):
    d = keys(tmp_path)
    net = Net(d, boards=("c1",))
    net.observe("c1")
    net.pump()
    for k in range(3):
        net.update(b"%d" % k)
    used = net.core.cfg.security.sender.seq
    stored = json.load(open(os.path.join(d, "server.json.seq")))
    assert stored["group"] >= used and stored["oscore:c1"] >= net.srv.contexts["c1"].seq
    # "restart": a new server from the same key file never reuses a number
    net2 = Net(d, boards=())
    assert net2.core.cfg.security.sender.seq >= used and net2.srv.contexts["c1"].seq >= net.srv.contexts["c1"].seq
    # the board's own number (OSCORE_SEQ_FILE): after a reboot it starts above what it used
    from secflow import board_sec
    f = str(tmp_path / "board.seq")
    s1 = board_sec(d, "c1", seq_file=f, seq_chunk=4)
    s1.attach(client.Client(sec=None))
    for k in range(10):
        s1.protect(msg.encode(msg.NON, msg.GET, k, b"\x01", [(o.URI_PATH, "r")]), SRV)
    s2 = board_sec(d, "c1", seq_file=f, seq_chunk=4)
    assert s1.ctx.seq == 10 and s2.ctx.seq >= 10


def test_pm_outer_inner_both(tmp_path):
    """coap-pm §4.5: outer (class U: on the wire in clear), inner (class E: only inside), both."""
    from coap.pm import PMEndpoint
    for mode in ("outer", "inner", "both"):
        d = keys(tmp_path / mode)
        net = Net(d, boards=(), pm_mode=mode)
        net.core.pm = PMEndpoint("server", 0)
        c = net.add_board(d, "c1", 40001, pm=PMEndpoint("client", 0))
        net.observe("c1")
        net.pump()
        net.update(b"5678")
        for src, dst, data in net.wire:
            if len(data) == 4:
                continue
            outside = msg.decode(data).has(o.PM)
            assert outside == (mode != "inner"), (mode, src, dst, msg.decode(data))
        assert c.got[-1][0] == b"5678"
        # the board measured the server's flows from the PM it got inside (inner/both) or outside (outer)
        peers = c.pm.stats()["peers"]
        assert peers and all(f["pkts"] > 0 and f["absent"] == 0 for f in peers.values()), (mode, peers)


def test_verification_in_steps_from_the_poll_loop(tmp_path):
    """With the board's own stepwise verifier (coap.sigverify), a notification is verified a few units per
    tick: meanwhile next_deadline() says "now" and the CON/feedback timers keep running; the result is the
    same as verifying at once; the informative response's ACK does not wait for the signature checks."""
    d = keys(tmp_path)
    net = Net(d, boards=())
    c = net.add_board(d, "c1", 40001, steps=2, verifier=sigverify.verifier)
    net.hold = True
    ob = net.observe("c1")
    net.pump()
    net.hold = False
    for s, dst, data in net.held:
        net.deliver(data, s, dst)
    net.held = []
    while not net.boards["c1"].out and not c.sec.jobs:
        net.srv.tick(net.now)
        for data, dst in net.srv.take():
            net.deliver(data, SRV, dst)
    assert c.sec.jobs and [msg.decode(x[0]).type for x in c.take()] == [msg.ACK]  # ACKed before verified
    ticks = 0
    while c.sec.jobs:
        assert c.next_deadline() is not None and c.next_deadline() <= net.now
        c.tick(net.now)
        ticks += 1
    assert ticks > 20 and ob.state == client.GROUP and c.got[0][0] == b"1234"
    net.pump()
    net.update(b"stepwise")
    assert c.got[-1][0] == b"stepwise" and c.sec.stats.verified == 1


def test_join_from_discovery_data_with_oscore(tmp_path):
    """Appendix A.1 on a protected group observation: the data's ph_req and last_notif verified first
    (§6.3.1), the observation's options come from the plain phantom request; tampered data: ValueError."""
    import pytest
    from coap import inforesp
    net = Net(keys(tmp_path), boards=("c1",))
    net.core.start_group("/r", 0, SRV[0])
    data = net.core.group_for("/r").info_payload()
    c = net.boards["c1"]
    bad = bytearray(data)
    bad[40] ^= 1   # inside ph_req's ciphertext
    with pytest.raises(ValueError):
        c.join(c.sec.join_data(bytes(bad)), lambda *a: None, net.now)
    ob = c.join(c.sec.join_data(data), lambda p, cf, v, via: c.got.append((bytes(p), v, via)), net.now)
    assert ob.state == client.GROUP and c.got == [(b"1234", 0, client.VIA_GROUP)]
    assert msg.decode(b"\x40\x01\x00\x00" + ob.opts).path() == "/r"   # from the verified phantom request
    assert inforesp.parse(data).ph_req[0] == 0x05
    net.update(b"joined")
    assert c.got[-1][0] == b"joined" and c.sec.stats.verified == 1


def test_mutated_and_random_datagrams_never_raise_never_deliver(tmp_path):
    """Bit flips, truncations and random bytes of real protected datagrams (the informative response,
    notifications, the cancellation) into the board's seam, unicast and multicast: GroupSec.unprotect
    never raises (the core's guard is not what keeps it safe), nothing new is delivered, every one that
    reaches verification is counted."""
    import random
    from coap.msgcore import DecodeError
    net, obs = group_net(tmp_path, ("c1",))
    c = net.boards["c1"]
    for k in range(3):
        net.update(b"u%d" % k)
    samples = [d for s, dst, d in net.wire if s == SRV and len(d) > 4]
    got = list(c.got)
    rng = random.Random(11)
    m = Msg()
    raised = 0
    for i in range(3000):
        d = bytearray(rng.choice(samples))
        kind = i % 3
        if kind == 0:
            for _ in range(rng.randint(1, 4)):
                d[rng.randrange(4, len(d))] ^= 1 << rng.randrange(8)
        elif kind == 1:
            d = d[:rng.randrange(4, len(d))]
        else:
            d = d[:4 + d[0] % 16] + bytes(rng.getrandbits(8) for _ in range(rng.randrange(0, 80)))
        try:
            m.decode(bytes(d))
        except DecodeError:
            continue
        for group in (None, GRP):
            try:
                r = c.sec.unprotect(m, SRV, group)
            except Exception:
                raised += 1
                continue
            if r is not None and r is not False and r is not m:
                c.receive(bytes(d), SRV, net.now, group)  # (a verified one: only an old, replayed message)
    assert raised == 0 and c.got == got and obs["c1"].state == client.GROUP
    assert c.sec.rejected() > 1000
