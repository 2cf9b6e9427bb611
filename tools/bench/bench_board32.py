# Board budgets on the 32-bit unix port (issue 11): a board's object and GC-block sizes and a hard
# heap limit (-X heapsize), the firmware compiled with mpy-cross as deployed (tools/mpy.py unix32).
#   the board app (firmware/app.py: one group observation, PM, telemetry) at 56k, the ESP32's starting
#   heap, for 10,000 multicast notifications from the real server over loopback: no MemoryError
#   the client figures of mp_client.py (import heap, bytes per group observation, 8 held at 112k)
#   the peak heap while the informative response is processed, the largest free block left
# The 64-bit figures (the PyPI unix port) are printed beside them for comparison.
import os
import re
import shutil
import subprocess
import sys
import tempfile

from tools import mpy, runtimes
from tools.bench.bench_client import _mp
from tools.bench.run import HERE, MICROPYTHON, ROOT, kv
from tools.util import free_port, micropython_env

N_APP = 10000
CONFIG = """OBSERVE = ["coap://127.0.0.1:%(port)d/r"]
JOIN_IFACE = "127.0.0.1"
PM_PATTERN = 0
TELEMETRY_URI = "coap://127.0.0.1:%(port)d/telemetry"
TELEMETRY_S = 1
STATUS_S = 2
LEISURE_S = 1
LED = False
"""


def _max_free(out, block):
    m = re.findall(r"max free sz: (\d+)", out)
    return int(m[-1]) * block if m else None


def compiled(board, tmp, *scripts):
    """The bench's own MicroPython scripts compiled like the firmware (tools/mpy.py) into tmp/<board>:
    a board compiles nothing at boot, and compiling at 56k would fragment the heap being measured."""
    src = os.path.join(tmp, "src")
    os.makedirs(src, exist_ok=True)
    for s in scripts:
        shutil.copy(os.path.join(HERE, s), src)
    return mpy.build(tmp, board, firmware=src)[0]


