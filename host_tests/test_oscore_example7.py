# Draft -04 §7 (Example with Group OSCORE) reproduced step by step with the draft's identifiers, on the
# real server (tools/server/secure.py around the core) and two board client cores (coap.groupsec with the
# board's own signature verifier, coap.sigverify): C_1 kid 1 SN 101 / S kid 3 SN 301, C_2 kid 2 SN 201 /
# S kid 4 SN 401, the group "myGroup" with Gid 0x57ab2e where S has kid 5 and SN 501; tokens 0x4a, 0x01,
# T = 0x7b; /r is "1234", then "5678" (CBOR text strings, Content-Format 60). Every message's structure is
# checked against the figure. Where the draft's example is internally inconsistent, what we do instead
# (and README "Protected group observations" lists the same):
#  1. INIT_NOTIF is protected (§6.2.2: "This applies also to INIT_NOTIF") and so consumes SN 502 right
#     after the phantom request's 501; the first multicast notification therefore carries piv 503, where
#     the figure shows 502 (it forgets INIT_NOTIF's number).
#  2. The informative response's outer code is 2.04 (Changed), as RFC 8613 §4.2 requires for a response
#     without Observe (the 5.03 has none); the figure shows 2.05 (Content).
#  3. last_notif's code byte is 0x45 (the protected INIT_NOTIF's outer code, 2.05: it has Observe); the
#     figure writes 0x25, which is no response code (docs/environment.md).
#  4. tp_info's token is the byte string h'7b' and the addresses are tag-260 byte strings (§2.2.2.1's
#     CDDL); the figure writes 0x7b and bstr(SRV_ADDR).
#  5. The CON registration is answered with an empty ACK and then the CON informative response (§2.2:
#     "MUST be Confirmable"); the figure draws only the response.
#  6. The Observe number of the multicast notification is the resource's next one (here 1), not 11.
from coap import cbor, cborenc, cose, ccm, msg, inforesp, sigverify
from coap import options as o
from coap.msgcore import Msg
from tools.server.resources import Resource

from secflow import Net, FixedRng, keys, SRV, GRP

GID = bytes.fromhex("57ab2e")
FETCH = 0x05  # 0.05, the outer code of a protected request with Observe (RFC 8613 §4.2)


def _osc(m):
    """(piv, kid context, kid, group flag) of a message's OSCORE option."""
    return cose.parse_option(m.opt(cose.OSCORE))


def _plain_req(net, name, data):
    """What the server's context for `name` decrypts from a request (without touching its replay window)."""
    ctx = net.srv.contexts[name]
    return msg.decode(ctx.unprotect_request(Msg().decode(data), replay=False)[0])


