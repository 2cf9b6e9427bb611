# ECDSA P-256 with SHA-256 verification (FIPS 186-4 §6.4.2; COSE ES256, RFC 9053 §2.1: the signature
# is r || s, 32 bytes each), loaded by coap.sigverify for COSE alg -7. Points are Jacobian (X:Y:Z),
# x = X/Z**2, y = Y/Z**3, Z = 0 the point at infinity (formulas from the Explicit-Formulas Database,
# a = -3); table entries are affine (x, y). hashlib.sha256 is native on every port.
from hashlib import sha256

from coap.compat import const, micropython
from coap.sigverify import Verifier as _Base

_P = const(0xFFFFFFFF00000001000000000000000000000000FFFFFFFFFFFFFFFFFFFFFFFF)
_N = const(0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551)   # order of G
_B = const(0x5AC635D8AA3A93E7B3EBBD55769886BC651D06B0CC53B0F63BCE3C3E27D2604B)
_GX = const(0x6B17D1F2E12C4247F8BCE6E563A440F277037D812DEB33A0F4A13945D898C296)
_GY = const(0x4FE342E2FE1A7F9B8EE7EB4A7C0F9E162BCE33576B315ECECBB6406837BF51F5)
_BITS = const(256)
_INF = (1, 1, 0)


class Ops:
    """The point operations coap.comb drives. Tables are bytes: 64 per entry, x and y big-endian."""

    @staticmethod
    @micropython.native
    def dbl(q):
        # dbl-2001-b (a = -3); Z = 0 stays 0
        x, y, z = q
        p = _P
        delta = z * z % p
        gamma = y * y % p
        beta = x * gamma % p
        alpha = 3 * (x - delta) * (x + delta) % p
        x3 = (alpha * alpha - 8 * beta) % p
        return (x3, (alpha * (4 * beta - x3) - 8 * gamma * gamma) % p, 2 * y * z % p)

    @staticmethod
    def add(q, r):
        # add-2007-bl, with the exceptional cases (either at infinity, q = +-r)
        x1, y1, z1 = q
        x2, y2, z2 = r
        if z1 == 0:
            return r
        if z2 == 0:
            return q
        p = _P
        z1z1 = z1 * z1 % p
        z2z2 = z2 * z2 % p
        u1 = x1 * z2z2 % p
        s1 = y1 * z2 % p * z2z2 % p
        return _fin(u1, s1, x2 * z1z1 % p - u1, 2 * (y2 * z1 % p * z1z1 % p - s1),
                    2 * z1 * z2 % p, q)

    @staticmethod
    @micropython.native
    def madd(q, tab, i, neg, dbl_next=False):
        # madd-2007-bl (Z2 = 1), with entry i of the table
        x1, y1, z1 = q
        o = i * 64
        x2 = int.from_bytes(tab[o:o + 32], "big")
        y2 = int.from_bytes(tab[o + 32:o + 64], "big")
        if neg:
            y2 = _P - y2
        if z1 == 0:
            return (x2, y2, 1)
        p = _P
        zz = z1 * z1 % p
        return _fin(x1, y1, x2 * zz % p - x1, 2 * (y2 * z1 % p * zz % p - y1), 2 * z1 % p, q)

    @staticmethod
    def lift(tab, i, neg):
        o = i * 64
        y = int.from_bytes(tab[o + 32:o + 64], "big")
        return (int.from_bytes(tab[o:o + 32], "big"), _P - y if neg else y, 1)

    @staticmethod
    def neg(q):
        return (q[0], -q[1] % _P, q[2])

    ENTRY = 64

    @staticmethod
    def norm(pts, out, i0):
        """Projective points (none at infinity) -> table entries i0, i0 + 1, ... of out; one inversion
        for all (Montgomery's trick)."""
        p = _P
        pre = []
        acc = 1
        for q in pts:
            pre.append(acc)
            acc = acc * q[2] % p
        inv = pow(acc, p - 2, p)
        for i in range(len(pts) - 1, -1, -1):
            x, y, z = pts[i]
            zi = inv * pre[i] % p
            inv = inv * z % p
            zi2 = zi * zi % p
            o = 64 * (i0 + i)
            out[o:o + 32] = (x * zi2 % p).to_bytes(32, "big")
            out[o + 32:o + 64] = (y * zi2 % p * zi % p).to_bytes(32, "big")


