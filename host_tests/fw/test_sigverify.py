# Signature verification (coap.sigverify, coap.ed25519, coap.p256, coap.sha512, coap.comb) under both
# runtimes: RFC 8032 §7.1 TEST 1, 2, 3 and 1024; RFC 6979 A.2.5 (P-256, SHA-256); FIPS 180-4 SHA-512
# digests; bad input; the stepwise job; the comb against double-and-add on edge scalars.
# (Cross-checks against OpenSSL on random keys: host_tests/test_sigverify_cryptography.py.)
from tu import h, raises, MICROPYTHON, Rng
from coap import sigverify, sha512

# RFC 8032 §7.1: (public key, message, signature)
ED_VECTORS = (
    ("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", "",
     "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46b"
     "d25bf5f0595bbe24655141438e7a100b"),
    ("3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c", "72",
     "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c"
     "387b2eaeb4302aeeb00d291612bb0c00"),
    ("fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025", "af82",
     "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc659"
     "4a7c15e9716ed28dc027beceea1ec40a"),
    ("278117fc144c72340f67d0f2316e8386ceffbf2b2428c9c51fef7c597f1d426e",
     "08b8b2b733424243760fe426a4b54908632110a66c2f6591eabd3345e3e4eb98fa6e264bf09efe12ee50f8f54e9f77b1"
     "e355f6c50544e23fb1433ddf73be84d879de7c0046dc4996d9e773f4bc9efe5738829adb26c81b37c93a1b270b20329d"
     "658675fc6ea534e0810a4432826bf58c941efb65d57a338bbd2e26640f89ffbc1a858efcb8550ee3a5e1998bd177e93a"
     "7363c344fe6b199ee5d02e82d522c4feba15452f80288a821a579116ec6dad2b3b310da903401aa62100ab5d1a36553e"
     "06203b33890cc9b832f79ef80560ccb9a39ce767967ed628c6ad573cb116dbefefd75499da96bd68a8a97b928a8bbc10"
     "3b6621fcde2beca1231d206be6cd9ec7aff6f6c94fcd7204ed3455c68c83f4a41da4af2b74ef5c53f1d8ac70bdcb7ed1"
     "85ce81bd84359d44254d95629e9855a94a7c1958d1f8ada5d0532ed8a5aa3fb2d17ba70eb6248e594e1a2297acbbb39d"
     "502f1a8c6eb6f1ce22b3de1a1f40cc24554119a831a9aad6079cad88425de6bde1a9187ebb6092cf67bf2b13fd65f270"
     "88d78b7e883c8759d2c4f5c65adb7553878ad575f9fad878e80a0c9ba63bcbcc2732e69485bbc9c90bfbd62481d9089b"
     "eccf80cfe2df16a2cf65bd92dd597b0707e0917af48bbb75fed413d238f5555a7a569d80c3414a8d0859dc65a46128ba"
     "b27af87a71314f318c782b23ebfe808b82b0ce26401d2e22f04d83d1255dc51addd3b75a2b1ae0784504df543af8969b"
     "e3ea7082ff7fc9888c144da2af58429ec96031dbcad3dad9af0dcbaaaf268cb8fcffead94f3c7ca495e056a9b47acdb7"
     "51fb73e666c6c655ade8297297d07ad1ba5e43f1bca32301651339e22904cc8c42f58c30c04aafdb038dda0847dd988d"
     "cda6f3bfd15c4b4c4525004aa06eeff8ca61783aacec57fb3d1f92b0fe2fd1a85f6724517b65e614ad6808d6f6ee34df"
     "f7310fdc82aebfd904b01e1dc54b2927094b2db68d6f903b68401adebf5a7e08d78ff4ef5d63653a65040cf9bfd4aca7"
     "984a74d37145986780fc0b16ac451649de6188a7dbdf191f64b5fc5e2ab47b57f7f7276cd419c17a3ca8e1b939ae49e4"
     "88acba6b965610b5480109c8b17b80e1b7b750dfc7598d5d5011fd2dcc5600a32ef5b52a1ecc820e308aa342721aac09"
     "43bf6686b64b2579376504ccc493d97e6aed3fb0f9cd71a43dd497f01f17c0e2cb3797aa2a2f256656168e6c496afc5f"
     "b93246f6b1116398a346f1a641f3b041e989f7914f90cc2c7fff357876e506b50d334ba77c225bc307ba537152f3f161"
     "0e4eafe595f6d9d90d11faa933a15ef1369546868a7f3a45a96768d40fd9d03412c091c6315cf4fde7cb68606937380d"
     "b2eaaa707b4c4185c32eddcdd306705e4dc1ffc872eeee475a64dfac86aba41c0618983f8741c5ef68d3a101e8a3b8ca"
     "c60c905c15fc910840b94c00a0b9d0",
     "0aab4c900501b3e24d7cdf4663326a3a87df5e4843b2cbdb67cbf6e460fec350aa5371b1508f9f4528ecea23c436d94b"
     "5e8fcd4f681e30a6ac00a9704a188a03"),
)

