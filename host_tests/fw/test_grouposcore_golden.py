# The board verifies Group OSCORE group-mode messages that aiocoap 0.4.17 protected (golden bytes in
# oscore_golden.py, pinned from aiocoap's aiocoap.cryptography DEBUG log and re-checked against aiocoap
# by host_tests/test_oscore_aiocoap.py), under CPython and MicroPython: the same nonces, external_aad,
# keystreams, the exact to-be-signed bytes and signatures aiocoap produced, then the plain messages.
# The signature check goes through the verifier seam: a known-answer verifier here (it accepts exactly
# aiocoap's (to-be-signed, signature) pairs, so it proves the bytes the board hands to the curve
# arithmetic), and coap.sigverify itself when it is present.
import gc

from tu import skip
from coap import cbor, cose, grouposcore
from coap.msgcore import Msg
import oscore_golden as G


class KAT:
    """Verifier seam stand-in: verify() is True exactly for aiocoap's (to-be-signed, signature) pairs."""

    def __init__(self, d):
        self.alg, self.cred = d["alg"], d["cred"]
        self.pairs = [(cose.to_be_signed(cbor.loads(a)[2], c), s) for a, c, s in zip(d["aad"], d["ciphertext"],
                                                                                        d["signature"])]
        self.seen = []

    def __call__(self, alg, pub):
        assert (alg, pub) == cose.ccs_key(self.cred)
        return self

    def verify(self, m, sig):
        self.seen.append((bytes(m), bytes(sig)))
        return (bytes(m), bytes(sig)) in self.pairs


def _board(d, verifier):
    return grouposcore.GroupContext(G.GID, G.SECRET, {G.SRV: d["cred"]}, master_salt=G.SALT, sender_id=b"\x01",
                                    alg_signature=d["alg"], alg_pairwise_key_agreement=-27, verifier=verifier)


def test_intermediate_values_match_aiocoaps():
    for d in (G.ED25519, G.ES256):
        g = _board(d, KAT(d))
        r = g.recipients[G.SRV]
        for i, piv in enumerate((b"\x01\xf5", b"\x01\xf6")):
            assert cose.nonce(g.common_iv, G.SRV, piv) == d["nonce"][i]
            assert g.keystream(G.SRV, piv, i == 0) == d["keystream"][i]
            opt = cose.option(piv, G.GID, G.SRV, True) if i == 0 else Msg().decode(d["notif"]).items()[-1][1]
            ext = cose.aad_group(g.algs, G.SRV, b"\x01\xf5", G.GID, opt, r.cred, None)
            assert cose.enc_structure(ext) == d["aad"][i], (d["alg"], i)


def _check(d, verifier):
    g = _board(d, verifier)
    got = g.unprotect_request(Msg().decode(d["phantom"]), replay=False)
    assert got is not None, g.stats.last
    plain, b = got
    assert plain == G.PHANTOM and (b.kid, b.piv, b.kid_context) == (G.SRV, b"\x01\xf5", G.GID)
    assert g.unprotect_response(Msg().decode(d["notif"]), b) == G.NOTIF
    assert b.notif == 502 and g.stats.total() == 0
    assert g.unprotect_response(Msg().decode(d["notif"]), b) is None and g.stats.replay == 1  # replayed
    return g


def test_board_verifies_aiocoaps_phantom_request_and_notification():
    for d in (G.ED25519, G.ES256):
        k = KAT(d)
        _check(d, k)
        assert [p in k.pairs for p in k.seen] == [True, True]  # handed over exactly aiocoap's bytes


def test_with_sigverify_when_present():
    try:
        from coap import sigverify
    except ImportError:
        skip("coap.sigverify is not in the tree yet")
    for d in (G.ED25519, G.ES256):
        g = _check(d, sigverify.verifier)
        bad = bytearray(d["notif"])
        bad[-1] ^= 1  # a flipped signature bit: only the curve arithmetic can catch it
        b = grouposcore.Binding(G.SRV, b"\x01\xf5", G.GID)
        assert g.unprotect_response(Msg().decode(bytes(bad)), b) is None and g.stats.signature == 1
        g = None  # one curve's tables at a time (a board has one group)
        gc.collect()
