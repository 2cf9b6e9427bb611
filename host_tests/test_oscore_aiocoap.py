# Interop with aiocoap 0.4.17 (aiocoap.oscore; groupcomm-23), both directions, CPython:
#  - OSCORE (RFC 8613): aiocoap-protected requests/responses verify in coapcast and vice versa, with
#    the response bound to its request (nonce reuse and fresh Partial IV, Observe notifications);
#  - Group OSCORE group mode, Ed25519 and ES256: aiocoap's protected request (the draft's phantom
#    request) and responses bound to it verify on the board's code; coapcast's GroupSender output
#    verifies in an aiocoap group member;
#  - the golden values pinned in fw/oscore_golden.py (what the board checks under MicroPython) are
#    still what aiocoap produces: re-derived here from aiocoap's `aiocoap.cryptography` DEBUG log.
# `python host_tests/test_oscore_aiocoap.py --pin` prints a fresh fw/oscore_golden.py.
import logging
import os
import sys
import warnings

import pytest

warnings.filterwarnings("ignore", category=DeprecationWarning, module="aiocoap")
import aiocoap  # noqa: E402
import aiocoap.oscore as ao  # noqa: E402

from coap import cbor, cborenc, cose, msg, oscore, oscoreserver, grouposcore  # noqa: E402
from coap.msgcore import Msg  # noqa: E402
from tools.oscore_group import GroupSender, crypto_verifier, signer  # noqa: E402
from tools import oscore_keys  # noqa: E402
from helpers import aiocoap_group, aiocoap_in, aiocoap_msg, aiocoap_out  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
GID = bytes.fromhex("57ab2e")            # draft -04 §7: "myGroup", kid context 0x57ab2e
SRV, C1, C2 = b"\x05", b"\x01", b"\x02"  # group Sender IDs of S, C_1, C_2
SECRET = bytes(range(1, 17))
SALT = bytes.fromhex("9e7ca92223786340")
# fixed signing keys for reproducible golden values: RFC 8032 §7.1 TEST 1 secret key; a P-256 d
PRIV = {cose.EDDSA: bytes.fromhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"),
        cose.ES256: bytes.fromhex("fea2190084748436543c5ec8e329d2afbd7068054f595ca1f987b9e43e2205e6")}


def _cred(alg, priv):
    return oscore_keys.credential(alg, priv)


def a_group(alg, me, creds, privs):
    """aiocoap SimpleGroupContext for member `me` of the test group."""
    return aiocoap_group(alg, GID, SECRET, SALT, me, privs[me], creds)


def _keys(alg):
    from tools.oscore_keys import keypair
    privs = {SRV: PRIV[alg], C1: keypair(alg)[0], C2: keypair(alg)[0]}
    return privs, {k: _cred(alg, v) for k, v in privs.items()}


def board_group(alg, creds, verifier=crypto_verifier, me=C1):
    return grouposcore.GroupContext(GID, SECRET, {SRV: creds[SRV]}, master_salt=SALT, sender_id=me,
                                    alg_signature=alg, alg_pairwise_key_agreement=-27, verifier=verifier)


def srv_sender(alg, privs, creds, seq=0):
    return GroupSender(privs[SRV], creds[SRV], SRV, seq=seq, gid=GID, master_secret=SECRET, master_salt=SALT,
                       members=creds, alg_signature=alg, alg_pairwise_key_agreement=-27)


PHANTOM = msg.encode(msg.NON, msg.GET, 0, b"\x7b", [(6, 0), (11, "r")])
NOTIF = msg.encode(msg.NON, msg.CONTENT, 0x0102, b"\x7b", [(6, 11), (12, 60)], b"\x645678")


