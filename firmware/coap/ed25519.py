# Ed25519 signature verification (RFC 8032 §5.1.7), loaded by coap.sigverify for COSE alg -8.
# Points are extended twisted Edwards coordinates (X:Y:Z:T), x = X/Z, y = Y/Z, xy = T/Z (Hisil, Wong,
# Carter, Dawson 2008; formulas from the Explicit-Formulas Database, a = -1); table entries are affine
# (y+x, y-x, 2d*x*y). The check is the cofactorless [S]B - [k]A == R, compared on R's encoding (as
# OpenSSL, libsodium and ref10 do; RFC 8032 §5.1.7 allows it), so an R that fails to decode never matches.
from coap import sha512
from coap.compat import const, micropython
from coap.sigverify import Verifier as _Base

try:
    from hashlib import sha512 as _native_sha512  # CPython; no MicroPython port has it
except ImportError:
    _native_sha512 = None

_P = const(0x7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFED)   # 2**255 - 19
_L = const(0x1000000000000000000000000000000014DEF9DEA2F79CD65812631A5CF5D3ED)   # order of B
_D = const(37095705934669439343138083508754565189542113879843219016388785533085940283555)  # -121665/121666
_D2 = const(16295367250680780974490674513165176452449235426866156013048779062215315747161)  # 2d
_I = const(19681161376707505956807079304988542015446066515923890162744021073123829784752)  # sqrt(-1)
_BX = const(15112221349535400772501151409588531511454012693041857206046113283949847762202)
_BY = const(46316835694926478169428394003475163141307993866256225615783033603165251855960)
_M = const((1 << 255) - 1)
_BITS = const(253)             # scalars are below L < 2**253


# Field arithmetic mod p = 2**255 - 19 without `%` in the loop (a 512 % 256-bit mpz division costs two
# multiplications): fold(x) = (x & _M) + 19 * (x >> 255) = x (mod p). Coordinates of projective points
# are kept below 2**256 in magnitude (two folds after the products that make them), intermediate
# products get one fold (below 2**264); table entries and results are fully reduced.


def _mul(a, b):
    """a * b folded twice: below 2**256 in magnitude for |a|, |b| < 2**268."""
    m = _M
    x = a * b
    x = (x & m) + 19 * (x >> 255)
    return (x & m) + 19 * (x >> 255)


@micropython.native
def _out(e, f, g, h, m, t):
    """The projective result (EF, GH, FG, EH) of the HWCD formulas, each product folded twice
    (inline: a call per product costs as much as a fold); EH (T) only if t."""
    x = e * f
    x = (x & m) + 19 * (x >> 255)
    y = g * h
    y = (y & m) + 19 * (y >> 255)
    z = f * g
    z = (z & m) + 19 * (z >> 255)
    if t:
        t = e * h
        t = (t & m) + 19 * (t >> 255)
        t = (t & m) + 19 * (t >> 255)
    else:
        t = None
    return ((x & m) + 19 * (x >> 255), (y & m) + 19 * (y >> 255), (z & m) + 19 * (z >> 255), t)


@micropython.native
def _sqn(x, n):
    """x**(2**n) for |x| < 2**256, below 2**256 in magnitude: the second fold every other squaring
    (one fold leaves < 2**262; its square, folded once, < 2**273; folded again, < 2**256)."""
    m = _M
    for i in range(n):
        x = x * x
        x = (x & m) + 19 * (x >> 255)
        if i & 1:
            x = (x & m) + 19 * (x >> 255)
    if n & 1:
        x = (x & m) + 19 * (x >> 255)
    return x


