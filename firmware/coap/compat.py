# Shims so every firmware module imports unchanged under CPython and MicroPython. The CPython
# fallbacks live in coap.compat_cpython, so a board never loads them (RAM).
# `micropython` is there for the emitter decorators: MicroPython's compiler reads
# `@micropython.native` by name (the board build compiles it to machine code, see tools/mpy.py);
# on CPython the stand-in's decorators return the function unchanged.
try:
    import micropython
    from micropython import const
    from time import ticks_ms, ticks_diff, ticks_add
except ImportError:  # CPython
    from coap.compat_cpython import const, ticks_ms, ticks_diff, ticks_add, micropython