# ---------------------------------------------------------------- Group OSCORE, both directions
@pytest.mark.parametrize("alg", [cose.EDDSA, cose.ES256])
def test_group_aiocoap_protects_board_verifies(alg):
    privs, creds = _keys(alg)
    srv = a_group(alg, SRV, creds, privs)
    srv.sender_sequence_number = 501
    outer, rid = srv.protect(aiocoap_msg(code=aiocoap.GET, observe=0, uri_path=["r"]))
    ph = aiocoap_out(outer, aiocoap.NON, 0, b"\x7b")
    board = board_group(alg, creds)
    got = board.unprotect_request(Msg().decode(ph), replay=False)  # draft -04 §6.3.1: no replay check
    assert got is not None, board.stats.last
    plain, b = got
    assert plain == PHANTOM and (b.kid, b.piv, b.kid_context) == (SRV, b"\x01\xf5", GID)
    assert board.recipients[SRV].window is None  # no replay window made, none updated
    notifs = []
    for obs, payload in ((11, b"\x645678"), (12, b"\x646789")):
        o, _ = srv.protect(aiocoap_msg(code=aiocoap.CONTENT, observe=obs, content_format=60, payload=payload), rid)
        notifs.append(aiocoap_out(o, aiocoap.NON, 0x0102, b"\x7b"))
    for n, obs in zip(notifs, (11, 12)):
        p = board.unprotect_response(Msg().decode(n), b)
        assert p is not None, board.stats.last
        m = msg.decode(p)
        assert m.code == msg.CONTENT and m.uint(6) == obs and m.uint(12) == 60
    assert b.notif == 503
    assert board.unprotect_response(Msg().decode(notifs[0]), b) is None and board.stats.replay == 1
    assert board.stats.total() == 1


@pytest.mark.parametrize("alg", [cose.EDDSA, cose.ES256])
def test_group_coapcast_protects_aiocoap_verifies(alg):
    privs, creds = _keys(alg)
    s = srv_sender(alg, privs, creds, seq=501)
    ph, b = s.protect_request(PHANTOM)
    member = a_group(alg, C2, creds, privs)
    m = aiocoap_in(ph)
    sc = member.get_oscore_context_for(ao.verify_start(m))
    um, rid = sc.unprotect(m)
    assert um.code == aiocoap.GET and um.opt.observe == 0 and um.opt.uri_path == ("r",)
    assert (rid.kid, rid.partial_iv) == (SRV, b"\x01\xf5")
    for k in range(3):
        n = s.protect_response(NOTIF, b)
        m2 = aiocoap_in(n)
        aspect = member.context_from_response(ao.verify_start(m2))
        um2, _ = aspect.unprotect(m2, ao.RequestIdentifiers(SRV, b.piv, False, aiocoap.FETCH))
        assert um2.code == aiocoap.CONTENT and um2.payload == b"\x645678" and um2.opt.content_format == 60
        assert um2.opt.observe == 502 + k  # aiocoap hands out the Partial IV as the Observe value
    # and the board's code verifies the same messages
    board = board_group(alg, creds)
    assert board.unprotect_request(Msg().decode(ph), replay=False)[0] == PHANTOM
    assert board.unprotect_response(Msg().decode(n), b) == NOTIF


# ---------------------------------------------------------------- OSCORE (RFC 8613), both directions
class _ACtx(ao.CanProtect, ao.CanUnprotect, ao.SecurityContextUtils):
    def post_seqnoincrease(self):
        pass


def a_oscore(sender, recipient, seq=0):
    c = _ACtx()
    c.alg_aead = ao.algorithms["AES-CCM-16-64-128"]
    c.hashfun = ao.hashfunctions["sha256"]
    c.sender_id, c.recipient_id, c.id_context = sender, recipient, None
    c.derive_keys(SALT, SECRET)
    c.sender_sequence_number = seq
    c.recipient_replay_window = ao.ReplayWindow(32, lambda: None)
    c.recipient_replay_window.initialize_empty()
    c.echo_recovery = None
    return c


REG = msg.encode(msg.CON, msg.GET, 0x1234, b"\x4a\x01", [(3, "srv.example"), (6, 0), (11, "r")])