@micropython.native
def _fin(u1, s1, h, r, zh, q):
    """The common tail of add and madd: H = U2 - U1, r = 2(S2 - S1), zh = 2 Z1 Z2 (times H below)."""
    p = _P
    if h == 0:
        if r == 0:             # q == the other point
            return Ops.dbl(q)
        return _INF            # q == -(the other point)
    i = 4 * h * h % p
    j = h * i % p
    v = u1 * i % p
    x3 = (r * r - j - 2 * v) % p
    return (x3, (r * (v - x3) - 2 * s1 * j) % p, zh * h % p)


def decode(key):
    """SEC 1 §2.3.4: 65-byte uncompressed (04 X Y) or 33-byte compressed (02/03 X) point -> affine
    (x, y), or None if it is not a point on the curve."""
    n = len(key)
    p = _P
    if n == 65 and key[0] == 4:
        x = int.from_bytes(key[1:33], "big")
        y = int.from_bytes(key[33:], "big")
        if x >= p or y >= p or (y * y - x * x * x + 3 * x - _B) % p:
            return None
        return (x, y)
    if n == 33 and key[0] in (2, 3):
        x = int.from_bytes(key[1:], "big")
        if x >= p:
            return None
        rhs = (x * x * x - 3 * x + _B) % p
        y = pow(rhs, (p + 1) // 4, p)      # p = 3 (mod 4)
        if y * y % p != rhs:
            return None
        if y & 1 != key[0] & 1:
            y = p - y
        return (x, y)
    return None


class Verifier(_Base):
    OPS = Ops
    BITS = _BITS
    SHAPE = (5, 2)             # 33 entries, 2112 B per table; 25 doublings + 104 additions per verify
    GTAB = {}                  # (h, v) -> the generator's comb table, shared by every key

    def __init__(self, key, tables=True):
        q = decode(key) if isinstance(key, (bytes, bytearray)) else None
        if q is None:
            raise ValueError("P-256 public key is not a curve point (SEC 1: 65 bytes 04||X||Y or 33 bytes 02/03||X)")
        _Base.__init__(self, tables)
        self._q = q

    def _bases(self):
        return (_GX, _GY, 1), (self._q[0], self._q[1], 1)

    def _steps(self, msg, sig):
        if len(sig) != 64:
            yield False
            return
        r = int.from_bytes(sig[:32], "big")
        s = int.from_bytes(sig[32:], "big")
        if not (0 < r < _N and 0 < s < _N):
            yield False
            return
        e = int.from_bytes(sha256(msg).digest(), "big")
        w = pow(s, _N - 2, _N)
        u1 = e * w % _N
        u2 = r * w % _N
        res = [None]
        if self._shape:
            yield from self._mul2_steps(u1, u2, res)
        else:
            yield from _shamir_steps(u1, u2, self._q, res)
        # x(R) mod n == r without an inversion: X == x * Z**2 for x in (r, r + n) below p
        x, _, z = res[0]
        if z == 0:
            yield False
            return
        zz = z * z % _P
        yield x == r * zz % _P or (r + _N < _P and x == (r + _N) * zz % _P)


def _shamir_steps(u1, u2, q, res):
    """[u1]G + [u2]Q by one double-and-add over both scalars' bits (no tables: the baseline)."""
    g = (_GX, _GY, 1)
    qj = (q[0], q[1], 1)
    gq = Ops.add(g, qj)
    pts = (g, qj, gq) if gq[2] else (g, qj)
    ents = bytearray(64 * len(pts))
    Ops.norm(pts, ents, 0)
    b1 = u1.to_bytes(32, "little")
    b2 = u2.to_bytes(32, "little")
    acc = _INF
    for i in range(_BITS - 1, -1, -1):
        if acc[2]:
            acc = Ops.dbl(acc)
            yield None
        sel = ((b1[i >> 3] >> (i & 7)) & 1) | (((b2[i >> 3] >> (i & 7)) & 1) << 1)
        if sel:
            if sel == 3 and not gq[2]:      # Q == -G: the sum is the point at infinity
                continue
            acc = Ops.madd(acc, ents, sel - 1, 0, False)
            yield None
    res[0] = acc
