# SHA-512 (FIPS 180-4 §6.4) in Python, for Ed25519 (RFC 8032 §5.1.7) on boards whose hashlib has
# sha256 only (every MicroPython port). 64-bit words are Python ints masked with _M.
# digest(data) -> 64 bytes; steps(data) is the same computation as a generator that yields None after
# each 128-byte block and finally the digest (sigverify's stepwise verification drives it).
from coap.compat import const

_M = const(0xFFFFFFFFFFFFFFFF)

# §4.2.3: first 64 bits of the fractional parts of the cube roots of the first 80 primes
_K = (
    0x428a2f98d728ae22, 0x7137449123ef65cd, 0xb5c0fbcfec4d3b2f, 0xe9b5dba58189dbbc, 0x3956c25bf348b538,
    0x59f111f1b605d019, 0x923f82a4af194f9b, 0xab1c5ed5da6d8118, 0xd807aa98a3030242, 0x12835b0145706fbe,
    0x243185be4ee4b28c, 0x550c7dc3d5ffb4e2, 0x72be5d74f27b896f, 0x80deb1fe3b1696b1, 0x9bdc06a725c71235,
    0xc19bf174cf692694, 0xe49b69c19ef14ad2, 0xefbe4786384f25e3, 0x0fc19dc68b8cd5b5, 0x240ca1cc77ac9c65,
    0x2de92c6f592b0275, 0x4a7484aa6ea6e483, 0x5cb0a9dcbd41fbd4, 0x76f988da831153b5, 0x983e5152ee66dfab,
    0xa831c66d2db43210, 0xb00327c898fb213f, 0xbf597fc7beef0ee4, 0xc6e00bf33da88fc2, 0xd5a79147930aa725,
    0x06ca6351e003826f, 0x142929670a0e6e70, 0x27b70a8546d22ffc, 0x2e1b21385c26c926, 0x4d2c6dfc5ac42aed,
    0x53380d139d95b3df, 0x650a73548baf63de, 0x766a0abb3c77b2a8, 0x81c2c92e47edaee6, 0x92722c851482353b,
    0xa2bfe8a14cf10364, 0xa81a664bbc423001, 0xc24b8b70d0f89791, 0xc76c51a30654be30, 0xd192e819d6ef5218,
    0xd69906245565a910, 0xf40e35855771202a, 0x106aa07032bbd1b8, 0x19a4c116b8d2d0c8, 0x1e376c085141ab53,
    0x2748774cdf8eeb99, 0x34b0bcb5e19b48a8, 0x391c0cb3c5c95a63, 0x4ed8aa4ae3418acb, 0x5b9cca4f7763e373,
    0x682e6ff3d6b2b8a3, 0x748f82ee5defb2fc, 0x78a5636f43172f60, 0x84c87814a1f0ab72, 0x8cc702081a6439ec,
    0x90befffa23631e28, 0xa4506cebde82bde9, 0xbef9a3f7b2c67915, 0xc67178f2e372532b, 0xca273eceea26619c,
    0xd186b8c721c0c207, 0xeada7dd6cde0eb1e, 0xf57d4f7fee6ed178, 0x06f067aa72176fba, 0x0a637dc5a2c898a6,
    0x113f9804bef90dae, 0x1b710b35131c471b, 0x28db77f523047d84, 0x32caab7b40c72493, 0x3c9ebe0a15c9bebc,
    0x431d67c49c100d4c, 0x4cc5d4becb3e42b6, 0x597f299cfc657e2a, 0x5fcb6fab3ad6faec, 0x6c44198c4a475817,
)
# §5.3.5: initial hash value
_H0 = (0x6a09e667f3bcc908, 0xbb67ae8584caa73b, 0x3c6ef372fe94f82b, 0xa54ff53a5f1d36f1,
       0x510e527fade682d1, 0x9b05688c2b3e6c1f, 0x1f83d9abfb41bd6b, 0x5be0cd19137e2179)


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
    k = _K
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


def steps(data):
    """Generator: None after each block, then the 64-byte digest of data (bytes-like)."""
    hs = list(_H0)
    n = len(data)
    full = n - n % 128
    for o in range(0, full, 128):
        _block(hs, data, o)
        yield None
    # §5.1.2 padding: 0x80, zeros, the message length in bits as a 128-bit big-endian integer
    tail = bytearray(data[full:])
    tail.append(0x80)
    tail.extend(bytes((-len(tail) - 16) % 128))
    tail.extend((n * 8).to_bytes(16, "big"))
    for o in range(0, len(tail), 128):
        _block(hs, tail, o)
        yield None
    yield b"".join(x.to_bytes(8, "big") for x in hs)


def digest(data):
    for r in steps(data):
        if r is not None:
            return r
