"""Deterministic cost on a Cortex-M0: instructions per operation, counted under QEMU.

The firmware (coap.*) and host_tests/fw are frozen into the M0 image (tools/runtimes, make setup).
QEMU runs with `-icount shift=0` (one guest instruction per virtual nanosecond), so the nRF51 TIMER
behind time.ticks_cpu() (16 MHz) advances once per 62.5 instructions whatever the host's load: a
loop of n operations, minus the same loop around `base`, over n, is the count per operation.

    from tools.bench import m0
    r = m0.count(setup="from coap import msgcore\\nm = msgcore.Msg(8)\\nD = b'...'",
                 ops={"decode": "m.decode(D)"}, n=200)
    r["decode"]  # {"insns": 2466.2, "rp2040_us": 18.5, "alloc": 0.0}

  setup  code run once on the M0 (imports, data); the ops see its globals
  ops    {name: one statement}; it runs inside `for _i in range(n):` (use _i to index data)
  base   the statement whose loop is subtracted ("pass": the loop itself)
  n      repetitions (the tick is 62.5 instructions: n >= 100 gives < 1 instruction of rounding)
  insns  instructions per operation, garbage collections it causes included (amortised)
  alloc  heap bytes allocated per operation (a separate run of n with the GC off)
  rp2040_us  insns / 133 MHz: a lower bound for an RP2040 (Cortex-M0+ at 133 MHz): one cycle per
         instruction at best, and flash (XIP cache miss) stalls excluded
CLI: python -m tools.bench.m0 [-n N] [--setup CODE] [--base STMT] NAME=STATEMENT ...
"""
import argparse
import sys

from tools import runtimes as rt

RP2040_HZ = 133_000_000

_PROGRAM = '''
import gc
from time import ticks_cpu, ticks_diff
%(setup)s

def _loop_base(n):
    t0 = ticks_cpu()
    for _i in range(n):
        %(base)s
    return ticks_diff(ticks_cpu(), t0)
%(defs)s
def _alloc(f, n):
    gc.collect()
    gc.disable()
    a0 = gc.mem_alloc()
    f(n)
    a = gc.mem_alloc() - a0
    gc.enable()
    return a

def _measure(name, f, n):
    f(1)  # first use: caches, interned names
    _loop_base(1)
    a = _alloc(f, n) - _alloc(_loop_base, n)
    gc.collect()
    b = _loop_base(n)
    gc.collect()
    t = f(n)
    print("@@M0", name, t, b, n, a)

%(calls)s
print("@@M0END")
'''


def program(setup, ops, n, base="pass"):
    """The MicroPython program count() runs (exposed for reading and debugging)."""
    defs, calls = [], []
    for k, (name, stmt) in enumerate(ops.items()):
        if " " in name:
            raise ValueError("op names have no spaces: %r" % name)
        defs.append("\ndef _loop_%d(n):\n    t0 = ticks_cpu()\n    for _i in range(n):\n        %s\n"
                    "    return ticks_diff(ticks_cpu(), t0)\n" % (k, stmt))
        calls.append("_measure(%r, _loop_%d, %d)" % (name, k, n))
    return _PROGRAM % {"setup": setup, "base": base, "defs": "".join(defs), "calls": "\n".join(calls)}


def count(setup="", ops=None, n=200, base="pass", timeout=600):
    """Run ops on the M0 under -icount; {name: {"insns", "rp2040_us", "alloc"}} (see the module doc).
    Raises RuntimeError (why) when the M0 runtime is not there or the program fails."""
    why = rt.missing("m0")
    if why:
        raise RuntimeError(why)
    code = program(setup, ops or {}, n, base)
    with rt.M0(icount=True) as m:
        try:
            out, err = m.exec(code, timeout=timeout)
        except rt.M0Error as e:
            raise RuntimeError("the M0 run failed: %s" % e)
    if err or "@@M0END" not in out:
        raise RuntimeError("the M0 run failed:\n%s%s" % (out[-2000:], err[-2000:]))
    res = {}
    for line in out.splitlines():
        f = line.split()
        if len(f) == 6 and f[0] == "@@M0":
            t, b, nn, alloc = (int(x) for x in f[2:])
            insns = (t - b) * rt.INSNS_PER_CPU_TICK / nn
            res[f[1]] = {"insns": insns, "rp2040_us": insns / (RP2040_HZ / 1e6), "alloc": alloc / nn}
    return res


def main(argv=None):
    ap = argparse.ArgumentParser(description="instructions per operation on the Cortex-M0 (QEMU -icount)")
    ap.add_argument("-n", type=int, default=200)
    ap.add_argument("--setup", default="", help="code run once first (\\n for newlines)")
    ap.add_argument("--base", default="pass", help="the statement whose cost is subtracted")
    ap.add_argument("ops", nargs="+", metavar="NAME=STATEMENT")
    a = ap.parse_args(argv)
    ops = dict(op.split("=", 1) for op in a.ops)
    try:
        res = count(a.setup.replace("\\n", "\n"), ops, a.n, a.base)
    except RuntimeError as e:
        sys.exit("m0: %s" % e)
    print("%-24s %12s %12s %10s" % ("operation", "instructions", "RP2040 us>=", "heap B"))
    for name, r in res.items():
        print("%-24s %12.1f %12.2f %10.1f" % (name, r["insns"], r["rp2040_us"], r["alloc"]))


if __name__ == "__main__":
    main()
