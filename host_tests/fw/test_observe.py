# RFC 7641 §3.4 notification reordering: 24-bit serial arithmetic and the 128-second rule.
from coap.client import fresher  # (in the client core: one module less on the board)


def test_newer_values_are_fresh():
    assert fresher(10, 0, 11, 1)
    assert fresher(0, 0, (1 << 23) - 1, 1)       # V2 - V1 < 2**23
    assert not fresher(0, 0, 1 << 23, 1)         # exactly 2**23 apart: not fresh


def test_older_and_equal_values_are_stale():
    assert not fresher(11, 0, 10, 1)
    assert not fresher(10, 0, 10, 1)
    assert not fresher(5000, 0, 4000, 127999)


def test_wraparound_of_the_24_bit_serial():
    assert fresher(0xFFFFFF, 0, 0, 1)            # V1 > V2 and V1 - V2 > 2**23
    assert fresher(0xFFFFF0, 0, 3, 1)
    assert not fresher(3, 0, 0xFFFFF0, 1)


def test_128_second_rule():
    assert not fresher(20, 1000, 10, 1000 + 128000)   # T2 = T1 + 128 s: not yet
    assert fresher(20, 1000, 10, 1000 + 128001)       # T2 > T1 + 128 s
    assert fresher(20, 1000, 20, 1000 + 200000)