def test_draft_section_7_step_by_step(tmp_path):
    d = keys(tmp_path, seqs={"group": 501, "oscore:c1": 301, "oscore:c2": 401})
    cbor_1234, cbor_5678 = cborenc.dumps("1234"), cborenc.dumps("5678")
    net = Net(d, boards=(), resources=[Resource("/r", cbor_1234, cf=60, group_after=1, writable=True)],
              server_rng=FixedRng(0x7b), token_len=1)
    c1 = net.add_board(d, "c1", 40001, rng=FixedRng(0x4a), seq=101, token_len=1, verifier=sigverify.verifier)
    c2 = net.add_board(d, "c2", 40002, rng=FixedRng(0x01), seq=201, token_len=1, verifier=sigverify.verifier)
    sender = net.core.cfg.security.sender

    # C_1 -> S: 0.05 (FETCH), Token 0x4a, OSCORE {kid: 1; piv: 101}, encrypted GET Observe 0 /r
    o1 = net.observe("c1")
    net.pump()
    reg1 = msg.decode(net.wire[0][2])
    assert net.wire[0][:2] == (c1.addr, SRV)
    assert reg1.code == FETCH and reg1.token_bytes() == b"\x4a" and reg1.uint(o.OBSERVE) == 0
    assert _osc(reg1) == (bytes([101]), None, b"\x01", False)
    assert not reg1.has(o.URI_PATH)  # class E: inside
    p1 = _plain_req(net, "c1", net.wire[0][2])
    assert p1.code == msg.GET and p1.uint(o.OBSERVE) == 0 and p1.path() == "/r"

    # S allocates T = 0x7b and protects the phantom request PH_REQ in group mode: FETCH, Token 0x7b,
    # OSCORE {kid: 5; piv: 501; kid context: 57ab2e}, ciphertext | signature; SN_5 <== 502
    g = net.core.group_for("/r")
    ph = msg.decode(g.ph_req)
    assert ph.code == FETCH and ph.token_bytes() == b"\x7b" and ph.uint(o.OBSERVE) == 0
    assert _osc(ph) == ((501).to_bytes(2, "big"), GID, b"\x05", True)
    plain_ph = b"\x01" + bytes(msg.encode_options([(o.OBSERVE, 0), (o.URI_PATH, "r")]))
    assert len(ph.payload()) == len(plain_ph) + cose.TAG_LEN + cose.SIG_LEN
    # INIT_NOTIF (§2.1 step 6) protected too, bound to the phantom request: it takes 502 (note 1)
    init = msg.decode(g.last_notif)
    assert init.code == msg.CONTENT and init.token_bytes() == b"\x7b"
    assert _osc(init) == ((502).to_bytes(2, "big"), GID, b"\x05", True)
    assert sender.seq == 503

    # S -> C_1: empty ACK, then the informative response (note 5): outer 2.04 (note 2), Token 0x4a,
    # OSCORE {piv: 301}; inside 5.03, Content-Format informative-response+cbor, the CBOR map
    ack = msg.decode(net.wire[1][2])
    assert net.wire[1][:2] == (SRV, c1.addr) and ack.type == msg.ACK and ack.code == 0 and ack.mid == reg1.mid
    ir1 = msg.decode(net.wire[2][2])
    assert ir1.type == msg.CON and ir1.code == msg.CHANGED and ir1.token_bytes() == b"\x4a"
    assert _osc(ir1) == ((301).to_bytes(2, "big"), None, None, False)
    inner1 = msg.decode(c1.sec.ctx.unprotect_response(Msg().decode(net.wire[2][2]), _binding(c1, 101)))
    assert inner1.code == msg.SERVICE_UNAVAILABLE and inner1.uint(o.CONTENT_FORMAT) == o.CF_INFORMATIVE
    assert not inner1.has(o.OBSERVE)
    pl = cbor.loads(bytes(inner1.payload()))
    # ph_req: bstr(0x05 | OPT | 0xff | PAYLOAD | SIGN), the phantom request without its token
    assert pl[1] == g.ph_req[1:2] + g.ph_req[5:] and pl[1][0] == 0x05 and pl[1][1:].count(b"\xff") >= 1
    # last_notif: bstr(0x45 | OPT | 0xff | PAYLOAD | SIGN) (note 3)
    assert pl[2] == g.last_notif[1:2] + g.last_notif[5:] and pl[2][0] == 0x45
    # tp_info: [1, h'7b', #6.260(SRV_ADDR), SRV_PORT, #6.260(GRP_ADDR)] (GRP_PORT 5683: left out; note 4)
    tp = pl[3]
    assert tp[:2] == [1, b"\x7b"] and tp[2] == cbor.Tag(260, bytes([127, 0, 0, 1])) and tp[3] == SRV[1]
    assert tp[4] == cbor.Tag(260, bytes([224, 0, 1, 187])) and len(tp) == 5
    # join_uri, sec_gp (§6.1) and the optional fields from the key file (§10 keys 4-12)
    keys_ = dict((inforesp.KEYS[k - 1], v) for k, v in pl.items() if k >= 4)
    assert keys_["sec_gp"] == "myGroup" and keys_["join_uri"].endswith("/ace-group/myGroup")
    assert keys_["cs_alg"] == cose.EDDSA and keys_["alg"] == cose.AES_CCM_16_64_128 and keys_["hkdf"] == -10
    # C_1 verified ph_req (no replay check, window untouched, not delivered) and last_notif: "1234"
    assert o1.state == 2 and c1.got == [(cbor_1234, 0, 1)]
    assert (o1.gb.kid, o1.gb.piv, o1.gb.kid_context, o1.gb.notif) == (b"\x05", (501).to_bytes(2, "big"), GID, 502)
    assert c1.sec.group.recipients[b"\x05"].window is None
    assert net.wire[3][:2] == (c1.addr, SRV) and msg.decode(net.wire[3][2]).type == msg.ACK  # C_1 ACKs it

    # C_2 -> S: FETCH, Token 0x01, OSCORE {kid: 2; piv: 201}
    n0 = len(net.wire)
    o2 = net.observe("c2")
    net.pump()
    reg2 = msg.decode(net.wire[n0][2])
    assert reg2.code == FETCH and reg2.token_bytes() == b"\x01" and _osc(reg2) == (bytes([201]), None, b"\x02", False)
    assert net.core.group_for("/r").counter.estimate() == 2  # S increments the observer counter
    # S -> C_2: Token 0x01, OSCORE {piv: 401}; the same ph_req, last_notif and tp_info as C_1's
    ir2 = msg.decode(net.wire[n0 + 2][2])
    assert ir2.token_bytes() == b"\x01" and _osc(ir2) == ((401).to_bytes(2, "big"), None, None, False)
    inner2 = msg.decode(c2.sec.ctx.unprotect_response(Msg().decode(net.wire[n0 + 2][2]), _binding(c2, 201)))
    assert cbor.loads(bytes(inner2.payload())) == pl
    assert o2.state == 2 and c2.got == [(cbor_1234, 0, 1)]

    # /r changes to "5678": one multicast notification to GRP_ADDR:GRP_PORT, Token 0x7b, OSCORE {kid: 5;
    # piv: 503 (note 1); kid context: 57ab2e}, encrypted 2.05 Observe CF 60 "5678", counter signature
    n0 = len(net.wire)
    net.update(cbor_5678)
    mc = [w for w in net.wire[n0:] if w[1] == GRP]
    assert len(mc) == 1 and mc[0][0] == SRV
    n = msg.decode(mc[0][2])
    assert n.type == msg.NON and n.code == msg.CONTENT and n.token_bytes() == b"\x7b" and n.has(o.OBSERVE)
    assert _osc(n) == ((503).to_bytes(2, "big"), GID, b"\x05", True)
    assert not n.has(o.CONTENT_FORMAT)  # class E
    # its two external_aad use request_kid = 5, request_piv = 501, request_kid_context = 0x57ab2e:
    # decrypting with exactly those succeeds (with any other request_piv it does not)
    grp = c1.sec.group
    for req_piv, ok in ((501, True), (503, False)):
        ext = cose.aad_group(grp.algs, b"\x05", req_piv.to_bytes(2, "big"), GID, n.opt(cose.OSCORE),
                             grp.recipients[b"\x05"].cred, grp.gm_cred)
        ct = bytes(n.payload())[:-cose.SIG_LEN]
        pt = ccm.decrypt(grp.recipients[b"\x05"].key, cose.nonce(grp.common_iv, b"\x05", (503).to_bytes(2, "big")),
                         cose.enc_structure(ext), ct)
        assert (pt is not None) == ok
        if ok:
            inner = msg.decode(b"\x50" + pt[:1] + b"\0\0" + pt[1:])
            assert inner.code == msg.CONTENT and inner.uint(o.CONTENT_FORMAT) == 60 and inner.payload() == cbor_5678
    # both clients verified and delivered it (via the group)
    assert c1.got[-1] == (cbor_5678, 1, 1) and c2.got[-1] == (cbor_5678, 1, 1)
    assert c1.sec.stats.verified == c2.sec.stats.verified == 1 and c1.sec.rejected() == c2.sec.rejected() == 0
    assert sender.seq == 504 and o1.gb.notif == o2.gb.notif == 503


def _binding(c, sn):
    """The binding of the board's registration with Sender Sequence Number sn (to decrypt by hand)."""
    from coap.oscore import Binding
    return Binding(c.sec.ctx.sender_id, bytes([sn]))
