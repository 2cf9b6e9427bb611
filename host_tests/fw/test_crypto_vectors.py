# The board's symmetric primitives against their RFCs' vectors, byte for byte (both runtimes):
# RFC 5869 Appendix A.1-A.3 (HKDF-SHA256), RFC 3610 §8 packet vectors 1-12 (AES-CCM, L = 2,
# 13-byte nonce; M = 8 for #1-#6 = COSE AES-CCM-16-64-128, M = 10 for #7-#12).
from tu import h
from coap import hkdf, ccm

# (IKM, salt, info, L, PRK, OKM)
HKDF = [
    ("0b" * 22, "000102030405060708090a0b0c", "f0f1f2f3f4f5f6f7f8f9", 42,
     "077709362c2e32df0ddc3f0dc47bba6390b6c73bb50f9c3122ec844ad7c2b3e5",
     "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865"),
    ("".join("%02x" % i for i in range(0x00, 0x50)), "".join("%02x" % i for i in range(0x60, 0xb0)),
     "".join("%02x" % i for i in range(0xb0, 0x100)), 82,
     "06a6b88c5853361a06104c9ceb35b45cef760014904671014a193f40c15fc244",
     "b11e398dc80327a1c8e7f78c596a49344f012eda2d4efad8a050cc4c19afa97c59045a99cac7827271cb41c65e590e09"
     "da3275600c2f09b8367793a9aca3db71cc30c58179ec3e87c14c01d5c1f3434f1d87"),
    ("0b" * 22, "", "", 42,
     "19ef24a32c717b167f33a91d6f648bdf96596776afdb6377ac434c1c293ccb04",
     "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8"),
]


def test_rfc5869_a1_a3():
    for ikm, salt, info, n, prk, okm in HKDF:
        assert hkdf.extract(h(salt), h(ikm)) == h(prk), prk
        assert hkdf.expand(h(prk), h(info), n) == h(okm), okm
        assert hkdf.hkdf(h(salt), h(ikm), h(info), n) == h(okm)


def test_hmac_long_key_is_hashed_first():
    # RFC 4231 test case 6: a 131-byte key
    k = b"\xaa" * 131
    d = b"Test Using Larger Than Block-Size Key - Hash Key First"
    assert hkdf.hmac(k, d) == h("60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54")


KEY = "c0c1c2c3c4c5c6c7c8c9cacbcccdcecf"
# RFC 3610 §8: (nonce, header = AAD, plaintext, ciphertext | tag, M)
CCM = [
    ("00000003020100a0a1a2a3a4a5", "0001020304050607", "08090a0b0c0d0e0f101112131415161718191a1b1c1d1e",
     "588c979a61c663d2f066d0c2c0f989806d5f6b61dac38417e8d12cfdf926e0", 8),
    ("00000004030201a0a1a2a3a4a5", "0001020304050607", "08090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
     "72c91a36e135f8cf291ca894085c87e3cc15c439c9e43a3ba091d56e10400916", 8),
    ("00000005040302a0a1a2a3a4a5", "0001020304050607", "08090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20",
     "51b1e5f44a197d1da46b0f8e2d282ae871e838bb64da8596574adaa76fbd9fb0c5", 8),
    ("00000006050403a0a1a2a3a4a5", "000102030405060708090a0b", "0c0d0e0f101112131415161718191a1b1c1d1e",
     "a28c6865939a9a79faaa5c4c2a9d4a91cdac8c96c861b9c9e61ef1", 8),
    ("00000007060504a0a1a2a3a4a5", "000102030405060708090a0b", "0c0d0e0f101112131415161718191a1b1c1d1e1f",
     "dcf1fb7b5d9e23fb9d4e131253658ad86ebdca3e51e83f077d9c2d93", 8),
    ("00000008070605a0a1a2a3a4a5", "000102030405060708090a0b", "0c0d0e0f101112131415161718191a1b1c1d1e1f20",
     "6fc1b011f006568b5171a42d953d469b2570a4bd87405a0443ac91cb94", 8),
    ("00000009080706a0a1a2a3a4a5", "0001020304050607", "08090a0b0c0d0e0f101112131415161718191a1b1c1d1e",
     "0135d1b2c95f41d5d1d4fec185d166b8094e999dfed96c048c56602c97acbb7490", 10),
    ("0000000a090807a0a1a2a3a4a5", "0001020304050607", "08090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
     "7b75399ac0831dd2f0bbd75879a2fd8f6cae6b6cd9b7db24c17b4433f434963f34b4", 10),
    ("0000000b0a0908a0a1a2a3a4a5", "0001020304050607", "08090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20",
     "82531a60cc24945a4b8279181ab5c84df21ce7f9b73f42e197ea9c07e56b5eb17e5f4e", 10),
    ("0000000c0b0a09a0a1a2a3a4a5", "000102030405060708090a0b", "0c0d0e0f101112131415161718191a1b1c1d1e",
     "07342594157785152b074098330abb141b947b566aa9406b4d999988dd", 10),
    ("0000000d0c0b0aa0a1a2a3a4a5", "000102030405060708090a0b", "0c0d0e0f101112131415161718191a1b1c1d1e1f",
     "676bb20380b0e301e8ab79590a396da78b834934f53aa2e9107a8b6c022c", 10),
    ("0000000e0d0c0ba0a1a2a3a4a5", "000102030405060708090a0b", "0c0d0e0f101112131415161718191a1b1c1d1e1f20",
     "c0ffa0d6f05bdb67f24d43a4338d2aa4bed7b20e43cd1aa31662e7ad65d6db", 10),
]


def test_rfc3610_packet_vectors_1_to_12():
    for nonce, aad, pt, out, m in CCM:
        assert ccm.encrypt(h(KEY), h(nonce), h(aad), h(pt), m) == h(out), out
        assert ccm.decrypt(h(KEY), h(nonce), h(aad), h(out), m) == h(pt), out


def test_ccm_rejects_every_single_bit_flip():
    nonce, aad, pt, out, m = CCM[0]
    good = h(out)
    for i in range(len(good)):
        for bit in (0x01, 0x80):
            bad = bytearray(good)
            bad[i] ^= bit
            assert ccm.decrypt(h(KEY), h(nonce), h(aad), bytes(bad), m) is None, (i, bit)
    bad_aad = bytearray(h(aad))
    bad_aad[0] ^= 1
    assert ccm.decrypt(h(KEY), h(nonce), bytes(bad_aad), good, m) is None
    assert ccm.decrypt(h(KEY), h(nonce)[:-1] + b"\x00", h(aad), good, m) is None
    for n in (0, 1, 7):  # shorter than the tag: rejected, no exception
        assert ccm.decrypt(h(KEY), h(nonce), h(aad), good[:n], m) is None


def test_ccm_empty_and_long_inputs_round_trip():
    key = bytes(range(16))
    nonce = bytes(13)
    for n in (0, 1, 15, 16, 17, 64, 300):
        for la in (0, 1, 14, 15, 16, 300):
            pt = bytes((i * 7) & 0xFF for i in range(n))
            aad = bytes((i * 3) & 0xFF for i in range(la))
            c = ccm.encrypt(key, nonce, aad, pt)
            assert len(c) == n + 8
            assert ccm.decrypt(key, nonce, aad, c) == pt


def test_ct_eq():
    assert ccm.ct_eq(b"", b"") and ccm.ct_eq(b"abc", b"abc")
    assert not ccm.ct_eq(b"abc", b"abd") and not ccm.ct_eq(b"abc", b"ab") and not ccm.ct_eq(b"\x00", b"\x80")
