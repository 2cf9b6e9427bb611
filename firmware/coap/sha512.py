# SHA-512 (FIPS 180-4 §6.4), for Ed25519 (RFC 8032 §5.1.7) on boards whose hashlib has sha256 only
# (every MicroPython port). digest(data) -> 64 bytes; steps(data) is the same computation as a
# generator that yields None after each 128-byte block and finally the digest (sigverify's stepwise
# verification drives it). The compression is coap.sha512v's viper code where MicroPython compiles it
# (it must give FIPS 180-4's digest of "abc" at import), else _block here: 64-bit words as Python
# ints masked with _M, what CPython's tests check against hashlib.
import sys

from coap.compat import const

_M = const(0xFFFFFFFFFFFFFFFF)

# §4.2.3: the first 64 bits of the fractional parts of the cube roots of the first 80 primes
_K = bytes.fromhex("""
    428a2f98d728ae22 7137449123ef65cd b5c0fbcfec4d3b2f e9b5dba58189dbbc
    3956c25bf348b538 59f111f1b605d019 923f82a4af194f9b ab1c5ed5da6d8118
    d807aa98a3030242 12835b0145706fbe 243185be4ee4b28c 550c7dc3d5ffb4e2
    72be5d74f27b896f 80deb1fe3b1696b1 9bdc06a725c71235 c19bf174cf692694
    e49b69c19ef14ad2 efbe4786384f25e3 0fc19dc68b8cd5b5 240ca1cc77ac9c65
    2de92c6f592b0275 4a7484aa6ea6e483 5cb0a9dcbd41fbd4 76f988da831153b5
    983e5152ee66dfab a831c66d2db43210 b00327c898fb213f bf597fc7beef0ee4
    c6e00bf33da88fc2 d5a79147930aa725 06ca6351e003826f 142929670a0e6e70
    27b70a8546d22ffc 2e1b21385c26c926 4d2c6dfc5ac42aed 53380d139d95b3df
    650a73548baf63de 766a0abb3c77b2a8 81c2c92e47edaee6 92722c851482353b
    a2bfe8a14cf10364 a81a664bbc423001 c24b8b70d0f89791 c76c51a30654be30
    d192e819d6ef5218 d69906245565a910 f40e35855771202a 106aa07032bbd1b8
    19a4c116b8d2d0c8 1e376c085141ab53 2748774cdf8eeb99 34b0bcb5e19b48a8
    391c0cb3c5c95a63 4ed8aa4ae3418acb 5b9cca4f7763e373 682e6ff3d6b2b8a3
    748f82ee5defb2fc 78a5636f43172f60 84c87814a1f0ab72 8cc702081a6439ec
    90befffa23631e28 a4506cebde82bde9 bef9a3f7b2c67915 c67178f2e372532b
    ca273eceea26619c d186b8c721c0c207 eada7dd6cde0eb1e f57d4f7fee6ed178
    06f067aa72176fba 0a637dc5a2c898a6 113f9804bef90dae 1b710b35131c471b
    28db77f523047d84 32caab7b40c72493 3c9ebe0a15c9bebc 431d67c49c100d4c
    4cc5d4becb3e42b6 597f299cfc657e2a 5fcb6fab3ad6faec 6c44198c4a475817
""")
# §5.3.5: the initial hash value
_H0 = bytes.fromhex("""
    6a09e667f3bcc908 bb67ae8584caa73b 3c6ef372fe94f82b a54ff53a5f1d36f1
    510e527fade682d1 9b05688c2b3e6c1f 1f83d9abfb41bd6b 5be0cd19137e2179
""")
_kcache = []


def _kints():
    if not _kcache:
        _kcache.extend(int.from_bytes(_K[i:i + 8], "big") for i in range(0, 640, 8))
    return _kcache


