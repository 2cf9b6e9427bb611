# RFC 8613 Appendix C.1-C.8, byte for byte (both runtimes): key derivation (HKDF info, keys, Common
# IV, nonces), then protection of the requests C.4-C.6 and the responses C.7 (nonce of the request)
# and C.8 (fresh Partial IV), with every intermediate value the appendix lists, and the peer's
# verification of each protected message back to the plain one.
from tu import h
from coap import cose, oscore, oscoreserver, ccm
from coap.msgcore import Msg

SECRET = h("0102030405060708090a0b0c0d0e0f10")
SALT = h("9e7ca92223786340")
CTX3 = h("37cbf3210017a2d3")


def _ctx(sender, recipient, salt=b"", id_context=None, seq=0):
    """A context that can play both roles (the server's class is a superset of the board's)."""
    return oscoreserver.Context(SECRET, sender, recipient, master_salt=salt, id_context=id_context, seq=seq)


def test_c1_c3_key_derivation():
    # (salt, id_context, sender, recipient, info sender, info recipient, info IV, sender key, recipient key,
    #  common IV, sender nonce PIV 0, recipient nonce PIV 0): C.1.1, C.2.1, C.3.1 (clients)
    cases = [
        (SALT, None, b"", h("01"), "8540f60a634b657910", "854101f60a634b657910", "8540f60a6249560d",
         "f0910ed7295e6ad4b54fc793154302ff", "ffb14e093c94c9cac9471648b4f98710", "4622d4dd6d944168eefb54987c",
         "4622d4dd6d944168eefb54987c", "4722d4dd6d944169eefb54987c"),
        (b"", None, h("00"), h("01"), "854100f60a634b657910", "854101f60a634b657910", "8540f60a6249560d",
         "321b26943253c7ffb6003b0b64d74041", "e57b5635815177cd679ab4bcec9d7dda", "be35ae297d2dace910c52e99f9",
         "bf35ae297d2dace910c52e99f9", "bf35ae297d2dace810c52e99f9"),
        (SALT, CTX3, b"", h("01"), "85404837cbf3210017a2d30a634b657910", "8541014837cbf3210017a2d30a634b657910",
         "85404837cbf3210017a2d30a6249560d",
         "af2a1300a5e95788b356336eeecd2b92", "e39a0c7c77b43f03b4b39ab9a268699f", "2ca58fb85ff1b81c0b7181b85e",
         "2ca58fb85ff1b81c0b7181b85e", "2da58fb85ff1b81d0b7181b85e"),
    ]
    for salt, idc, s, r, i_s, i_r, i_iv, sk, rk, iv, sn, rn in cases:
        assert cose.kdf_info(s, idc, 10, "Key", 16) == h(i_s)
        assert cose.kdf_info(r, idc, 10, "Key", 16) == h(i_r)
        assert cose.kdf_info(b"", idc, 10, "IV", 13) == h(i_iv)
        c = _ctx(s, r, salt, idc)
        assert (c.sender_key, c.recipient_key, c.common_iv) == (h(sk), h(rk), h(iv)), sk
        assert cose.nonce(c.common_iv, s, b"\x00") == h(sn)
        assert cose.nonce(c.common_iv, r, b"\x00") == h(rn)
        srv = _ctx(r, s, salt, idc)  # C.x.2: the server's mirror image
        assert (srv.sender_key, srv.recipient_key, srv.common_iv) == (h(rk), h(sk), h(iv))


