# The µs clock of the benchmark bodies that run under MicroPython and CPython (mp_codec, mp_pm).
import time

try:
    ticks_us, ticks_diff = time.ticks_us, time.ticks_diff
except AttributeError:  # CPython
    def ticks_us():
        return int(time.perf_counter() * 1e6)

    def ticks_diff(a, b):
        return a - b

