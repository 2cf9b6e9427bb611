# The board's CBOR codec: RFC 8949 Appendix A vectors and strictness (both runtimes).
from tu import raises, h
from coap import cbor, cborenc
from coap.cbor import CBORDecodeError, Tag

VECTORS = [
    (0, "00"), (23, "17"), (24, "1818"), (100, "1864"), (1000, "1903e8"), (1000000, "1a000f4240"),
    (1000000000000, "1b000000e8d4a51000"), (18446744073709551615, "1bffffffffffffffff"),
    (-1, "20"), (-10, "29"), (-100, "3863"), (-1000, "3903e7"), (-18446744073709551616, "3bffffffffffffffff"),
    (b"", "40"), (b"\x01\x02\x03\x04", "4401020304"), ("", "60"), ("a", "6161"), ("IETF", "6449455446"),
    ("\u00fc", "62c3bc"), ([], "80"), ([1, 2, 3], "83010203"), ([1, [2, 3], [4, 5]], "8301820203820405"),
    ({}, "a0"), ({1: 2, 3: 4}, "a201020304"), ({"a": 1, "b": [2, 3]}, "a26161016162820203"),
    (False, "f4"), (True, "f5"), (None, "f6"), (Tag(260, b"\xc0\x00\x02\x01"), "d9010444c0000201"),
]


def test_vectors_both_ways():
    for v, hx in VECTORS:
        assert cborenc.dumps(v) == h(hx), hx
        assert cbor.loads(h(hx)) == v, hx


def test_floats_decode():
    assert cbor.loads(h("f90000")) == 0.0 and cbor.loads(h("f93c00")) == 1.0
    assert cbor.loads(h("f97bff")) == 65504.0 and cbor.loads(h("f90001")) > 0
    assert cbor.loads(h("fa47c35000")) == 100000.0 and cbor.loads(h("fb3ff199999999999a")) == 1.1
    assert cbor.loads(h("f9c400")) == -4.0 and cbor.loads(h("f97c00")) == float("inf")
    x = cbor.loads(h("f97e00"))
    assert x != x  # NaN
    assert cbor.loads(cborenc.dumps(1.5)) == 1.5


def test_strict_errors():
    bad = [
        "", "18", "19 01", "1a 0000", "1b 00000000000000", "42 01", "62 61", "82 01", "a1 01",
        "5f 41 01 ff", "9f ff", "bf ff", "7f ff", "ff", "1c", "1d", "1e", "f7", "f8 20", "e0",
        "62 c3 28", "a2 01 01 01 02", "a1 81 01 02", "fa 0000", "d9 0104",
        "9b ffffffffffffffff", "5b 00000000ffffffff 00", "00 00",
    ]
    for hx in bad:
        raises(CBORDecodeError, cbor.loads, h(hx))


def test_depth_limit():
    deep = h("81" * (cbor.MAX_DEPTH + 2) + "00")
    raises(CBORDecodeError, cbor.loads, deep)
    ok = h("81" * cbor.MAX_DEPTH + "00")
    assert cbor.loads(ok) is not None
    v = 0
    for _ in range(cbor.MAX_DEPTH + 2):
        v = [v]
    raises(cborenc.CBOREncodeError, cborenc.dumps, v)


def test_encode_errors():
    raises(cborenc.CBOREncodeError, cborenc.dumps, object())
    raises(cborenc.CBOREncodeError, cborenc.dumps, 1 << 64)


def test_prefix_and_tags():
    v, i = cbor.load_prefix(h("01 02"))
    assert v == 1 and i == 1
    t = cbor.loads(h("c1 1a 514b67b0"))
    assert t.tag == 1 and t.value == 1363896240 and t == Tag(1, 1363896240) and t != Tag(2, 1363896240)
    assert hash(Tag(260, b"a")) == hash(Tag(260, b"a"))
