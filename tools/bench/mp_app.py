# The board app (firmware/app.py, compiled as deployed) at a board's heap, for bench_board32.py: the
# unix glue (boards/unix/board.py) and a config.py from the bench (one group observation, PM,
# telemetry). The loop is App.run's, bounded: it stops after argv[1] notifications or argv[2] seconds.
# A MemoryError that escapes the app's loop (it would stop a board) is counted and the loop goes on.
# Prints key=value lines: notifications, memory_errors, heap after gc.collect (min/max over the status
# lines and at the end), the largest free block at the end, the client's counters.
import gc
import sys
import time

import micropython

import app

N = int(sys.argv[1])
LIMIT_MS = int(sys.argv[2]) * 1000
BLOCK = 4 * (4 if sys.maxsize < 2 ** 32 else 8)  # MICROPY_BYTES_PER_GC_BLOCK: 4 words
heap = []
errors = 0
a = app.App()
a.start()
t0 = last = time.ticks_ms()
while sum(a.count.values()) < N and time.ticks_diff(time.ticks_ms(), t0) < LIMIT_MS:
    try:
        a.client.run(500)
        a.step()
        if time.ticks_diff(time.ticks_ms(), last) >= app.STATUS_S * 1000:
            last = time.ticks_ms()
            a.status()  # (gc.collect() first)
            heap.append(gc.mem_alloc())
    except MemoryError as e:
        errors += 1
        print("MemoryError:", e)
gc.collect()
heap.append(gc.mem_alloc())
micropython.mem_info()  # "... max free sz: <blocks>" (parsed below by the bench; also printed here)
s = a.client.stats
print("notifications=%d" % sum(a.count.values()))
print("memory_errors=%d" % errors)
print("heap_min=%d" % min(heap))
print("heap_max=%d" % max(heap))
print("heap_end=%d" % heap[-1])
print("free_end=%d" % gc.mem_free())
print("block_bytes=%d" % BLOCK)
print("telemetry=%d/%d/%d" % tuple(a.tel))
print("dropped_internal=%d" % s.dropped["internal"])
print("driver_errors=%d" % a.client.errors)
print("rxsize=%d" % a.client.rxsize)
print("seconds=%d" % (time.ticks_diff(time.ticks_ms(), t0) // 1000))
