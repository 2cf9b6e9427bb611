# Shims so every firmware module imports unchanged under CPython and MicroPython. The CPython
# fallbacks live in coap.compat_cpython, so a board never loads them (RAM).
try:
    from micropython import const
    from time import ticks_ms, ticks_diff, ticks_add
except ImportError:  # CPython
    from coap.compat_cpython import const, ticks_ms, ticks_diff, ticks_add
