# OSCORE / Group OSCORE benchmark body (bench_oscore.py runs it): MicroPython unix ports, the Cortex-M0
# under QEMU (sent as text; it counts instructions with -icount's ticks_cpu) and CPython.
# Prints key=value lines.
#   mp_oscore.py time   per-operation µs (M0: instructions), each also as a ratio to one SHA-256 of the same 64 bytes
#                       timed in the same round (rounds interleaved, medians): HKDF (a 16-byte key, the
#                       64-byte signature keystream), AES-CCM-16-64-128 on a 64-byte payload, OSCORE
#                       unprotect of a 64-byte notification, Group OSCORE group-mode unprotect of one
#                       with a verifier that accepts at once (all but the curve arithmetic), and the
#                       bytes each allocates
#   mp_oscore.py heap   heap of the security modules imported after the board client, of an OSCORE
#                       context, of a group context and of each further recipient context (without
#                       the verifier's own tables: coap.sigverify reports those)
import gc
import sys

M0 = sys.platform == "qemu"  # the Cortex-M0 runtime (tools/runtimes)
if M0:  # -icount shift=0: ticks_cpu() counts at 16 MHz of virtual time, one tick per 62.5 instructions
    from time import ticks_cpu as ticks_us, ticks_diff
    UNIT, SCALE = "insns", 62.5
else:
    from mpbench import ticks_us, ticks_diff
    UNIT, SCALE = "us", 1

MP = sys.implementation.name == "micropython"
# the Ed25519 public key of RFC 8032 §7.1 TEST 1 as a CCS credential (the accept-all verifier ignores it)
CRED = bytes.fromhex("a108a101a4010103272006215820"
                     "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a")
PAYLOAD = bytes(range(64))


class Accept:
    """A verifier seam that accepts at once: what the group path costs besides the signature check."""

    def __init__(self, alg=None, pub=None):
        pass

    def __call__(self, alg, pub):
        return self

    def verify(self, m, s):
        return True


def _heap():
    gc.collect()
    return gc.mem_free() if MP else 0


def heap():
    import coap.client  # noqa: F401  (what a board runs anyway)
    import coapcast  # noqa: F401
    lazy = not any(k in sys.modules for k in ("coap.oscore", "coap.grouposcore", "coap.ccm", "coap.hkdf", "coap.cose"))
    print("lazy=%s" % ("yes" if lazy else "NO"))
    f0 = _heap()
    from coap import oscore, grouposcore  # noqa: F401
    f1 = _heap()
    print("import_heap=%d" % (f0 - f1))
    c = oscore.Context(b"\x01" * 16, b"\x01", b"\x03", master_salt=b"\x02" * 8)
    f2 = _heap()
    print("oscore_context_heap=%d" % (f1 - f2))
    g = grouposcore.GroupContext(b"\x57\xab\x2e", b"\x01" * 16, {b"\x05": CRED}, master_salt=b"\x02" * 8,
                                 sender_id=b"\x01", alg_pairwise_key_agreement=-27, verifier=Accept())
    f3 = _heap()
    print("group_context_heap=%d" % (f2 - f3))
    for k in range(2, 6):
        g.add_member(bytes((k + 5,)), CRED)
    f4 = _heap()
    print("recipient_heap=%d" % ((f3 - f4) // 4))
    return c, g


def _protect_group(g, kid, piv, data):
    """What the server's GroupSender does, with a zero signature (the accept-all verifier's side)."""
    from coap import cose, ccm, oscore
    m, outer, pt, obs = oscore.split(data, g.outer)
    opt = cose.option(piv, None, kid, True)
    ext = cose.aad_group(g.algs, kid, b"\x01\xf5", g.gid, opt, CRED, None)
    ct = ccm.encrypt(g.key_for(kid), cose.nonce(g.common_iv, kid, piv), cose.enc_structure(ext), pt)
    return oscore.wrap(m, 0x45, outer, opt, ct + ccm.xor(bytes(64), g.keystream(kid, piv, False), 64))


def _us(fn, n):
    t0 = ticks_us()
    for _ in range(n):
        fn()
    return ticks_diff(ticks_us(), t0) / n


def _alloc(fn, n=4):
    if not hasattr(gc, "mem_alloc"):
        return -1
    fn()
    gc.collect()
    gc.disable()
    a = gc.mem_alloc()
    for _ in range(n):
        fn()
    b = gc.mem_alloc()
    gc.enable()
    return (b - a) // n


def timing():
    import hashlib
    from coap import oscore, oscoreserver, grouposcore, ccm, hkdf, msg
    from coap.msgcore import Msg
    srv = oscoreserver.Context(b"\x01" * 16, b"\x03", b"\x01", master_salt=b"\x02" * 8)
    cli = oscore.Context(b"\x01" * 16, b"\x01", b"\x03", master_salt=b"\x02" * 8)
    note = msg.encode(msg.NON, 0x45, 7, b"\x7b", [(6, 11), (12, 42)], PAYLOAD)
    b = oscore.Binding(b"\x01", b"\x00")
    prot = srv.protect_response(note, b, fresh=True)
    g = grouposcore.GroupContext(b"\x57\xab\x2e", b"\x01" * 16, {b"\x05": CRED}, master_salt=b"\x02" * 8,
                                 sender_id=b"\x01", alg_pairwise_key_agreement=-27, verifier=Accept())
    gprot = _protect_group(g, b"\x05", b"\x01\xf6", note)
    gb = oscore.Binding(b"\x05", b"\x01\xf5", b"\x57\xab\x2e")
    m = Msg()
    key, nonce, aad = bytes(range(16)), bytes(13), bytes(range(60))
    ct = ccm.encrypt(key, nonce, aad, PAYLOAD)
    ops = [
        ("sha256", lambda: hashlib.sha256(PAYLOAD).digest()),
        ("hkdf_key", lambda: hkdf.hkdf(b"\x02" * 8, b"\x01" * 16, PAYLOAD[:10], 16)),
        ("hkdf_keystream", lambda: g.keystream(b"\x05", b"\x01\xf6", False)),
        ("ccm_encrypt", lambda: ccm.encrypt(key, nonce, aad, PAYLOAD)),
        ("ccm_decrypt", lambda: ccm.decrypt(key, nonce, aad, ct)),
        ("oscore_unprotect", lambda: cli.unprotect_response(m.decode(prot), oscore.Binding(b"\x01", b"\x00"))),
        ("group_unprotect_nosig", lambda: g.unprotect_response(m.decode(gprot), oscore.Binding(b"\x05", b"\x01\xf5"))),
    ]
    assert ops[5][1]() == note and ops[6][1]() == note, "bench messages must verify"
    n = 8 if M0 else 200 if MP else 2000
    rounds = 3 if M0 else 7
    res = {k: [] for k, _ in ops}
    for _ in range(rounds):
        base = None
        for k, fn in ops:
            us = _us(fn, n if k == "sha256" else max(2, n // 4)) * SCALE
            if base is None:
                base = us
            res[k].append((us, us / base))
    for k, _ in ops:
        v = sorted(res[k])
        r = sorted(x[1] for x in res[k])
        print("%s_%s=%.1f" % (k, UNIT, v[rounds // 2][0]))
        print("%s_ratio=%.1f" % (k, r[rounds // 2]))
    for k, fn in ops[1:]:
        print("%s_alloc=%d" % (k, _alloc(fn)))
    print("runtime=%s maxsize=%d" % (sys.implementation.name, sys.maxsize))


if "heap" in getattr(sys, "argv", ()):
    heap()
else:
    timing()