def test_oscore_aiocoap_client_coapcast_server():
    cli = a_oscore(C1, b"\x03", seq=101)        # draft §7: C_1 kid 1, SN 101; S kid 3, SN 301
    srv = oscoreserver.Context(SECRET, b"\x03", C1, master_salt=SALT, seq=301)
    outer, rid = cli.protect(aiocoap_msg(code=aiocoap.GET, observe=0, uri_path=["r"], uri_host="srv.example"))
    req = aiocoap_out(outer, aiocoap.CON, 0x1234, b"\x4a\x01")
    plain, b = srv.unprotect_request(Msg().decode(req))
    assert plain == REG and b.piv == b"\x65"
    # first response reuses the request's nonce; then notifications with fresh Partial IVs
    r1 = srv.protect_response(msg.encode(msg.ACK, 0x45, 0x1234, b"\x4a\x01", [(6, 1)], b"one"), b)
    um, _ = cli.unprotect(aiocoap_in(r1), rid)
    assert um.code == aiocoap.CONTENT and um.payload == b"one"
    for k in range(2):
        r = srv.protect_response(msg.encode(msg.CON, 0x45, 0x2000 + k, b"\x4a\x01", [(6, 2 + k)], b"n%d" % k), b)
        um, _ = cli.unprotect(aiocoap_in(r), rid)
        assert um.payload == b"n%d" % k and um.opt.observe == 301 + k
    assert srv.seq == 303


def test_oscore_coapcast_client_aiocoap_server():
    cli = oscore.Context(SECRET, C1, b"\x03", master_salt=SALT, seq=101)
    srv = a_oscore(b"\x03", C1, seq=301)
    req, b = cli.protect_request(REG)
    um, rid = srv.unprotect(aiocoap_in(req))
    assert um.code == aiocoap.GET and um.opt.observe == 0 and um.opt.uri_path == ("r",)
    assert aiocoap_in(req).opt.uri_host == "srv.example" and um.opt.uri_host is None  # class U: outer only
    o1, _ = srv.protect(aiocoap_msg(code=aiocoap.CONTENT, observe=0, payload=b"first"), rid)
    p1 = cli.unprotect_response(Msg().decode(aiocoap_out(o1, aiocoap.ACK, 0x1234, b"\x4a\x01")), b)
    assert msg.decode(p1).code == msg.CONTENT and bytes(msg.decode(p1).payload()) == b"first"
    o2, _ = srv.protect(aiocoap_msg(code=aiocoap.CONTENT, observe=0, payload=b"second"), rid)  # fresh PIV now
    d2 = aiocoap_out(o2, aiocoap.CON, 0x99, b"\x4a\x01")
    p2 = cli.unprotect_response(Msg().decode(d2), b)
    assert bytes(msg.decode(p2).payload()) == b"second" and b.notif == 301
    assert cli.unprotect_response(Msg().decode(d2), b) is None and cli.stats.replay == 1


# ---------------------------------------------------------------- golden values (fw/oscore_golden.py)
class _Log(logging.Handler):
    def __init__(self):
        super().__init__(logging.DEBUG)
        self.lines = []

    def emit(self, record):
        self.lines.append(record.getMessage())


def _field(lines, prefix):
    return [bytes.fromhex(x[len(prefix):].strip().split()[-1]) for x in lines if x.startswith(prefix)]


def golden(alg):
    """aiocoap's protected phantom request (PIV 501) and a notification bound to it (PIV 502), with the
    intermediate values from its `aiocoap.cryptography` DEBUG log."""
    privs = {SRV: PRIV[alg]}
    creds = {SRV: _cred(alg, PRIV[alg])}
    lg = logging.getLogger("aiocoap.cryptography")
    h = _Log()
    old = lg.level
    lg.setLevel(logging.DEBUG)
    lg.addHandler(h)
    try:
        srv = a_group(alg, SRV, creds, privs)
        srv.sender_sequence_number = 501
        outer, rid = srv.protect(aiocoap_msg(code=aiocoap.GET, observe=0, uri_path=["r"]))
        ph = aiocoap_out(outer, aiocoap.NON, 0, b"\x7b")
        o, _ = srv.protect(aiocoap_msg(code=aiocoap.CONTENT, observe=11, content_format=60, payload=b"\x645678"), rid)
        n = aiocoap_out(o, aiocoap.NON, 0x0102, b"\x7b")
    finally:
        lg.removeHandler(h)
        lg.setLevel(old)
    L = h.lines
    nonces = [bytes.fromhex(x.split("= ")[-1]) for x in L if x.startswith("Nonce construction")]
    return {"cred": creds[SRV], "phantom": ph, "notif": n, "nonce": nonces, "aad": _field(L, "* aad ="),
            "ciphertext": _field(L, "Produced ciphertext"), "keystream": _field(L, "Keystream is"),
            "enc_sig": _field(L, "Encrypted signature")}


