# SHA-512 compression (FIPS 180-4 §6.4.2) with Python ints: 64-bit words masked with _M. coap.sha512
# uses it where coap.sha512v's viper code is not available (CPython's tests, a port without a native
# emitter, a bytecode build), so a board with the viper code never loads this.
from coap.compat import const
from coap.sha512 import _K

_M = const(0xFFFFFFFFFFFFFFFF)
_k = [int.from_bytes(_K[i:i + 8], "big") for i in range(0, 640, 8)]


def init(h0):
    return [int.from_bytes(h0[i:i + 8], "big") for i in range(0, 64, 8)]


def final(hs):
    return b"".join(x.to_bytes(8, "big") for x in hs)


def compress(hs, b, o, _w=None):
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
    k = _k
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
