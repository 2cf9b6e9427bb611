# Issue 7, memory: a board at -X heapsize=64k (the MicroPython unix port) receives 10,000 multicast
# notifications with MRFD feedback polls: the heap after gc.collect at the end is within 1 KB of the
# start, no MemoryError. The board runs the firmware compiled with mpy-cross, as deployed (from
# source, the compiler alone does not fit a 64k heap).
#  - in-process: the sans-I/O client core fed the datagrams directly (fast, exact: 10,000);
#  - real sockets: the real server multicasting on loopback to a board (coapcast.Client and its
#    driver), heap sampled after gc.collect every 250 notifications.
import os

from tools import soak
from tools.soak import Server, run_board, figure, mpy_build, mem_core

N = 10000
BOARD_HEAP = os.environ.get("COAPCAST_MEM_HEAP", "64k")


def test_10000_notifications_with_feedback_polls_heap_flat_at_64k(tmp_path):
    f = mem_core(str(tmp_path), N, "64k")
    out = f.get("out") or f.get("error")
    assert "error" not in f, out
    assert f["memory_errors"] == 0 and "MemoryError" not in out, out
    assert f["delivered"] == 200 + N + 1 and f["duplicates"] == 0 and f["stale"] == 0, out   # all (+ the baseline)
    assert 0.08 * N < f["feedback"] < 0.2 * N and f["feedback_sent"] == f["feedback"], out  # Q=3: ~1/8 answered
    assert abs(f["drift"]) <= 1024, out
    figure("memory: core 10,000 notifications @64k", heap_start=f["heap_start"], heap_end=f["heap_end"],
           drift_bytes=f["drift"], peak=f["peak"], feedback_polls_answered=f["feedback"],
           memory_errors=f["memory_errors"], free_at_end=f["free_at_end"])


def test_real_sockets_multicast_notifications_heap_flat_at_64k(tmp_path):
    n = 4000 if soak.SOAK else 1500
    period = 0.002 if soak.SOAK else 0.003
    srv = Server(extra=["--update", "/r=%g" % period, "--interval", "0", "--wait", "1", "--m", "4"],
                 ack_timeout_ms=300, log_level="WARNING").start()
    try:
        b = run_board(str(tmp_path), srv.url("/r"), int(n * period * 1000) + 1500, quiet=True, heap=BOARD_HEAP,
                      path=mpy_build(str(tmp_path)), leisure_ms=100, heap_every=250)
    finally:
        srv.stop()
    out = b.out
    assert "MemoryError" not in out and "Traceback" not in out, out[-3000:]
    assert b.stats is not None and b.stats["delivered"] >= 0.8 * n, (b.stats, out[-2000:])
    assert b.stats["feedback"] >= 1, b.stats        # MRFD polls answered
    heaps = [a for t, k, a in b.heap[:-1]]            # sampled in the callback every 250 notifications
    final = b.heap[-1][2]                             # after the loop (another context: no live datagram)
    assert len(heaps) >= 4, out[-2000:]
    base = heaps[1]                                   # after warm-up
    drift = heaps[-1] - base
    assert abs(drift) <= 1024 and final - base <= 1024, (heaps, final)
    assert max(heaps[1:]) - base <= 1024, heaps       # no growth along the way either
    figure("memory: real UDP multicast @64k", delivered=b.stats["delivered"], feedback=b.stats["feedback"],
           heap=BOARD_HEAP, heap_start=base, heap_end=heaps[-1], drift_bytes=drift, samples=len(heaps),
           receive_buffer=b.stats["rxsize"], receive_drops=b.stats["errors"])
