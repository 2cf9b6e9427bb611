# coap.sigverify against OpenSSL (the `cryptography` package): random keys and messages signed by
# OpenSSL verify in coapcast (with and without comb tables, whole and stepwise), tampered ones fail in
# both, and edge inputs (small-order Ed25519 keys and R, keys with a torsion component, ECDSA with
# x(R) >= n) get OpenSSL's answer. SHA-512 in Python against hashlib. Lazy imports under both runtimes.
import hashlib
import random

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, utils
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from coap import ed25519, p256, sha512, sigverify
from helpers import FIRMWARE, run_micropython

RAW = (serialization.Encoding.Raw, serialization.PublicFormat.Raw)
X962 = serialization.Encoding.X962
P = p256._P
N = p256._N


def _ed_ossl(pk, m, sig):
    try:
        Ed25519PublicKey.from_public_bytes(pk).verify(sig, m)
        return True
    except InvalidSignature:
        return False


def _es_ossl(pk, m, sig):
    key = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), pk)
    try:
        key.verify(utils.encode_dss_signature(int.from_bytes(sig[:32], "big"), int.from_bytes(sig[32:], "big")),
                   m, ec.ECDSA(hashes.SHA256()))
        return True
    except InvalidSignature:
        return False


def _stepwise(v, m, sig, rng):
    job = v.start(m, sig)
    while True:
        r = job.step(rng.randint(1, 40))
        if r is not None:
            return r


def _tampered(m, sig, rng):
    i = rng.randrange(len(sig))
    bad_sig = sig[:i] + bytes((sig[i] ^ (1 << rng.randrange(8)),)) + sig[i + 1:]
    bad_m = m + b"\x00" if not m else m[:-1] + bytes((m[-1] ^ 0x80,))
    return ((m, bad_sig), (bad_m, sig))


def test_sha512_matches_hashlib():
    rng = random.Random(512)
    for n in list(range(0, 260)) + [1000, 4096]:
        m = rng.randbytes(n)
        assert sha512.digest(m) == hashlib.sha512(m).digest(), n


@pytest.mark.parametrize("tables", [True, False])
def test_ed25519_openssl_signatures(tables):
    rng = random.Random(25519 + tables)
    for i in range(12):
        k = Ed25519PrivateKey.from_private_bytes(rng.randbytes(32))
        pk = k.public_key().public_bytes(*RAW)
        v = sigverify.verifier(sigverify.EDDSA, pk, tables)
        for _ in range(3):
            m = rng.randbytes(rng.choice((0, 1, 47, 48, 100, 175, 176, 300)))
            sig = k.sign(m)
            assert v.verify(m, sig) is True
            assert _stepwise(v, m, sig, rng) is True
            for bm, bs in _tampered(m, sig, rng):
                assert v.verify(bm, bs) is False
                assert _ed_ossl(pk, bm, bs) is False


@pytest.mark.parametrize("tables", [True, False])
def test_p256_openssl_signatures(tables):
    rng = random.Random(256 + tables)
    for i in range(12):
        k = ec.derive_private_key(rng.randrange(1, N), ec.SECP256R1())
        pub = k.public_key()
        pk = pub.public_bytes(X962, serialization.PublicFormat.UncompressedPoint)
        pkc = pub.public_bytes(X962, serialization.PublicFormat.CompressedPoint)
        v = sigverify.verifier(sigverify.ES256, pk, tables)
        vc = sigverify.verifier(sigverify.ES256, pkc, tables)
        for _ in range(3):
            m = rng.randbytes(rng.choice((0, 1, 64, 300)))
            r, s = utils.decode_dss_signature(k.sign(m, ec.ECDSA(hashes.SHA256())))
            sig = r.to_bytes(32, "big") + s.to_bytes(32, "big")
            assert v.verify(m, sig) is True and vc.verify(m, sig) is True
            assert _stepwise(v, m, sig, rng) is True
            for bm, bs in _tampered(m, sig, rng):
                assert v.verify(bm, bs) is False and vc.verify(bm, bs) is False
                assert _es_ossl(pk, bm, bs) is False


# the small-order points of edwards25519 (canonical encodings)
SMALL_ORDER = (
    "0100000000000000000000000000000000000000000000000000000000000000",
    "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    "0000000000000000000000000000000000000000000000000000000000000000",
    "0000000000000000000000000000000000000000000000000000000000000080",
    "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
    "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa",
    "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",
    "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85",
)


