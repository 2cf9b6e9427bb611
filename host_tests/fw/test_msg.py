# RFC 7252 message codec: vectors, round trips and every malformed case (both runtimes).
from tu import raises, h
from coap import msg, inforespenc
from coap.msg import DecodeError, Msg
from coap import options as o

NOTIF = h("51 45 12 34 7b 61 0b 61 3c ff 35 36 37 38")  # the §4 notification (bench vector)


def test_decode_notification():
    m = msg.decode(NOTIF)
    assert m.type == msg.NON and m.code == msg.CONTENT and m.mid == 0x1234
    assert bytes(m.token()) == b"\x7b" and m.token_is(b"\x7b") and not m.token_is(b"\x7c")
    assert m.uint(o.OBSERVE) == 11 and m.uint(o.CONTENT_FORMAT) == 60
    assert m.uint(o.MAX_AGE) is None and m.uint(o.MAX_AGE, 60) == 60
    assert bytes(m.payload()) == b"5678" and m.has_payload()
    assert m.items() == [(6, b"\x0b"), (12, b"\x3c")]


def test_encode_matches_vector():
    assert msg.encode(msg.NON, msg.CONTENT, 0x1234, b"\x7b", [(o.CONTENT_FORMAT, 60), (o.OBSERVE, 11)], b"5678") == NOTIF


def test_empty_and_uint_shortest():
    assert msg.empty(msg.ACK, 0xBEEF) == h("60 00 be ef")
    assert o.uint_bytes(0) == b"" and o.uint_bytes(255) == b"\xff" and o.uint_bytes(256) == b"\x01\x00"
    b = msg.encode(msg.CON, msg.GET, 1, b"", [(o.OBSERVE, 0)])
    assert b == h("40 01 00 01 60")
    assert msg.decode(b).uint(o.OBSERVE) == 0


def test_extended_delta_and_length():
    long = b"x" * 300
    b = msg.encode(msg.CON, msg.POST, 7, b"tok", [(o.URI_PATH, "a" * 20), (o.PROXY_URI, long[:270]), (o.NO_RESPONSE, 26), (65002, None)])
    m = msg.decode(b)
    assert m.nopt == 4
    assert bytes(m.opt(o.URI_PATH)) == b"a" * 20
    assert bytes(m.opt(o.PROXY_URI)) == long[:270]
    assert m.uint(o.NO_RESPONSE) == 26
    assert m.opt_len(65002) == 0 and m.opt_len(65003) == -1
    # 13-form delta: 35 - 11 = 24 -> 0xd? with ext 11; 14-form for 65002
    assert b[b.index(b"a" * 20) + 20] >> 4 == 13


def test_repeated_options_keep_order():
    b = msg.encode(msg.CON, msg.GET, 1, b"", [(o.URI_PATH, "a"), (o.URI_QUERY, "q=1"), (o.URI_PATH, "b"), (o.URI_PATH, "c")])
    m = msg.decode(b)
    assert m.opts(o.URI_PATH) == [b"a", b"b", b"c"]
    assert m.path() == "/a/b/c"
    assert m.opts(o.URI_QUERY) == [b"q=1"]


def test_token_lengths():
    for n in range(9):
        tok = bytes(range(1, n + 1))
        m = msg.decode(msg.encode(msg.CON, msg.GET, 5, tok))
        assert m.token_bytes() == tok and m.tkl == n
    raises(ValueError, msg.encode, msg.CON, msg.GET, 5, b"123456789")


def test_reuse_msg_object():
    m = Msg()
    m.decode(NOTIF)
    m.decode(h("40 01 00 01 b1 72"))
    assert m.nopt == 1 and not m.has_payload() and m.path() == "/r" and m.tkl == 0


def test_memoryview_input():
    buf = bytearray(64)
    buf[:len(NOTIF)] = NOTIF
    m = Msg().decode(memoryview(buf)[:len(NOTIF)])
    assert m.uint(o.OBSERVE) == 11 and bytes(m.payload()) == b"5678"


MALFORMED = [
    ("", "short"),
    ("40 01 00", "short"),
    ("00 01 00 01", "version 0"),
    ("80 01 00 01", "version 2"),
    ("c0 01 00 01", "version 3"),
    ("49 01 00 01 01 02 03 04 05 06 07 08 09", "tkl 9"),
    ("4f 01 00 01", "tkl 15"),
    ("44 01 00 01 01 02", "token past end"),
    ("40 01 00 01 f0", "delta nibble 15"),
    ("40 01 00 01 0f", "length nibble 15"),
    ("40 01 00 01 d0", "delta ext missing"),
    ("40 01 00 01 e0 01", "delta ext2 short"),
    ("40 01 00 01 0d", "length ext missing"),
    ("40 01 00 01 0e 00", "length ext2 short"),
    ("40 01 00 01 03 61 62", "value past end"),
    ("40 01 00 01 0d ff 61", "long value past end"),
    ("40 01 00 01 ff", "marker, empty payload"),
    ("40 01 00 01 b1 72 ff", "marker after option, empty payload"),
    ("41 00 00 01 01", "empty with token"),
    ("40 00 00 01 60", "empty with option"),
    ("40 00 00 01 ff 01", "empty with payload"),
    ("40 01 00 01 e0 ff ff", "number above 65535"),
]


def test_malformed_rejected_with_codec_error():
    for hx, why in MALFORMED:
        e = raises(DecodeError, msg.decode, h(hx))
        assert str(e), why


def test_too_many_options():
    b = msg.encode(msg.CON, msg.GET, 1, b"", [(o.URI_PATH, "x")] * (msg.MAX_OPTS + 1))
    raises(DecodeError, msg.decode, b)
    assert Msg(64).decode(b).nopt == msg.MAX_OPTS + 1


def test_tim_roundtrip():
    tim = inforespenc.to_tim(NOTIF)
    assert tim == h("45 61 0b 61 3c ff 35 36 37 38")
    assert msg.from_tim(tim, b"\x7b", msg.NON, 0x1234) == NOTIF
    raises(DecodeError, msg.from_tim, b"", b"")
    raises(DecodeError, msg.from_tim, h("45 f0"), b"\x01")


def test_code_helpers():
    assert msg.code_str(msg.SERVICE_UNAVAILABLE) == "5.03" and msg.code_str(msg.CONTENT) == "2.05"
    assert msg.is_request(msg.GET) and msg.is_response(msg.CONTENT) and not msg.is_request(0)