def _block(hs, b, o):
    """§6.4.2: one compression of the 128 bytes b[o:o+128] into the 8-word state list hs. A rotation
    is a shift of x | x << 64 (masked once per sum); mpz operations are what costs on a board."""
    m = _M
    w = [int.from_bytes(b[o + i:o + i + 8], "big") for i in range(0, 128, 8)]
    for t in range(16, 80):
        x = w[t - 15]
        xx = x | (x << 64)
        y = w[t - 2]
        yy = y | (y << 64)
        # σ0 = ROTR1 ^ ROTR8 ^ SHR7, σ1 = ROTR19 ^ ROTR61 ^ SHR6
        w.append((w[t - 16] + w[t - 7] + (((xx >> 1) ^ (xx >> 8)) & m ^ (x >> 7))
                  + (((yy >> 19) ^ (yy >> 61)) & m ^ (y >> 6))) & m)
    a, b_, c, d, e, f, g, h = hs
    k = _kints()
    bc = b_ ^ c
    for t in range(80):
        # T1 = h + Σ1(e) + Ch(e,f,g) + K_t + W_t ; T2 = Σ0(a) + Maj(a,b,c)
        ee = e | (e << 64)
        t1 = h + (((ee >> 14) ^ (ee >> 18) ^ (ee >> 41)) & m) + (g ^ (e & (f ^ g))) + k[t] + w[t]
        aa = a | (a << 64)
        ab = a ^ b_
        t2 = (((aa >> 28) ^ (aa >> 34) ^ (aa >> 39)) & m) + (b_ ^ (ab & bc))   # Maj = b ^ ((a^b) & (b^c))
        bc = ab
        h = g
        g = f
        f = e
        e = (d + t1) & m
        d = c
        c = b_
        b_ = a
        a = (t1 + t2) & m
    hs[0] = (hs[0] + a) & m
    hs[1] = (hs[1] + b_) & m
    hs[2] = (hs[2] + c) & m
    hs[3] = (hs[3] + d) & m
    hs[4] = (hs[4] + e) & m
    hs[5] = (hs[5] + f) & m
    hs[6] = (hs[6] + g) & m
    hs[7] = (hs[7] + h) & m


def _py_init():
    return [int.from_bytes(_H0[i:i + 8], "big") for i in range(0, 64, 8)]


def _py_final(hs):
    return b"".join(x.to_bytes(8, "big") for x in hs)


_init, _compress, _final = _py_init, _block, _py_final
VIPER = False                  # True once coap.sha512v's compression is in use

if sys.implementation.name == "micropython":
    try:
        from array import array
        from coap.sha512v import compress as _vc

        _k32 = array("I", (int.from_bytes(_K[i:i + 4], "big") for i in range(0, 640, 4)))
        _w32 = array("I", bytes(640))

        def _v_init():
            return array("I", (int.from_bytes(_H0[i:i + 4], "big") for i in range(0, 64, 4)))

        def _v_compress(st, b, o):
            _vc(st, b, o, _w32, _k32)

        def _v_final(st):
            return b"".join(x.to_bytes(4, "big") for x in st)

        _st = _v_init()
        _v_compress(_st, b"abc\x80" + bytes(123) + b"\x18", 0)
        if _v_final(_st)[:16] == bytes.fromhex("ddaf35a193617abacc417349ae204131"):
            _init, _compress, _final = _v_init, _v_compress, _v_final
            VIPER = True
        _st = None
    except Exception:  # no native emitter, a bytecode build (viper types undefined): stay in Python
        pass


def steps(data):
    """Generator: None after each block, then the 64-byte digest of data (bytes-like)."""
    hs = _init()
    n = len(data)
    full = n - n % 128
    for o in range(0, full, 128):
        _compress(hs, data, o)
        yield None
    # §5.1.2 padding: 0x80, zeros, the message length in bits as a 128-bit big-endian integer
    tail = bytearray(data[full:])
    tail.append(0x80)
    tail.extend(bytes((-len(tail) - 16) % 128))
    tail.extend((n * 8).to_bytes(16, "big"))
    for o in range(0, len(tail), 128):
        _compress(hs, tail, o)
        yield None
    yield _final(hs)


def digest(data):
    for r in steps(data):
        if r is not None:
            return r