def test_ed25519_edge_keys_get_openssls_answer():
    ident = (1).to_bytes(32, "little")
    cases = []
    for s in SMALL_ORDER:
        b = bytes.fromhex(s)
        cases += [(b, b"m", b + bytes(32)), (b, b"m", ident + bytes(32)), (b, b"", ident + (1).to_bytes(32, "little"))]
    # a key with a torsion component: A + T, signatures made for A
    rng = random.Random(8)
    k = Ed25519PrivateKey.from_private_bytes(rng.randbytes(32))
    a = ed25519.decode(k.public_key().public_bytes(*RAW))
    for s in SMALL_ORDER:
        pkt = ed25519.encode(ed25519.Ops.add(a, ed25519.decode(bytes.fromhex(s))))
        for i in range(6):
            cases.append((pkt, bytes((i,)), k.sign(bytes((i,)))))
    accepted = 0
    for pk, m, sig in cases:
        want = _ed_ossl(pk, m, sig)
        accepted += want
        for tables in (True, False):
            assert sigverify.verifier(sigverify.EDDSA, pk, tables).verify(m, sig) is want, (pk.hex(), sig.hex())
    assert 0 < accepted < len(cases)      # both answers occur


def _affine_add(a, b):
    if a is None:
        return b
    if b is None:
        return a
    if a[0] == b[0]:
        if (a[1] + b[1]) % P == 0:
            return None
        lam = (3 * a[0] * a[0] - 3) * pow(2 * a[1], P - 2, P) % P
    else:
        lam = (b[1] - a[1]) * pow(b[0] - a[0], P - 2, P) % P
    x = (lam * lam - a[0] - b[0]) % P
    return (x, (lam * (a[0] - x) - a[1]) % P)


def _affine_mul(k, q):
    r = None
    while k:
        if k & 1:
            r = _affine_add(r, q)
        q = _affine_add(q, q)
        k >>= 1
    return r


def test_p256_x_of_r_above_n():
    """x(R) in [n, p): r = x(R) - n. A key that makes (r, s) valid for msg is Q = r^-1 (sR - eG)
    (public-key recovery); OpenSSL and coapcast must both accept, and reject r = x(R) itself."""
    rng = random.Random(3)
    done = 0
    x = N
    while done < 3:
        x += rng.randrange(1, 1 << 64)
        rhs = (x ** 3 - 3 * x + p256._B) % P
        y = pow(rhs, (P + 1) // 4, P)
        if y * y % P != rhs:
            continue
        r, s = x - N, rng.randrange(1, N)
        m = b"x(R) >= n %d" % done
        e = int.from_bytes(hashlib.sha256(m).digest(), "big")
        g = (p256._GX, p256._GY)
        q = _affine_mul(pow(r, N - 2, N), _affine_add(_affine_mul(s, (x, y)), _affine_mul(N - e % N, g)))
        pk = b"\x04" + q[0].to_bytes(32, "big") + q[1].to_bytes(32, "big")
        sig = r.to_bytes(32, "big") + s.to_bytes(32, "big")
        assert _es_ossl(pk, m, sig) is True
        for tables in (True, False):
            v = sigverify.verifier(sigverify.ES256, pk, tables)
            assert v.verify(m, sig) is True
            assert v.verify(m, r.to_bytes(32, "big") + (s ^ 1).to_bytes(32, "big")) is False
        done += 1


LAZY = """
import sys
from coap import sigverify
def mods():
    return sorted(m.split('.')[-1] for m in sys.modules if m.startswith('coap.'))
print(mods())
v = sigverify.verifier(-7, bytes.fromhex('%s'))
print(mods())
v.prepare().step(1 << 20)
print(mods())
""" % ("0460fed4ba255a9d31c961eb74c6356d68c049b8923b61fa6ce669622e60f29fb6"
       "7903fe1008b8bc99a41ae9e95628bc64f2f1b20c2d7e9f5177a3c294d4462299")


def test_lazy_imports_micropython(tmp_path):
    """sigverify alone loads no curve; an ES256 verifier loads p256 (and comb with its tables), not
    ed25519 or sha512."""
    f = tmp_path / "lazy.py"
    f.write_text(LAZY)
    p = run_micropython(str(f))
    assert p.returncode == 0, p.stdout + p.stderr
    before, after, tables = p.stdout.splitlines()
    assert before == "['compat', 'sigverify']", before
    assert after == "['compat', 'p256', 'sigverify']", after
    assert tables == "['comb', 'compat', 'p256', 'sigverify']", tables
