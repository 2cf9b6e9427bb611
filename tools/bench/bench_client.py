# Board-client budgets (issue 3): heap after importing the client from .mpy, bytes per group
# observation, 8 group observations in a 96k heap, notification hot path (median us, allocations).
import os
import re
import subprocess

from tools import mpy
from tools.bench.run import HERE, ROOT, MICROPYTHON, figure_table, kv, run_cpy

# (mp_client.py mode, -X heapsize, the figures it prints: (label, key, target))
FIGURES = (
    ("import", "192k", (("heap after `import coapcast` (bytes)", "import_heap_bytes", "<= 40960 B"),
                        ("  qstrs the import interns (names, short strings)", "qstrs_added", ""),
                        ("  qstr pools before -> after (a new pool: a step)", "qstr_pools", ""))),
    ("obs", "192k", (("per group observation (bytes)", "per_group_observation_bytes", "<= 512 B"),
                     ("  all in one group (bytes)", "per_group_observation_shared_group_bytes", ""))),
    ("hold8", "96k", (("holds 8 group observations in -X heapsize=96k", "hold_ok", "= 1"),
                      ("  heap in use then (bytes)", "heap_used", ""))),
    ("hot", "192k", (("notification hot path, datagram -> callback: median us", "hot_median_us", "<= 15 us"),
                     ("  p90 us", "hot_p90_us", ""),
                     ("  heap bytes allocated per notification", "hot_alloc_bytes", "= payload view"),
                     ("  of which the payload memoryview (bytes)", "payload_view_bytes", ""))),
)


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
    rows = []
    for mode, heap, figs in FIGURES:
        f = _mp(d, mode, heap)
        rows += [(label, f.get(k, "?"), target) for label, k, target in figs]
    rows.append(("CPython: hot path median us", run_cpy("mp_client.py").get("hot_median_us", "?"), ""))
    print("== board client (unix port, from .mpy)")
    figure_table(rows)


if __name__ == "__main__":
    run()