def pinned_module():
    out = ["# Golden values from aiocoap 0.4.17 (groupcomm-23), pinned by `python host_tests/test_oscore_aiocoap.py",
           "# --pin` from its aiocoap.cryptography DEBUG log: the group of draft -04 §7 (Gid 57ab2e, server kid 5)",
           "# with master secret 01..10 and salt 9e7ca92223786340; a phantom request GET /r Observe 0 (PIV 501) and",
           "# a notification 2.05 Observe 11 Content-Format 60 \"5678\" bound to it (PIV 502). Data only (both runtimes).",
           "GID = %r" % GID, "SECRET = %r" % SECRET, "SALT = %r" % SALT, "SRV = %r" % SRV, "PHANTOM = %r" % PHANTOM,
           "NOTIF = %r" % NOTIF]
    for alg, name in ((cose.EDDSA, "ED25519"), (cose.ES256, "ES256")):
        g = golden(alg)
        sigs = [bytes(a ^ b for a, b in zip(e, k)) for e, k in zip(g["enc_sig"], g["keystream"])]
        out.append("%s = {" % name)
        out.append("    'alg': %d, 'cred': %r," % (alg, g["cred"]))
        out.append("    'phantom': %r," % g["phantom"])
        out.append("    'notif': %r," % g["notif"])
        for k in ("nonce", "aad", "ciphertext", "keystream"):
            out.append("    %r: %r," % (k, g[k]))
        out.append("    'signature': %r," % sigs)
        out.append("}")
    return "\n".join(out) + "\n"


def _golden_module():
    """host_tests/fw/oscore_golden.py (the pinned values the fw tests read), loaded by its path."""
    import importlib.util
    spec = importlib.util.spec_from_file_location("oscore_golden", os.path.join(HERE, "fw", "oscore_golden.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_pinned_golden_values_are_still_aiocoaps():
    G = _golden_module()
    assert (G.GID, G.SECRET, G.SALT, G.SRV, G.PHANTOM, G.NOTIF) == (GID, SECRET, SALT, SRV, PHANTOM, NOTIF)
    g = golden(cose.EDDSA)  # Ed25519 is deterministic: aiocoap today produces exactly the pinned bytes
    for k in ("phantom", "notif", "nonce", "aad", "ciphertext", "keystream", "cred"):
        assert g[k] == G.ED25519[k], k
    # ES256 signatures are randomized: aiocoap must still verify the pinned messages
    member = a_group(cose.ES256, C1, {SRV: G.ES256["cred"], C1: _cred(cose.ES256, PRIV[cose.ES256])},
                     {C1: PRIV[cose.ES256]})
    m = aiocoap_in(G.ES256["phantom"])
    um, _ = member.get_oscore_context_for(ao.verify_start(m)).unprotect(m)
    assert um.opt.uri_path == ("r",)
    m2 = aiocoap_in(G.ES256["notif"])
    um2, _ = member.context_from_response(ao.verify_start(m2)).unprotect(
        m2, ao.RequestIdentifiers(SRV, b"\x01\xf5", False, aiocoap.FETCH))
    assert um2.payload == b"\x645678"
    g2 = golden(cose.ES256)  # the deterministic parts of ES256 (all but the signature) match too
    for k in ("nonce", "aad", "ciphertext", "keystream", "cred"):
        assert g2[k] == G.ES256[k], k


def test_pinned_signatures_verify_with_openssl():
    G = _golden_module()
    for d in (G.ED25519, G.ES256):
        alg, pub = cose.ccs_key(d["cred"])
        v = crypto_verifier(alg, pub)
        for aad, ct, sig in zip(d["aad"], d["ciphertext"], d["signature"]):
            ext = cbor.loads(aad)[2]  # Enc_structure's external_aad
            assert v.verify(cose.to_be_signed(ext, ct), sig)


if __name__ == "__main__" and "--pin" in sys.argv:
    sys.stdout.write(pinned_module())
