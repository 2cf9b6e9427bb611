# Tiny helpers for firmware tests that run under both CPython (pytest) and MicroPython (mprun).
import sys

MICROPYTHON = sys.implementation.name == "micropython"


class SkipTest(Exception):
    pass


def skip(why):
    if not MICROPYTHON:
        import pytest
        pytest.skip(why)
    raise SkipTest(why)


def raises(exc, fn, *args, **kw):
    """Call fn; assert it raises exc (exactly that class or a subclass); return the exception."""
    try:
        fn(*args, **kw)
    except exc as e:
        return e
    except Exception as e:  # wrong exception type: fail loudly with its name
        raise AssertionError("expected %s, got %s: %s" % (exc.__name__, type(e).__name__, e))
    raise AssertionError("expected %s, nothing raised" % exc.__name__)


def h(s):
    """Hex string (spaces allowed) -> bytes."""
    return bytes.fromhex(s.replace(" ", ""))


class Rng:
    """A seeded getrandbits source with the same sequence on both runtimes (xorshift32, k <= 32);
    random.seed is global on both, this keeps tests apart."""

    def __init__(self, seed):
        self.s = seed & 0xFFFFFFFF or 1

    def getrandbits(self, k):
        s = self.s
        s ^= (s << 13) & 0xFFFFFFFF
        s ^= s >> 17
        s ^= (s << 5) & 0xFFFFFFFF
        self.s = s
        return s >> (32 - k) if k < 32 else s