def _inv_steps(z, out):
    """Generator: out[0] = z**(p-2) mod p by the addition chain of ref10's fe_invert (254 squarings,
    11 multiplications), yielding None after each run of at most 50 squarings."""
    z2 = _sqn(z, 1)
    z9 = _mul(_sqn(z2, 2), z)
    z11 = _mul(z9, z2)
    z5 = _mul(_sqn(z11, 1), z9)              # z**(2**5 - 1)
    z10 = _mul(_sqn(z5, 5), z5)
    z20 = _mul(_sqn(z10, 10), z10)
    x = _mul(_sqn(z20, 20), z20)
    yield None
    z50 = _mul(_sqn(x, 10), z10)
    z100 = _mul(_sqn(z50, 50), z50)
    yield None
    x = _sqn(z100, 50)
    yield None
    x = _mul(_sqn(x, 50), z100)              # z**(2**200 - 1)
    yield None
    z250 = _mul(_sqn(x, 50), z50)
    out[0] = _mul(_sqn(z250, 5), z11) % _P


def _inv(z):
    out = [0]
    for _ in _inv_steps(z, out):
        pass
    return out[0]


class Ops:
    """The point operations coap.comb drives. Tables are bytes: 96 per entry, y+x, y-x, 2d*x*y,
    32 bytes little-endian each."""

    @staticmethod
    @micropython.native
    def dbl(q):
        # dbl-2008-hwcd, a = -1 (signs of E, G, F, H flipped together)
        x, y, z, _ = q
        m = _M
        a = x * x
        a = (a & m) + 19 * (a >> 255)
        b = y * y
        b = (b & m) + 19 * (b >> 255)
        s = x + y
        s = s * s
        c = z * z
        h = a + b
        e = h - ((s & m) + 19 * (s >> 255))
        g = a - b
        f = ((c & m) + 19 * (c >> 255)) * 2 + g
        return _out(e, f, g, h, m, True)

    @staticmethod
    def add(q, r):
        # add-2008-hwcd-3, k = 2d
        x1, y1, z1, t1 = q
        x2, y2, z2, t2 = r
        m = _M
        a = (y1 - x1) * (y2 - x2)
        b = (y1 + x1) * (y2 + x2)
        c = t1 * t2
        c = ((c & m) + 19 * (c >> 255)) * _D2
        d = z1 * z2
        d = ((d & m) + 19 * (d >> 255)) * 2
        a = (a & m) + 19 * (a >> 255)
        b = (b & m) + 19 * (b >> 255)
        c = (c & m) + 19 * (c >> 255)
        e = b - a
        f = d - c
        g = d + c
        h = b + a
        return (_mul(e, f), _mul(g, h), _mul(f, g), _mul(e, h))

    @staticmethod
    @micropython.native
    def madd(q, tab, i, neg, dbl_next=False):
        # madd-2008-hwcd-3 with entry i (y+x, y-x, 2dxy); -entry = (y-x, y+x, -2dxy). dbl ignores T.
        x, y, z, t = q
        m = _M
        o = i * 96
        yp = int.from_bytes(tab[o:o + 32], "little")
        ym = int.from_bytes(tab[o + 32:o + 64], "little")
        if neg:
            yp, ym = ym, yp
        a = (y - x) * ym
        b = (y + x) * yp
        c = t * int.from_bytes(tab[o + 64:o + 96], "little")
        a = (a & m) + 19 * (a >> 255)
        b = (b & m) + 19 * (b >> 255)
        c = (c & m) + 19 * (c >> 255)
        d = z + z
        e = b - a
        h = b + a
        if neg:
            f = d + c
            g = d - c
        else:
            f = d - c
            g = d + c
        return _out(e, f, g, h, m, not dbl_next)

    @staticmethod
    def lift(tab, i, neg):
        return Ops.madd((0, 1, 1, 0), tab, i, neg, False)

    @staticmethod
    def neg(q):
        return (-q[0], q[1], q[2], -q[3])

    ENTRY = 96

    @staticmethod
    def norm(pts, out, i0):
        """Projective points -> table entries i0, i0 + 1, ... of out; one inversion for all
        (Montgomery's trick)."""
        p = _P
        pre = []
        acc = 1
        for q in pts:
            pre.append(acc)
            acc = acc * q[2] % p
        inv = _inv(acc)
        for i in range(len(pts) - 1, -1, -1):
            x, y, z, _ = pts[i]
            zi = inv * pre[i] % p
            inv = inv * z % p
            x = x * zi % p
            y = y * zi % p
            o = 96 * (i0 + i)
            out[o:o + 32] = ((y + x) % p).to_bytes(32, "little")
            out[o + 32:o + 64] = ((y - x) % p).to_bytes(32, "little")
            out[o + 64:o + 96] = (x * y % p * _D2 % p).to_bytes(32, "little")