# RFC 6979 A.2.5: the P-256 key and the SHA-256 signatures of "sample" and "test"
P256_KEY = ("04" "60fed4ba255a9d31c961eb74c6356d68c049b8923b61fa6ce669622e60f29fb6"
            "7903fe1008b8bc99a41ae9e95628bc64f2f1b20c2d7e9f5177a3c294d4462299")
P256_VECTORS = (
    (b"sample", "efd48b2aacb6a8fd1140dd9cd45e81d69d2c877b56aaf991c34d0ea84eaf3716"
                "f7cb1c942d657c41d436c7a1b6e29f65f3e900dbb9aff4064dc4ab2f843acda8"),
    (b"test", "f1abb023518351cd71d881567b1ea663ed3efcf6c5132b354f28d3b0b7d38367"
              "019f4113742a2b14bd25926b49c649155f267e60d3814b4c0cc84250e46f0083"),
)
P256_N = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
ED_L = 0x1000000000000000000000000000000014DEF9DEA2F79CD65812631A5CF5D3ED

# FIPS 180-4 examples and padding edges (message, SHA-512 digest)
SHA512_VECTORS = (
    (b"", "cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce"
          "47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e"),
    (b"abc", "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"
             "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f"),
    (b"abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrs"
     b"mnopqrstnopqrstu", "8e959b75dae313da8cf4f72814fc143f8f7779c6eb9f7fa17299aeadb6889018"
                         "501d289e4900f7e4331b99dec4b5433ac7d329eeb6dd26545e96e55b874be909"),
    (b"a" * 111, "fa9121c7b32b9e01733d034cfc78cbf67f926c7ed83e82200ef86818196921760"
                 "b4beff48404df811b953828274461673c68d04e297b0eb7b2b4d60fc6b566a2"),
    (b"a" * 112, "c01d080efd492776a1c43bd23dd99d0a2e626d481e16782e75d54c2503b5dc32"
                 "bd05f0f1ba33e568b88fd2d970929b719ecbb152f58f130a407c8830604b70ca"),
    (b"a" * 128, "b73d1929aa615934e61a871596b3f3b33359f42b8175602e89f7e06e5f658a24"
                 "3667807ed300314b95cacdd579f3e33abdfbe351909519a846d465c59582f321"),
    (b"a" * 240, "4c296d90c61052a62ffb1dd196f1b7b09373b1f93e71836baebf89690546b759"
                 "5684dbe9467a8e484fa0d1094272b4344a7c24f5fee8daedeb0bf549c985ab5f"),
)


def _flip(b, i):
    b = bytearray(b)
    b[i] ^= 1
    return bytes(b)


def test_sha512_fips180_vectors():
    for m, d in SHA512_VECTORS:
        assert sha512.digest(m) == h(d), len(m)
    # one yield per 128-byte block (padding included), then the digest
    assert [x is None for x in sha512.steps(b"a" * 112)] == [True, True, False]


def test_sha512_viper_compression_equals_python():
    # MicroPython: coap.sha512v's viper compression is the one in use (every runtime of these tests
    # has a native emitter) and equals the Python one on random blocks and states; CPython: Python
    assert sha512.VIPER is MICROPYTHON
    if not MICROPYTHON:
        return
    from coap import sha512py
    rng = Rng(512)
    for _ in range(4):
        block = bytes(rng.getrandbits(8) for _ in range(131))
        hs = [(rng.getrandbits(32) << 32) | rng.getrandbits(32) for _ in range(8)]
        st = sha512._v_init(bytes(64))
        for i in range(8):
            st[2 * i] = hs[i] >> 32
            st[2 * i + 1] = hs[i] & 0xFFFFFFFF
        sha512py.compress(hs, block, 3)
        sha512._v_compress(st, block, 3, bytearray(640))
        assert sha512._v_final(st) == sha512py.final(hs)


