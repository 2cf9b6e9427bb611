# Board-client budgets (issue 3): heap after importing the client from .mpy, bytes per group
# observation, 8 group observations in a 96k heap, notification hot path (median us, allocations).
import os
import re
import subprocess

from tools import mpy
from tools.bench.run import HERE, ROOT, MICROPYTHON, kv, run_cpy


def _mpy():
    out = os.path.join(ROOT, "build", "bench-mpy")
    dest, _ = mpy.build(out, "unix")
    return dest


def _mp(mpydir, mode, heap, binary=MICROPYTHON):
    """mp_client.py MODE under `binary` (bench_board32: the 32-bit port) from the .mpy folder mpydir."""
    env = dict(os.environ, MICROPYPATH=".frozen:%s:%s" % (mpydir, ROOT))   # ROOT: tools.rng
    p = subprocess.run([binary, "-X", "heapsize=" + heap, os.path.join(HERE, "mp_client.py"), mode],
                       capture_output=True, text=True, env=env, cwd=ROOT)
    if p.returncode:
        print(p.stdout, p.stderr)
    out = kv(p.stdout)
    # micropython.qstr_info() lines: "qstr pool: n_pool=P, n_qstr=Q, ..." (before and after an import)
    pools = re.findall(r"n_pool=(\d+), n_qstr=(\d+)", p.stdout)
    if len(pools) == 2:
        out["qstrs_added"] = str(int(pools[1][1]) - int(pools[0][1]))
        out["qstr_pools"] = "%s -> %s" % (pools[0][0], pools[1][0])
    return out


def run():
    d = _mpy()
    imp = _mp(d, "import", "192k")
    obs = _mp(d, "obs", "192k")
    hold = _mp(d, "hold8", "96k")
    hot = _mp(d, "hot", "192k")
    cp = run_cpy("mp_client.py")
    print("== board client (unix port, from .mpy)")
    print("  %-52s %10s   target" % ("", "figure"))
    print("  %-52s %10s   <= 40960 B" % ("heap after `import coapcast` (bytes)", imp.get("import_heap_bytes", "?")))
    print("  %-52s %10s" % ("  qstrs the import interns (names, short strings)", imp.get("qstrs_added", "?")))
    print("  %-52s %10s" % ("  qstr pools before -> after (a new pool: a step)", imp.get("qstr_pools", "?")))
    print("  %-52s %10s   <= 512 B" % ("per group observation (bytes)", obs.get("per_group_observation_bytes", "?")))
    print("  %-52s %10s" % ("  all in one group (bytes)", obs.get("per_group_observation_shared_group_bytes", "?")))
    print("  %-52s %10s   = 1" % ("holds 8 group observations in -X heapsize=96k", hold.get("hold_ok", "?")))
    print("  %-52s %10s" % ("  heap in use then (bytes)", hold.get("heap_used", "?")))
    print("  %-52s %10s   <= 15 us" % ("notification hot path, datagram -> callback: median us", hot.get("hot_median_us", "?")))
    print("  %-52s %10s" % ("  p90 us", hot.get("hot_p90_us", "?")))
    print("  %-52s %10s   = payload view" % ("  heap bytes allocated per notification", hot.get("hot_alloc_bytes", "?")))
    print("  %-52s %10s" % ("  of which the payload memoryview (bytes)", hot.get("payload_view_bytes", "?")))
    print("  %-52s %10s" % ("CPython: hot path median us", cp.get("hot_median_us", "?")))


if __name__ == "__main__":
    run()