def app_run(binary, board, mpydir, heap="56k", n=N_APP, limit_s=120):
    """The board app against the server for n notifications; its key=value figures."""
    tmp = tempfile.mkdtemp(prefix="coapcast-board32-")
    port, gport = free_port(), free_port()
    with open(os.path.join(tmp, "config.py"), "w") as f:
        f.write(CONFIG % {"port": port})
    bench = compiled(board, tmp, "mp_app.py")
    srv = subprocess.Popen([sys.executable, "-m", "tools.server", "--bind", "127.0.0.1", "--port", str(port),
                            "--group", "224.0.1.187", "--group-port", str(gport), "--mc-if", "127.0.0.1",
                            "--pm", "0", "--interval", "0.002", "--update", "/r=0.002", "--status-every", "0",
                            "--duration", str(limit_s + 10), "--log-level", "WARNING"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT)
    try:
        env = micropython_env([os.path.join(ROOT, "boards", "unix"), tmp, bench], firmware=mpydir)
        p = subprocess.run([binary, "-X", "heapsize=" + heap, "-m", "mp_app", str(n), str(limit_s)],
                           capture_output=True, text=True, env=env, cwd=tmp, timeout=limit_s + 60)
    finally:
        srv.terminate()
        srv.wait()
        shutil.rmtree(tmp, ignore_errors=True)
    out = kv(p.stdout)
    if p.returncode or "notifications" not in out:
        out["error"] = (p.stdout + p.stderr)[-1500:]
    out["max_free_block"] = _max_free(p.stdout, int(out.get("block_bytes", 16)))
    return out


INFO = r"""
import gc, sys, micropython
from coap import client, msg, inforespenc, cborenc
from coap import options as o
from tools.rng import Rng
SRV = ("192.0.2.10", 5683)
T = b"\x7b"
PH = inforespenc.to_tim(msg.encode(msg.NON, msg.GET, 0, T, [(o.OBSERVE, 0), (o.URI_PATH, "r")]))
LAST = inforespenc.to_tim(msg.encode(msg.NON, msg.CONTENT, 0, T, [(o.OBSERVE, 10), (o.CONTENT_FORMAT, 60)],
                                     cborenc.dumps("1234")))
c = client.Client(rng=Rng(), log=lambda s: None)
ob = c.observe(SRV, [(o.URI_PATH, "r")], lambda *a: None, 0)
reg = msg.decode(c.take()[0][0])
c.receive(msg.empty(msg.ACK, reg.mid), SRV, 1)
pl = inforespenc.build(PH, LAST, T, bytes([192, 0, 2, 10]), 5683, bytes([233, 252, 0, 23]), None)
info = msg.encode(msg.CON, msg.SERVICE_UNAVAILABLE, 0x99, ob.token, [(o.CONTENT_FORMAT, o.CF_INFORMATIVE)], pl)
gc.collect()
before = gc.mem_alloc()
gc.disable()  # nothing is freed meanwhile: the heap in use afterwards is the peak (an upper bound)
c.receive(info, SRV, 2)
peak = gc.mem_alloc()
gc.enable()
gc.collect()
assert ob.state == client.GROUP, ob.state
print("info_before=%d" % before)
print("info_peak=%d" % peak)
print("info_after=%d" % gc.mem_alloc())
micropython.mem_info()
print("block_bytes=%d" % (16 if sys.maxsize < 2 ** 32 else 32))
"""


def info_peak(binary, mpydir, heap="56k"):
    """The heap while the client core processes the §4 informative response (GC off: the peak)."""
    tmp = tempfile.mkdtemp(prefix="coapcast-info-")
    try:
        script = os.path.join(tmp, "mp_info.py")
        with open(script, "w") as f:
            f.write(INFO)
        p = subprocess.run([binary, "-X", "heapsize=" + heap, script], capture_output=True, text=True,
                           env=micropython_env([ROOT], firmware=mpydir), cwd=ROOT, timeout=60)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    out = kv(p.stdout)
    if p.returncode:
        out["error"] = (p.stdout + p.stderr)[-1500:]
    out["max_free_block"] = _max_free(p.stdout, int(out.get("block_bytes", 16)))
    return out


def figures(binary, board, heap, big_heap, app_heaps):
    """Every figure of one runtime (binary) from the firmware compiled for `board` (a binary with the
    firmware frozen imports that instead: ".frozen" comes first on its path)."""
    d = mpy.build(os.path.join(ROOT, "build", "bench-mpy"), board)[0]
    f = {"import": _mp(d, "import", heap, binary), "obs": _mp(d, "obs", big_heap, binary),
         "hold8": _mp(d, "hold8", big_heap, binary), "info": info_peak(binary, d, heap)}
    for i, h in enumerate(app_heaps):  # the first: "app", the others "app<heap>"
        f["app" + (h if i else "")] = app_run(binary, board, d, h)
    return f



def _app(title):
    """The rows every board app run has: (label, figure, target)."""
    return [("board app at %s: notifications" % title, "notifications", ">= %d" % N_APP),
            ("  MemoryErrors out of the app's loop", "memory_errors", "= 0")]


ROWS = [  # (the run in figures(), its rows: (label, figure or "a..b", target))
    ("import", [("heap after `import coapcast` (bytes)", "import_heap_bytes", "<= 40960")]),
    ("obs", [("per group observation (bytes)", "per_group_observation_bytes", "<= 512"),
             ("  all in one group (bytes)", "per_group_observation_shared_group_bytes", "")]),
    ("hold8", [("holds 8 group observations at 112k (64-bit: 224k)", "hold_ok", "= 1"),
               ("  heap in use then (bytes)", "heap_used", "")]),
    ("info", [("informative response: heap before (bytes)", "info_before", ""),
              ("  peak while processed, GC off (bytes)", "info_peak", ""),
              ("  largest free block after (bytes)", "max_free_block", "")]),
    ("app", _app("56k (64-bit: 112k)") + [("  heap after gc.collect, min..max (bytes)", "heap_min..heap_max", ""),
                                          ("  largest free block at the end (bytes)", "max_free_block", ""),
                                          ("  telemetry sent/answered/failed", "telemetry", ""),
                                          ("  datagrams dropped (no heap for them)", "dropped_internal", "= 0")]),
    ("app112k", _app("112k (the ESP32's grown heap)")),
]


def _cell(f, k, n):
    r = f.get(k)
    if r is None:
        return "-"
    if r.get("error") and k.startswith("app") and n == "notifications":
        return "MemoryError" if "MemoryError" in r["error"] else "failed"
    if ".." in n:
        a, b = n.split("..")
        return "%s..%s" % (r.get(a, "?"), r.get(b, "?"))
    v = r.get(n)
    return "?" if v is None else v


def run():
    print("== board budgets: the 32-bit unix port at the boards' heaps (hard limits, as on a board)")
    b32 = runtimes.unix32_bin()
    if not b32:
        print("  not measured: %s" % runtimes.missing("unix32"))
        return
    failed = runtimes.refresh("unix32f")  # (cached: quick when the firmware did not change)
    if failed:
        print("  (the frozen build failed: %s)" % failed.strip().splitlines()[-1:])
    cols = [("32-bit .mpy", figures(b32, "unix32", "56k", "112k", ("56k", "112k")))]
    if runtimes.unix32f_bin():
        cols.append(("32-bit frozen", figures(runtimes.unix32f_bin(), "unix32", "56k", "112k", ("56k",))))
    cols.append(("64-bit .mpy", figures(MICROPYTHON, "unix", "112k", "224k", ("112k",))))
    print("  %-58s" % "" + "".join("%15s" % c for c, _ in cols) + "   target")
    for k, rows in ROWS:
        for label, n, target in rows:
            print("  %-58s" % label + "".join("%15s" % (_cell(f, k, n),) for _, f in cols) + "   " + target)
    for name, f in cols:
        for k, v in f.items():
            if v.get("error"):
                print("  (%s, %s: %s)" % (name, k, " ".join(v["error"].strip().splitlines()[-1:])))
    print("  .mpy: the firmware as make deploy installs it (bytecode loaded into the heap); frozen: a firmware build")
    print("  that freezes it (boards/<board>/manifest.py; bytecode in flash). 64-bit: the PyPI unix port at twice")
    print("  the heaps (its objects are twice the size). Informative response: the §4 one, GC off while processed.")


if __name__ == "__main__":
    run()