def test_ed25519_rfc8032_vectors():
    # with the comb tables (the default), then table-less on two vectors (slow on a board: fewer checks)
    for i, (pk, m, sig) in enumerate(ED_VECTORS):
        v = sigverify.verifier(sigverify.EDDSA, h(pk))
        m, sig = h(m), h(sig)
        assert v.verify(m, sig) is True, pk
        assert v.verify(m + b"\x00", sig) is False
        assert v.verify(m, _flip(sig, 0)) is False          # R
        assert v.verify(m, _flip(sig, 40)) is False         # S
        if m:
            assert v.verify(_flip(m, len(m) - 1), sig) is False
        if i in (0, 3):
            v = sigverify.verifier(sigverify.EDDSA, h(pk), False)
            assert v.verify(m, sig) is True and v.verify(m, _flip(sig, 40)) is False


def test_ed25519_bad_input_is_false():
    pk, m, sig = (h(x) for x in ED_VECTORS[1])
    v = sigverify.verifier(sigverify.EDDSA, pk)
    s = int.from_bytes(sig[32:], "little")
    for bad in (b"", sig[:63], sig + b"\x00",
                sig[:32] + (s + ED_L).to_bytes(32, "little"),     # S + L: non-canonical S (§5.1.7 step 1)
                sig[:32] + ED_L.to_bytes(32, "little"),
                b"\xff" * 64,
                bytes(32) + sig[32:],                             # R = y 0: a point, the wrong one
                b"\xff" * 31 + b"\x7f" + sig[32:]):               # R with y >= p: not an encoding
        assert v.verify(m, bad) is False, bad
    assert v.verify(None, sig) is False
    assert v.verify("72", sig) is False
    assert v.verify(m, 5) is False
    assert v.verify(memoryview(m), memoryview(sig)) is True


def test_ed25519_bad_key_is_valueerror():
    for key in (b"", bytes(31), b"\xff" * 32,                     # y >= p
                h("0200000000000000000000000000000000000000000000000000000000000000"),   # x**2 not a square
                h("0100000000000000000000000000000000000000000000000000000000000080"),   # x = 0 with sign 1
                "d75a98", None):
        raises(ValueError, sigverify.verifier, sigverify.EDDSA, key)
    raises(ValueError, sigverify.verifier, -35, h(ED_VECTORS[0][0]))   # ES384: not supported
    raises(ValueError, sigverify.verifier, 0, h(ED_VECTORS[0][0]))


def _compressed(key):
    return bytes((2 + (key[64] & 1),)) + key[1:33]


def test_p256_rfc6979_vectors():
    key = h(P256_KEY)
    for k in (key, _compressed(key)):
        v = sigverify.verifier(sigverify.ES256, k)
        for m, sig in P256_VECTORS:
            sig = h(sig)
            assert v.verify(m, sig) is True, (m, len(k))
            assert v.verify(m + b"!", sig) is False
            assert v.verify(m, _flip(sig, 5)) is False
            assert v.verify(m, _flip(sig, 60)) is False
            # ECDSA's own malleability: (r, n - s) verifies too (as in OpenSSL)
            s = int.from_bytes(sig[32:], "big")
            assert v.verify(m, sig[:32] + (P256_N - s).to_bytes(32, "big")) is True
    v = sigverify.verifier(sigverify.ES256, _compressed(key), False)   # table-less
    for m, sig in P256_VECTORS:
        assert v.verify(m, h(sig)) is True and v.verify(m + b"!", h(sig)) is False


def test_p256_bad_input_is_false():
    v = sigverify.verifier(sigverify.ES256, h(P256_KEY))
    m, sig = P256_VECTORS[0]
    sig = h(sig)
    r, s = sig[:32], sig[32:]
    n = P256_N.to_bytes(32, "big")
    for bad in (b"", sig[:63], sig + b"\x00", bytes(32) + s, r + bytes(32), n + s, r + n,
                b"\xff" * 64):
        assert v.verify(m, bad) is False, bad
    assert v.verify(None, sig) is False
    assert v.verify(m, None) is False


def test_p256_bad_key_is_valueerror():
    key = h(P256_KEY)
    p = 0xFFFFFFFF00000001000000000000000000000000FFFFFFFFFFFFFFFFFFFFFFFF
    for bad in (b"", key[:64], key + b"\x00", b"\x05" + key[1:], b"\x04" + key[1:64] + bytes((key[64] ^ 1,)),
                b"\x04" + p.to_bytes(32, "big") + key[33:],
                b"\x04" + bytes(64),                              # the point at infinity has no SEC1 x, y
                b"\x02" + p.to_bytes(32, "big"),
                b"\x02" + (1).to_bytes(32, "big"),                # x**3 - 3x + b is not a square for x = 1
                b"\x01" + key[1:33]):
        raises(ValueError, sigverify.verifier, sigverify.ES256, bad)


