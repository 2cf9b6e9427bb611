# Issue 15: the notification path as ratios to a calibration floor (tools/bench/floor.py: a bare
# zero-allocation parser, offsets only, Observe and Content-Format decoded in place; bytecode).
#   1. the 32-bit unix port (a board's object sizes), -X heapsize=192k, the firmware as .mpy: the board
#      build (x86 machine code for the @micropython.native/viper functions, as xtensawin/armv6m on the
#      boards) and the --bytecode build; timed in one process, interleaved with the floor
#      (tools/bench/mp_hot.py): median [min-max] over the rounds. Noisy on a shared machine; the
#      Cortex-M0 counts below are exact.
#   2. a Cortex-M0 under QEMU -icount (tools/bench/m0.py): instructions per datagram, the frozen
#      firmware compiled for armv6m (the RP2040's instruction set), the floor compiled on the M0.
#   3. the server's update -> multicast notification (CPython), against an encoding floor.
import os
import subprocess
import sys
import tempfile

from tools import mpy, runtimes
from tools.bench import m0, bench_m0
from tools.bench.run import HERE, ROOT, MICROPYTHON, kv, run_cpy
from tools.util import micropython_env

PATHS = [  # key, label, target
    ("board_decode", "board decode (msgcore.Msg.decode + Observe, CF)", "<= 1.2"),
    ("full_decode", "full coap.msg decode (+ token, payload views)", ""),
    ("hot_noview", "hot path -> callback, observe(view=False)", "<= 2.5"),
    ("hot", "hot path -> callback, payload view", "<= 2.5"),
    ("hot_pm", "hot path with PM rx (pattern 0)", ""),
    ("pm_rx", "PM rx alone (PMEndpoint.rx, one call)", ""),
    ("pm_tx", "PM tx alone (PMEndpoint.tx, one call)", ""),
]


def unix(bytecode, rounds=801):
    """mp_hot.py's key=value figures on the 32-bit unix port (the 64-bit one if it is not built)."""
    binary = runtimes.unix32_bin()
    board = "unix32" if binary else "unix"
    tmp = tempfile.mkdtemp(prefix="coapcast-hot-")
    dest, _ = mpy.build(tmp, board, bytecode=bytecode)
    p = subprocess.run([binary or MICROPYTHON, "-X", "heapsize=192k", os.path.join(HERE, "mp_hot.py"), str(rounds)],
                       capture_output=True, text=True, cwd=ROOT, env=micropython_env([ROOT], firmware=dest))
    if p.returncode:
        print(p.stdout[-2000:], p.stderr[-2000:])
    r = kv(p.stdout)
    r["port"] = "32-bit" if binary else "64-bit (the 32-bit port is not built)"
    return r


# The M0: bench_m0's stream (its SETUP: one group observation C0, C1 with PM; nxt() writes the next
# Message ID and Observe into a NON 2.05 with token T, Observe, Content-Format 60, CBOR "5678"; its cost
# is the base), plus the floor, a view=False observation and the decoders as mp_hot.py calls them.
M0_SETUP = bench_m0.SETUP + """
%(floor)s
CN = group()
CN.obs[0].view = False
CP = C1
MC = msgcore.Msg()
MF = msg.Msg()
PE = PMEndpoint("client", 0)

def board(m, d):
    m.decode(d)
    m.observe
    return m.cf

def full(m, d):
    m.decode(d)
    m.token()
    m.uint(6)
    m.uint(12)
    return m.payload()
"""
M0_OPS = {
    "floor": "nxt(TPL, OFF); parse(TPL)",
    "board_decode": "nxt(TPL, OFF); board(MC, TPL)",
    "full_decode": "nxt(TPL, OFF); full(MF, TPL)",
    "hot_noview": "nxt(TPL, OFF); CN.receive(TPL, SRV, 2, GRP)",
    "hot": "nxt(TPL, OFF); C0.receive(TPL, SRV, 2, GRP)",
    "hot_pm": "nxt(TPM, OFFP); CP.receive(TPM, SRV, 2, GRP)",
    "pm_rx": "nxt(TPL, OFF); PE.rx(GRP, 0x20, 2)",
    "pm_tx": "nxt(TPL, OFF); PE.tx(SRV, 2)",
}


def m0_counts(n=200):
    with open(os.path.join(HERE, "floor.py")) as f:
        floor_src = f.read()
    return m0.count(M0_SETUP % {"floor": floor_src}, M0_OPS, n, base="nxt(TPL, OFF)")


