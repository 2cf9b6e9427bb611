# HMAC-SHA256 (RFC 2104) and HKDF-SHA256 (RFC 5869) over hashlib's sha256, the KDF of OSCORE
# (RFC 8613 §3.2.1, COSE alg -10) and Group OSCORE. Loaded only with OSCORE (a board without it
# never imports this module).
from hashlib import sha256

_B = 64  # SHA-256 block size (RFC 2104 §2)
_IPAD = int.from_bytes(b"\x36" * _B, "big")  # the pads as 512-bit integers: one XOR each instead of a
_OPAD = int.from_bytes(b"\x5c" * _B, "big")  # 64-step Python loop (a third of an HKDF on a Cortex-M0)


def hmac(key, data):
    """HMAC-SHA256(key, data) -> 32 bytes (RFC 2104)."""
    if len(key) > _B:
        key = sha256(key).digest()
    k = int.from_bytes(key, "big") << (8 * (_B - len(key)))  # K padded with zeros to the block size
    h = sha256((k ^ _IPAD).to_bytes(_B, "big"))
    h.update(data)
    inner = h.digest()
    h = sha256((k ^ _OPAD).to_bytes(_B, "big"))
    h.update(inner)
    return h.digest()


def extract(salt, ikm):
    """HKDF-Extract (RFC 5869 §2.2): an empty salt is HashLen zeros, which HMAC pads alike."""
    return hmac(salt or b"", ikm)


def expand(prk, info, n):
    """HKDF-Expand (RFC 5869 §2.3) -> n bytes (n <= 255 * 32)."""
    if not 0 <= n <= 255 * 32:
        raise ValueError("HKDF output length out of range")
    out = bytearray()
    t = b""
    i = 1
    while len(out) < n:
        t = hmac(prk, t + info + bytes((i,)))
        out += t
        i += 1
    return bytes(out[:n])


def hkdf(salt, ikm, info, n):
    """HKDF-SHA256(salt, IKM, info, L) (RFC 5869 §2)."""
    return expand(extract(salt, ikm), info, n)
