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


class Lcg:
    """A small seeded LCG with the same sequence on both runtimes: below(k) in 0..k-1 (the PM
    network simulations' loss and reordering draws)."""

    def __init__(self, seed):
        self.s = seed & 0x7FFFFFFF

    def below(self, k):
        self.s = (self.s * 1103515245 + 12345) & 0x7FFFFFFF
        return (self.s >> 8) % k


# the seeded xorshift32 of the simulations and benches (one definition; the repository root is on
# both runtimes' path: the editable install, MICROPYPATH in conftest)
from tools.rng import Rng  # noqa: E402,F401