def import_heap(bytecode):
    """Heap after `import coapcast` (mp_client.py import) on the 32-bit port (64-bit if not built)."""
    binary = runtimes.unix32_bin()
    tmp = tempfile.mkdtemp(prefix="coapcast-heap-")
    dest, _ = mpy.build(tmp, "unix32" if binary else "unix", bytecode=bytecode)
    p = subprocess.run([binary or MICROPYTHON, "-X", "heapsize=192k", os.path.join(HERE, "mp_client.py"), "import"],
                       capture_output=True, text=True, cwd=ROOT, env=micropython_env([ROOT], firmware=dest))
    return kv(p.stdout).get("import_heap_bytes", "?")


def machine_code_bytes(board="rp2040"):
    """How much bigger the modules with emitter functions are as board .mpy than as bytecode: about the
    machine code a port without an exec heap (the RP2040) loads into its Python heap."""
    tmp = tempfile.mkdtemp(prefix="coapcast-mc-")
    nat, _ = mpy.build(tmp, board)
    byt, _ = mpy.build(os.path.join(tmp, "b"), board, bytecode=True)
    total = 0
    for name in ("msgcore", "client"):
        total += os.path.getsize(os.path.join(nat, "coap", name + ".mpy")) - \
            os.path.getsize(os.path.join(byt, "coap", name + ".mpy"))
    return total


def _ratio(r, key):
    med = r.get(key + "_ratio_med")
    if med is None:
        return "?"
    return "%s [%s-%s]" % (med, r.get(key + "_ratio_min", "?"), r.get(key + "_ratio_max", "?"))


def run():
    nat = unix(False)
    byt = unix(True)
    print("== notification path: ratios to the calibration floor (tools/bench/floor.py, bytecode)")
    print("  unix port %s, -X heapsize=192k, firmware .mpy; one process, interleaved: %s rounds of 32 datagrams,"
          % (nat.get("port"), nat.get("rounds", "?")))
    print("  the floor timed before and after each path; median [min-max] of the per-round ratios")
    print("  %-50s %-20s %-20s %s" % ("", "board build", "bytecode build", "target"))
    for key, label, target in PATHS:
        print("  %-50s %-20s %-20s %s" % (label, _ratio(nat, key), _ratio(byt, key), target))
    print("  %-50s %-20s %-20s %s" % ("heap bytes per datagram: hot, view=False", nat.get("hot_noview_alloc", "?"),
                                      byt.get("hot_noview_alloc", "?"), "0"))
    print("  %-50s %-20s %-20s %s" % ("  with the payload view", nat.get("hot_alloc", "?"), byt.get("hot_alloc", "?"),
                                      "the view (memoryview + its slice)"))
    print("  %-50s %-20s %-20s" % ("  (the floor: us per datagram, median)", nat.get("floor_us_med", "?"),
                                   byt.get("floor_us_med", "?")))
    print("  %-50s %-20s %-20s" % ("heap after `import coapcast` (bytes)", import_heap(False), import_heap(True)))
    print("  (board build: the machine code is outside the Python heap here and on an ESP32 (IRAM); an RP2040")
    print("   keeps its armv6m code, %d B more than the bytecode, in its heap: tools/mpy.py --bytecode to trade)"
          % machine_code_bytes())
    print()
    print("== the same on a Cortex-M0 (QEMU -icount shift=0: instructions per datagram, exact; armv6m board build)")
    try:
        res = m0_counts()
    except RuntimeError as e:
        print("  not measured: %s" % e)
        res = None
    if res:
        fl = res["floor"]["insns"]
        print("  %-50s %12s %8s %8s   %s" % ("", "instructions", "ratio", "heap B", "target"))
        print("  %-50s %12.0f %8.2f %8.1f" % ("the floor (bytecode, compiled on the M0)", fl, 1.0, res["floor"]["alloc"]))
        for key, label, target in PATHS:
            r = res.get(key)
            if r:
                print("  %-50s %12.0f %8.2f %8.1f   %s" % (label, r["insns"], r["insns"] / fl, r["alloc"], target))
    print()
    cp = run_cpy("cp_server_update.py")
    print("== server: resource update -> multicast notification queued (CPython; tools/bench/cp_server_update.py)")
    print("  %-50s %s   (encode once, send once)" % ("msg.encode calls / datagrams per update",
                                                   "%s / %s" % (cp.get("encodes_per_update", "?"),
                                                                cp.get("datagrams_per_update", "?"))))
    print("  %-50s %s" % ("ratio to the encoding floor (floor.encode), interleaved", _ratio(cp, "server_update")))


if __name__ == "__main__":
    sys.exit(run())
