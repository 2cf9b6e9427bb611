# CPython stand-ins for MicroPython's const() and time.ticks_* (imported by coap.compat only).
import time


def const(x):
    return x


def ticks_ms():
    return int(time.monotonic() * 1000)


def ticks_diff(a, b):
    return a - b


def ticks_add(a, b):
    return a + b


class micropython:
    """The emitter decorators as no-ops (the code runs as plain Python)."""

    @staticmethod
    def native(f):
        return f

    viper = native
