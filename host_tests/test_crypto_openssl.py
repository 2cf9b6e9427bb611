# The board's AES-CCM and HKDF against OpenSSL (the `cryptography` package) on random inputs: an
# independent implementation beyond the RFC vectors in fw/test_crypto_vectors.py (CPython only).
import random

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESCCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from coap import ccm, hkdf


def _b(r, n):
    return bytes(r.getrandbits(8) for _ in range(n))


def test_ccm_matches_openssl():
    r = random.Random(3610)
    for _ in range(300):
        key, nonce = _b(r, 16), _b(r, r.choice((7, 11, 13)))
        m = r.choice((4, 8, 10, 16))
        pt, aad = _b(r, r.randrange(0, 200)), _b(r, r.randrange(0, 100))
        ref = AESCCM(key, tag_length=m).encrypt(nonce, pt, aad)
        assert ccm.encrypt(key, nonce, aad, pt, m) == ref
        assert ccm.decrypt(key, nonce, aad, ref, m) == pt


def test_hkdf_matches_openssl():
    r = random.Random(5869)
    for _ in range(200):
        salt, ikm, info = _b(r, r.randrange(0, 80)), _b(r, r.randrange(1, 80)), _b(r, r.randrange(0, 40))
        n = r.randrange(1, 300)
        ref = HKDF(hashes.SHA256(), n, salt or None, info).derive(ikm)
        assert hkdf.hkdf(salt, ikm, info, n) == ref