def decode(s):
    """RFC 8032 §5.1.3: 32 bytes -> extended point, or None if s is no point's encoding."""
    if len(s) != 32:
        return None
    p = _P
    y = int.from_bytes(s, "little")
    sign = y >> 255
    y &= (1 << 255) - 1
    if y >= p:
        return None
    yy = y * y % p
    u = (yy - 1) % p
    v = (_D * yy + 1) % p
    v3 = v * v % p * v % p
    x = u * v3 % p * pow(u * v3 % p * v3 % p * v % p, (p - 5) // 8, p) % p
    vxx = v * x % p * x % p
    if vxx != u:
        if vxx != p - u:
            return None
        x = x * _I % p
    if x == 0 and sign:
        return None
    if x & 1 != sign:
        x = p - x
    return (x, y, 1, x * y % p)


def encode(q, zi=None):
    """RFC 8032 §5.1.2 (zi: 1/Z if known)."""
    p = _P
    if zi is None:
        zi = _inv(q[2])
    x = q[0] * zi % p
    y = q[1] * zi % p
    return (y | (x & 1) << 255).to_bytes(32, "little")


_B = (_BX, _BY, 1, _BX * _BY % _P)


class Verifier(_Base):
    OPS = Ops
    BITS = _BITS
    SHAPE = (5, 2)             # 33 entries, 3168 B per table; 25 doublings + 104 additions per verify
    GTAB = {}                  # (h, v) -> the generator's comb table, shared by every key

    def __init__(self, key, tables=True):
        a = decode(key) if isinstance(key, (bytes, bytearray)) else None
        if a is None:
            raise ValueError("Ed25519 public key is not a point encoding (32 bytes, RFC 8032 §5.1.3)")
        _Base.__init__(self, tables)
        self._key = bytes(key)
        self._na = Ops.neg(a)

    def _bases(self):
        return _B, self._na    # the table is for -A: [S]B + [k](-A)

    def _steps(self, msg, sig):
        if len(sig) != 64:
            yield False
            return
        s = int.from_bytes(sig[32:], "little")
        if s >= _L:            # §5.1.7 step 1
            yield False
            return
        r = bytes(sig[:32])
        if _native_sha512:
            h = _native_sha512(r + self._key + msg).digest()
        else:
            for h in sha512.steps(r + self._key + msg):
                if h is None:
                    yield None
        k = int.from_bytes(h, "little") % _L
        res = [None]
        if self._shape:
            yield from self._mul2_steps(s, k, res)
        else:
            yield from _shamir_steps(s, k, self._na, res)
        zi = [0]
        yield from _inv_steps(res[0][2], zi)
        yield encode(res[0], zi[0]) == r


def _shamir_steps(s, k, na, res):
    """[s]B + [k](-A) by one double-and-add over both scalars' bits (no tables: the baseline)."""
    pts = (None, _B, na, Ops.add(_B, na))
    sb = s.to_bytes(32, "little")
    kb = k.to_bytes(32, "little")
    q = None
    for i in range(_BITS - 1, -1, -1):
        if q is not None:
            q = Ops.dbl(q)
            yield None
        sel = ((sb[i >> 3] >> (i & 7)) & 1) | (((kb[i >> 3] >> (i & 7)) & 1) << 1)
        if sel:
            q = pts[sel] if q is None else Ops.add(q, pts[sel])
            yield None
    res[0] = q if q is not None else (0, 1, 1, 0)