# C.4-C.6: (client (sender, recipient, salt, id context), plain request, aad_array, AAD, plaintext, nonce,
#           OSCORE option, ciphertext, protected request)
REQUESTS = [
    ((b"", h("01"), SALT, None), "44015d1f00003974396c6f63616c686f737483747631",
     "8501810a40411440", "8368456e63727970743040488501810a40411440", "01b3747631", "4622d4dd6d944168eefb549868",
     "0914", "612f1092f1776f1c1668b3825e",
     "44025d1f00003974396c6f63616c686f7374620914ff612f1092f1776f1c1668b3825e"),
    ((h("00"), h("01"), b"", None), "440171c30000b932396c6f63616c686f737483747631",
     "8501810a4100411440", "8368456e63727970743040498501810a4100411440", "01b3747631", "bf35ae297d2dace910c52e99ed",
     "091400", "4ed339a5a379b0b8bc731fffb0",
     "440271c30000b932396c6f63616c686f737463091400ff4ed339a5a379b0b8bc731fffb0"),
    ((b"", h("01"), SALT, CTX3), "44012f8eef9bbf7a396c6f63616c686f737483747631",
     "8501810a40411440", "8368456e63727970743040488501810a40411440", "01b3747631", "2ca58fb85ff1b81c0b7181b84a",
     "19140837cbf3210017a2d3", "72cd7273fd331ac45cffbe55c3",
     "44022f8eef9bbf7a396c6f63616c686f73746b19140837cbf3210017a2d3ff72cd7273fd331ac45cffbe55c3"),
]


def test_c4_c6_requests():
    for (s, r, salt, idc), plain, arr, aad, pt, nonce, opt, ct, prot in REQUESTS:
        c = _ctx(s, r, salt, idc, seq=20)
        piv = cose.piv_bytes(20)
        assert cose.aad(10, s, piv) == h(arr)
        assert cose.enc_structure(h(arr)) == h(aad)
        assert oscore.split(h(plain), oscore.OUTER)[2] == h(pt)
        assert cose.nonce(c.common_iv, s, piv) == h(nonce)
        assert cose.option(piv, idc, s) == h(opt)
        assert ccm.encrypt(c.sender_key, h(nonce), h(aad), h(pt)) == h(ct)
        out, b = c.protect_request(h(plain))
        assert out == h(prot), prot
        assert (b.kid, b.piv, c.seq) == (s, piv, 21)
        srv = _ctx(r, s, salt, idc)
        got = srv.unprotect_request(Msg().decode(out))
        assert got is not None and got[0] == h(plain), srv.stats.last
        assert (got[1].kid, got[1].piv, got[1].reuse) == (s, piv, True)
        assert srv.unprotect_request(Msg().decode(out)) is None and srv.stats.replay == 1  # the same again


C4_PLAIN = "44015d1f00003974396c6f63616c686f737483747631"
C7_PLAIN = "64455d1f00003974ff48656c6c6f20576f726c6421"


def test_c7_response_reusing_the_request_nonce():
    srv = _ctx(h("01"), b"", SALT)
    req = _ctx(b"", h("01"), SALT, seq=20).protect_request(h(C4_PLAIN))[0]
    plain, b = srv.unprotect_request(Msg().decode(req))
    assert oscore.split(h(C7_PLAIN), oscore.OUTER)[2] == h("45ff48656c6c6f20576f726c6421")
    out = srv.protect_response(h(C7_PLAIN), b)
    assert out == h("64445d1f0000397490ffdbaad1e9a7e7b2a813d3c31524378303cdafae119106")
    assert srv.seq == 0 and not b.reuse  # no sequence number consumed; the nonce is used up
    cli = _ctx(b"", h("01"), SALT, seq=20)
    cb = cli.protect_request(h(C4_PLAIN))[1]
    assert cli.unprotect_response(Msg().decode(out), cb) == h(C7_PLAIN)


def test_c8_response_with_partial_iv():
    srv = _ctx(h("01"), b"", SALT, seq=0)
    b = oscore.Binding(b"", h("14"), reuse=True)
    assert cose.nonce(srv.common_iv, h("01"), b"\x00") == h("4722d4dd6d944169eefb54987c")
    assert cose.option(b"\x00") == h("0100")
    out = srv.protect_response(h(C7_PLAIN), b, fresh=True)
    assert out == h("64445d1f00003974920100ff4d4c13669384b67354b2b6175ff4b8658c666a6cf88e")
    assert srv.seq == 1
    cli = _ctx(b"", h("01"), SALT)
    cb = oscore.Binding(b"", h("14"))
    assert cli.unprotect_response(Msg().decode(out), cb) == h(C7_PLAIN)
    assert cb.notif == 0
