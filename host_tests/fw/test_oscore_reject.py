# Bad input to OSCORE and Group OSCORE verification (both runtimes): tampered ciphertext, tag,
# signature, Partial IV, kid, kid context, a replayed or older Partial IV, a wrong-algorithm context,
# truncated or malformed OSCORE options, a missing option, a short payload, a malformed plaintext. Each
# is rejected with its counted reason (exactly one counter moves), nothing is returned, no exception
# escapes; the good message still verifies afterwards (nothing that worked is lost).
from tu import h, raises
from coap import cose, oscore, oscoreserver, grouposcore, ccm, msg
from coap.msgcore import Msg
import oscore_golden as G
from test_grouposcore_golden import KAT

SECRET = bytes(range(16))
REG = msg.encode(msg.CON, msg.GET, 0x1234, b"\x4a", [(6, 0), (11, "r")])
NOTE = msg.encode(msg.CON, msg.CONTENT, 0x2000, b"\x4a", [(6, 7)], b"hello")


def _pair():
    return oscore.Context(SECRET, b"\x01", b"\x03"), oscoreserver.Context(SECRET, b"\x03", b"\x01")


def _with_option(data, value=None, drop=False):
    """data with its OSCORE option value replaced (or the option dropped)."""
    m = msg.decode(data)
    opts = [(n, v) for n, v in m.items() if n != cose.OSCORE] + ([] if drop else [(cose.OSCORE, value)])
    return msg.encode(m.type, m.code, m.mid, m.token_bytes(), opts, bytes(m.payload()))


def _with_payload(data, payload):
    m = msg.decode(data)
    return msg.encode(m.type, m.code, m.mid, m.token_bytes(), m.items(), payload)


def _flip(b, i):
    x = bytearray(b)
    x[i] ^= 0x01
    return bytes(x)


def _rejected(ctx, call, reason):
    before = ctx.stats.as_dict()
    assert call() is None, reason
    after = ctx.stats.as_dict()
    moved = [r for r in oscore.REASONS if after[r] != before[r]]
    assert moved == [reason] and after[reason] == before[reason] + 1, (reason, moved)
    assert ctx.stats.last == reason


BAD_OPTIONS = [
    "00",                  # all-zero flags must be an empty option
    "0e",                  # Partial IV length 6 (reserved)
    "0f0102030405060708",  # Partial IV length 7 (reserved)
    "0a14",                # PIV length 2, 1 byte present
    "09",                  # PIV length 1, none present
    "1914",                # kid context flag, no length byte
    "191405abcd",          # kid context of 5 bytes, 2 present
    "4914", "8914",        # reserved flag bits
    "0114ff",              # bytes after the last field (no kid flag)
]


def test_oscore_request_rejections():
    cli, srv = _pair()
    req = cli.protect_request(REG)[0]
    m = Msg()
    pl = bytes(msg.decode(req).payload())
    up = srv.unprotect_request
    _rejected(srv, lambda: up(m.decode(REG)), "not_protected")
    for bad in BAD_OPTIONS:
        _rejected(srv, lambda: up(m.decode(_with_option(req, h(bad)))), "option")
    _rejected(srv, lambda: up(m.decode(_with_payload(req, _flip(pl, 0)))), "tag")            # ciphertext
    _rejected(srv, lambda: up(m.decode(_with_payload(req, _flip(pl, len(pl) - 1)))), "tag")  # tag
    _rejected(srv, lambda: up(m.decode(_with_payload(req, pl[:8]))), "short")
    _rejected(srv, lambda: up(m.decode(_with_option(req, cose.option(b"\x01", None, b"\x01")))), "tag")  # PIV
    _rejected(srv, lambda: up(m.decode(_with_option(req, cose.option(b"\x00", None, b"\x07")))), "kid")
    _rejected(srv, lambda: up(m.decode(_with_option(req, cose.option(b"\x00")))), "kid")      # no kid at all
    _rejected(srv, lambda: up(m.decode(_with_option(req, cose.option(b"\x00", b"\x99", b"\x01")))), "kid_context")
    _rejected(srv, lambda: up(m.decode(_with_option(req, cose.option(None, None, b"\x01")))), "piv")
    _rejected(srv, lambda: up(m.decode(_with_option(req, cose.option(b"\x00", None, b"\x01", True)))), "mode")
    assert srv.stats.total() == 10 + len(BAD_OPTIONS)
    assert up(m.decode(req))[0] == REG          # the good one still verifies ...
    _rejected(srv, lambda: up(m.decode(req)), "replay")  # ... once
    assert srv.window.top == 0