def test_stepwise_job_matches_verify():
    pk, m, sig = (h(x) for x in ED_VECTORS[2])
    for alg, key, msg, s in ((sigverify.EDDSA, pk, m, sig),
                             (sigverify.ES256, h(P256_KEY), P256_VECTORS[1][0], h(P256_VECTORS[1][1]))):
        for tables in (True, False):
            v = sigverify.verifier(alg, key, tables)
            v.prepare().step(100000)                   # the tables alone (counted in test_prepare_...)
            for good in ((True, False) if tables else (False,)):
                job = v.start(msg if good else msg + b"x", s)
                n = 0
                while True:
                    r = job.step(1)
                    if r is not None:
                        break
                    n += 1
                assert r is good, (alg, tables, good)
                assert job.step(5) is good and job.result is good      # the result stays
                # a unit is one point operation: several hundred without tables, fewer with them
                assert 40 < n < 600, (alg, tables, n)
                # a larger budget takes proportionally fewer calls
                job = v.start(msg if good else msg + b"x", s)
                calls = 1
                while job.step(50) is None:
                    calls += 1
                assert job.result is good and calls == n // 50 + 1, (calls, n)


def test_prepare_builds_tables_once():
    v = sigverify.verifier(sigverify.ES256, h(P256_KEY))
    job = v.prepare()
    n = 0
    while job.step(1) is None:
        n += 1
    assert n > 100 and job.result is True              # a doubling chain and the table entries
    job = v.prepare()
    assert job.step(1) is True                         # built already: nothing left to do
    m, sig = P256_VECTORS[0]
    assert v.verify(m, h(sig)) is True


def test_comb_shapes():
    # other shapes give the same answers; a shape out of range is refused when the verifier is made
    pk, m, sig = (h(x) for x in ED_VECTORS[1])
    for shape in ((2, 1), (4, 3), (6, 1)):
        v = sigverify.verifier(sigverify.EDDSA, pk, shape)
        assert v.verify(m, sig) is True and v.verify(m + b"x", sig) is False, shape
        assert len(v._tab) == 96 * (shape[1] * (1 << (shape[0] - 1)) + 1)
    v = sigverify.verifier(sigverify.ES256, h(P256_KEY), (3, 2))
    assert v.verify(P256_VECTORS[0][0], h(P256_VECTORS[0][1])) is True
    for bad in ((1, 2), (9, 1), (5, 0), (5, 9)):
        raises(ValueError, sigverify.verifier, sigverify.EDDSA, pk, bad)


def test_comb_edge_scalars_equal_double_and_add():
    # the comb's recoding (odd and even scalars, 0, 1, the largest) against the table-less path,
    # through each curve's final comparison
    from coap import comb, ed25519, p256
    ped = ed25519.decode(h(ED_VECTORS[0][0]))
    pp = p256.decode(h(P256_KEY))
    ve = sigverify.verifier(sigverify.EDDSA, h(ED_VECTORS[0][0]))
    vp = sigverify.verifier(sigverify.ES256, h(P256_KEY))
    ve.prepare().step(100000)
    vp.prepare().step(100000)
    for a, b in ((0, 0), (1, 0), (0, 1), (2, 3), (ED_L - 1, ED_L - 2), ((1 << 253) - 1, (1 << 252) + 1)):
        res, ref = [None], [None]
        h_, v_ = ve._shape
        for _ in comb.mul2_steps(ed25519.Ops, (ve.GTAB[ve._shape], ve._tab), (a, b), h_, v_, 253, res):
            pass
        for _ in ed25519._shamir_steps(a, b, ed25519.Ops.neg(ped), ref):
            pass
        assert ed25519.encode(res[0]) == ed25519.encode(ref[0]), (a, b)
    for a, b in ((0, 1), (1, 0), (2, 3), (P256_N - 1, P256_N - 2), ((1 << 256) - 1, 6)):
        res, ref = [None], [None]
        h_, v_ = vp._shape
        for _ in comb.mul2_steps(p256.Ops, (vp.GTAB[vp._shape], vp._tab), (a, b), h_, v_, 256, res):
            pass
        for _ in p256._shamir_steps(a, b, pp, ref):
            pass
        aff = bytearray(128)
        p256.Ops.norm([res[0], ref[0]], aff, 0)
        assert aff[:64] == aff[64:], (a, b)
