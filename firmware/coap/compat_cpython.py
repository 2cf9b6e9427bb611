# CPython stand-ins for MicroPython's const() and time.ticks_* (imported by coap.compat only).
import builtins
import time


def const(x):
    return x


def ticks_ms():
    return int(time.monotonic() * 1000)


def ticks_diff(a, b):
    return a - b


def ticks_add(a, b):
    return a + b


class _Emitters:
    """@micropython.native / @micropython.viper as no-ops: the code runs as plain Python."""

    @staticmethod
    def native(f):
        return f

    viper = native


def ptr8(buf):
    """viper's ptr8(buf) cast: plain Python indexes the buffer itself."""
    return buf


# the firmware's emitter names, as MicroPython's compiler knows them (see coap.compat)
micropython = builtins.micropython = _Emitters
builtins.ptr8 = ptr8