def test_oscore_replay_window():
    cli, srv = _pair()
    reqs = [cli.protect_request(REG)[0] for _ in range(40)]
    m = Msg()
    assert srv.unprotect_request(m.decode(reqs[35])) is not None
    assert srv.unprotect_request(m.decode(reqs[10])) is not None    # inside the window (32), first time
    _rejected(srv, lambda: srv.unprotect_request(m.decode(reqs[10])), "replay")
    _rejected(srv, lambda: srv.unprotect_request(m.decode(reqs[3])), "replay")  # older than the window
    assert srv.unprotect_request(m.decode(reqs[36])) is not None
    assert srv.unprotect_request(m.decode(reqs[4]), replay=False) is not None  # §6.3.1-style: no check
    assert srv.window.top == 36


def test_oscore_response_rejections():
    cli, srv = _pair()
    req, b = cli.protect_request(REG)
    sb = srv.unprotect_request(Msg().decode(req))[1]
    n1 = srv.protect_response(NOTE, sb, fresh=True)
    n2 = srv.protect_response(NOTE, sb)
    m = Msg()
    up = cli.unprotect_response
    pl = bytes(msg.decode(n2).payload())
    _rejected(cli, lambda: up(m.decode(_with_payload(n2, _flip(pl, 3))), b), "tag")
    _rejected(cli, lambda: up(m.decode(_with_option(n2, cose.option(b"\x01", None, b"\x09"))), b), "kid")
    _rejected(cli, lambda: up(m.decode(_with_option(n2, cose.option(b"\x01", b"\x01"))), b), "kid_context")
    _rejected(cli, lambda: up(m.decode(_with_option(n2, b"\x02\x01")), b), "option")
    other = oscore.Binding(b"\x01", b"\x63")  # bound to another request: the AAD differs
    _rejected(cli, lambda: up(m.decode(n2), other), "tag")
    assert up(m.decode(n2), b) == NOTE and b.notif == 1
    _rejected(cli, lambda: up(m.decode(n1), b), "replay")  # older notification (§7.4.1)
    _rejected(cli, lambda: up(m.decode(n2), b), "replay")  # the same again


def test_oscore_malformed_plaintext_is_counted():
    cli, srv = _pair()
    seq = cli.seq
    req = cli.protect_request(REG)[0]
    piv = cose.piv_bytes(seq)
    ext = cose.enc_structure(cose.aad(10, b"\x01", piv))
    nonce = cose.nonce(cli.common_iv, b"\x01", piv)
    for pt in (h("01f0"), h("01ff"), h("45"), h("00"), h("01" + "91" + "00")):  # bad nibble, empty payload,
        # a response code in a request, code 0, an inner OSCORE option
        bad = _with_payload(req, ccm.encrypt(cli.sender_key, nonce, ext, pt))
        _rejected(srv, lambda: srv.unprotect_request(Msg().decode(bad), replay=False), "plaintext")


def test_wrong_algorithm_contexts_are_refused_or_rejected():
    raises(ValueError, oscore.Context, SECRET, b"\x01", b"\x03", alg_aead=11)
    raises(ValueError, oscore.Context, SECRET, b"\x01", b"\x03", hkdf=-11)
    raises(ValueError, oscore.Context, SECRET, b"\x01", b"\x01")
    raises(ValueError, oscore.Context, SECRET, b"\x01" * 8, b"\x03")
    kat = KAT(G.ED25519)
    raises(ValueError, grouposcore.GroupContext, G.GID, G.SECRET, {G.SRV: G.ED25519["cred"]}, alg_signature=-7,
           verifier=kat)  # an Ed25519 credential in an ES256 group
    raises(ValueError, grouposcore.GroupContext, G.GID, G.SECRET, {}, alg_signature=-35, verifier=kat)
    raises(ValueError, grouposcore.GroupContext, G.GID, G.SECRET, {G.SRV: b"\xa0"}, verifier=kat)
    # a group context whose algorithms differ from the sender's (no pairwise alg named): the AAD differs
    g = grouposcore.GroupContext(G.GID, G.SECRET, {G.SRV: G.ED25519["cred"]}, master_salt=G.SALT, verifier=kat)
    _rejected(g, lambda: g.unprotect_request(Msg().decode(G.ED25519["phantom"]), replay=False), "tag")


