# AES-CCM (RFC 3610) over cryptolib.aes: one ECB call over all counter blocks A_0..A_n makes the CTR
# keystream (cryptolib has no CTR mode on the ESP32 and RP2 ports) and one CBC call with a zero IV
# over B_0 | AAD blocks | message blocks makes the CBC-MAC. With a 13-byte nonce (L = 2) and M = 8
# this is COSE AES-CCM-16-64-128 (alg 10), the OSCORE default (RFC 8613 §3.2.1).
try:
    from cryptolib import aes
except ImportError:  # CPython
    from coap.cryptolib_cpython import aes

from coap.compat import const

_ECB = const(1)
_CBC = const(2)


def xor(a, b, n):
    """a[:n] XOR b[:n] as bytes (one big-integer operation: no per-byte Python loop)."""
    return (int.from_bytes(memoryview(a)[:n], "big") ^ int.from_bytes(memoryview(b)[:n], "big")).to_bytes(n, "big")


def ct_eq(a, b):
    """Constant-time equality of two byte strings (the time depends on the length only)."""
    if len(a) != len(b):
        return False
    r = 0
    for i in range(len(a)):
        r |= a[i] ^ b[i]
    return r == 0


def _check(key, nonce, m):
    if len(key) != 16 or not 7 <= len(nonce) <= 13 or m not in (4, 6, 8, 10, 12, 14, 16):
        raise ValueError("AES-CCM parameters")


_ecb = [None, None]  # the last key and its ECB cipher object (ECB keeps no state: reused, ~300 B less per call)


def _keystream(key, nonce, n):
    """S_0 | S_1 | ... covering n message bytes (RFC 3610 §2.3): the counter blocks A_i =
    Flags(L-1) | Nonce | i, encrypted in place in one ECB call."""
    nl = len(nonce)
    nb = 1 + (n + 15) // 16
    a = bytearray(16 * nb)
    for i in range(nb):
        o = 16 * i
        a[o] = 14 - nl  # L - 1, L = 15 - len(nonce)
        a[o + 1:o + 1 + nl] = nonce
        a[o + 14] = (i >> 8) & 0xFF
        a[o + 15] = i & 0xFF
    if _ecb[0] != key:
        _ecb[1] = aes(key, _ECB)
        _ecb[0] = bytes(key)
    _ecb[1].encrypt(a, a)
    return a


def _mac(key, nonce, aad, msg, m):
    """The unencrypted tag T (M bytes; RFC 3610 §2.2): CBC-MAC over B_0 | l(a) | a | pad | m | pad."""
    nl = len(nonce)
    la = len(aad)
    n = len(msg)
    ha = 0 if not la else (2 if la < 0xFF00 else 6)
    pa = (ha + la + 15) // 16 * 16
    b = bytearray(16 + pa + (n + 15) // 16 * 16)
    b[0] = (0x40 if la else 0) | (((m - 2) // 2) << 3) | (14 - nl)  # Adata | M' | L'
    b[1:1 + nl] = nonce
    for k in range(15, nl, -1):  # l(m) in the last L bytes
        b[k] = n & 0xFF
        n >>= 8
    if n:
        raise ValueError("message too long for the nonce length")
    if la:
        if ha == 2:
            b[16] = la >> 8
            b[17] = la & 0xFF
        else:
            b[16:22] = b"\xff\xfe" + la.to_bytes(4, "big")
        b[16 + ha:16 + ha + la] = aad
    o = 16 + pa
    b[o:o + len(msg)] = msg
    aes(key, _CBC, bytes(16)).encrypt(b, b)  # in place; the MAC is the last block's first m bytes
    return memoryview(b)[len(b) - 16:len(b) - 16 + m]


def encrypt(key, nonce, aad, plaintext, m=8):
    """ciphertext | tag (RFC 3610 §2.2-2.4). key: 16 bytes; nonce: 7-13 bytes; m: tag length."""
    _check(key, nonce, m)
    n = len(plaintext)
    s = _keystream(key, nonce, n)
    t = _mac(key, nonce, aad, plaintext, m)
    return xor(plaintext, memoryview(s)[16:], n) + xor(t, s, m)


def decrypt(key, nonce, aad, data, m=8):
    """The plaintext, or None when data is shorter than the tag or the tag does not verify
    (RFC 3610 §2.5; compared in constant time). Nothing of a failed message is returned."""
    _check(key, nonce, m)
    n = len(data) - m
    if n < 0:
        return None
    s = _keystream(key, nonce, n)
    p = xor(data, memoryview(s)[16:], n)
    t = _mac(key, nonce, aad, p, m)
    if not ct_eq(xor(t, s, m), memoryview(data)[n:]):
        return None
    return p
