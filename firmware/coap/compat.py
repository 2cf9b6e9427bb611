# Shims so every firmware module imports unchanged under CPython and MicroPython. The CPython
# fallbacks live in coap.compat_cpython, so a board never loads them (RAM).
# The emitter decorators (@micropython.native, @micropython.viper) and viper's ptr8() cast cost a
# board nothing: its compiler reads them by name. On CPython, coap.compat_cpython makes those names
# builtins that leave the code as plain Python; the --bytecode build (tools/mpy.py) drops them.
try:
    import micropython  # (for the modules that import it from here)
    from micropython import const
    from time import ticks_ms, ticks_diff, ticks_add
except ImportError:  # CPython
    from coap.compat_cpython import const, ticks_ms, ticks_diff, ticks_add, micropython