def _board(d=G.ED25519):
    return grouposcore.GroupContext(G.GID, G.SECRET, {G.SRV: d["cred"]}, master_salt=G.SALT, sender_id=b"\x01",
                                    alg_signature=d["alg"], alg_pairwise_key_agreement=-27, verifier=KAT(d))


def test_group_rejections():
    d = G.ED25519
    g = _board()
    ph, nt = d["phantom"], d["notif"]
    m = Msg()
    b = g.unprotect_request(m.decode(ph), replay=False)[1]
    ur = g.unprotect_response
    pl = bytes(msg.decode(nt).payload())
    _rejected(g, lambda: ur(m.decode(_with_option(nt, drop=True)), b), "not_protected")
    for bad in BAD_OPTIONS:
        _rejected(g, lambda: ur(m.decode(_with_option(nt, h(bad))), b), "option")
    _rejected(g, lambda: ur(m.decode(_with_payload(nt, _flip(pl, 0))), b), "tag")               # ciphertext
    _rejected(g, lambda: ur(m.decode(_with_payload(nt, _flip(pl, len(pl) - 65))), b), "tag")    # tag
    _rejected(g, lambda: ur(m.decode(_with_payload(nt, _flip(pl, len(pl) - 1))), b), "signature")
    _rejected(g, lambda: ur(m.decode(_with_payload(nt, pl[:72])), b), "short")
    _rejected(g, lambda: ur(m.decode(_with_option(nt, cose.option(b"\x01\xf7", None, G.SRV, True))), b), "tag")
    _rejected(g, lambda: ur(m.decode(_with_option(nt, cose.option(b"\x01\xf6", None, b"\x09", True))), b), "kid")
    _rejected(g, lambda: ur(m.decode(_with_option(nt, cose.option(b"\x01\xf6", b"\x01", G.SRV, True))), b),
              "kid_context")
    _rejected(g, lambda: ur(m.decode(_with_option(nt, cose.option(b"\x01\xf6", None, G.SRV, False))), b), "mode")
    # a notification replayed from another group observation (another phantom request: other request_piv)
    _rejected(g, lambda: ur(m.decode(nt), oscore.Binding(G.SRV, b"\x01\xf4", G.GID)), "tag")
    _rejected(g, lambda: ur(m.decode(nt), oscore.Binding(G.SRV, b"\x01\xf5", b"\x11")), "kid_context")
    assert ur(m.decode(nt), b) == G.NOTIF and b.notif == 502   # the good one still verifies, once
    _rejected(g, lambda: ur(m.decode(nt), b), "replay")
    b.notif = 600
    _rejected(g, lambda: ur(m.decode(nt), b), "replay")        # older than the Notification Number


def test_group_request_rejections():
    g = _board()
    ph = G.ED25519["phantom"]
    m = Msg()
    pl = bytes(msg.decode(ph).payload())
    ureq = g.unprotect_request
    _rejected(g, lambda: ureq(m.decode(_with_option(ph, cose.option(b"\x01\xf5", None, G.SRV, True)))), "kid_context")
    _rejected(g, lambda: ureq(m.decode(_with_option(ph, cose.option(None, G.GID, G.SRV, True)))), "piv")
    _rejected(g, lambda: ureq(m.decode(_with_payload(ph, _flip(pl, len(pl) - 30)))), "signature")
    assert ureq(m.decode(ph)) is not None                       # with the replay check: accepted once
    _rejected(g, lambda: ureq(m.decode(ph)), "replay")
    assert ureq(m.decode(ph), replay=False) is not None         # §6.3.1: no replay check


def test_group_stepwise_verification():
    d = G.ED25519
    g = _board()
    m = Msg()
    w = g.start_request(m.decode(d["phantom"]), replay=False)
    m.decode(d["notif"])  # the caller reuses its Msg while the check is pending
    plain, b = w.run()
    assert plain == G.PHANTOM
    w = g.start_response(m.decode(d["notif"]), b)
    assert w.step(1) == G.NOTIF and w.step(1) == G.NOTIF  # the KAT verifier finishes at once; stays done
    w2 = g.start_response(m.decode(_with_payload(d["notif"], _flip(bytes(m.payload()), 80))), b)
    assert w2 is None and g.stats.replay == 1                 # checked up front against the new number
