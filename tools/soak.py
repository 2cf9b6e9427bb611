"""Reliability harness (issue 7) and `make soak`.

  python tools/soak.py [--quick]      run the campaign, print the figures
  python tools/soak.py server [--ack-timeout MS] [--dedup-max N] -- <tools.server arguments>
  python tools/soak.py loadgen --port P [--rate 1000] [--duration 10] [--sockets 200]

Shared by host_tests/test_faults.py, test_memory.py, test_load.py (everything on 127.0.0.1):
- start_server(): the real desktop server (python -m tools.server) as a subprocess, optionally with a
  shorter CON ACK timeout (RFC 7252 §4.8 ACK_TIMEOUT, a transmission parameter) so retransmission
  under loss fits a CI-sized test, and a smaller exchange cache (dedup_max) so a short load run
  reaches its bound;
- BOARD: a board app for the MicroPython unix port (coapcast.Client, re-observes when an observation
  ends, prints one line per event);
- loadgen(): registrations at a fixed rate from many sockets, ACKing the informative responses;
- nft(): a named nftables table (loss, link drop), deleted afterwards.
The figures: each test appends {"name": ..., ...} JSON lines to $COAPCAST_FIGURES when set; the
campaign runs the fuzzers and those tests (COAPCAST_SOAK=1: long variants) and prints them.
"""
import json
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import time

from tools.util import ROOT, FIRMWARE, free_port, python_bin, micropython_bin

GROUP = "224.0.1.187"
SOAK = os.environ.get("COAPCAST_SOAK") == "1"


def figure(name, **kw):
    """Record a figure for `make soak` (no-op unless $COAPCAST_FIGURES is set)."""
    path = os.environ.get("COAPCAST_FIGURES")
    if path:
        kw["name"] = name
        with open(path, "a") as f:
            f.write(json.dumps(kw) + "\n")


def rss_kb(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return -1


# ------------------------------------------------------------------ the server
class Server:
    """python -m tools.server on 127.0.0.1:port, group GROUP:gport, as a subprocess (through
    `tools/soak.py server` for the transmission-parameter overrides). Output goes to a file."""

    def __init__(self, port=None, gport=None, extra=(), ack_timeout_ms=None, dedup_max=None, log_dir="/tmp",
                 log_level="INFO"):
        self.port = port or free_port()
        self.gport = gport or free_port()
        self.extra = list(extra)
        self.ack_timeout_ms = ack_timeout_ms
        self.dedup_max = dedup_max
        self.log_path = os.path.join(log_dir, "coapcast-server-%d-%d.log" % (os.getpid(), self.port))
        self.log_level = log_level
        self.p = None
        self.starts = 0

    def start(self, timeout=10):
        cmd = [python_bin(), "-m", "tools.soak", "server"]
        if self.ack_timeout_ms:
            cmd += ["--ack-timeout", str(self.ack_timeout_ms)]
        if self.dedup_max:
            cmd += ["--dedup-max", str(self.dedup_max)]
        cmd += ["--", "--bind", "127.0.0.1", "--port", str(self.port), "--group", GROUP,
                "--group-port", str(self.gport), "--mc-if", "127.0.0.1", "--status-every", "0",
                "--log-level", self.log_level] + self.extra
        self.log = open(self.log_path, "a")
        self.log.write("=== start %d\n" % self.starts)
        self.log.flush()
        self.p = subprocess.Popen(cmd, stdout=self.log, stderr=subprocess.STDOUT, cwd=ROOT)
        self.starts += 1
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if "listening on" in self.output().split("=== start %d" % (self.starts - 1))[-1]:
                return self
            if self.p.poll() is not None:
                break
            time.sleep(0.05)
        self.stop()
        raise RuntimeError("server did not start:\n" + self.output()[-3000:])

    def output(self):
        try:
            with open(self.log_path) as f:
                return f.read()
        except OSError:
            return ""

    def url(self, path, port=None):
        return "coap://127.0.0.1:%d%s" % (port or self.port, path)

    def stop(self, kill=False):
        """SIGTERM (clean: the §2.5 multicast cancellation goes out) or SIGKILL."""
        if self.p is None:
            return
        if self.p.poll() is None:
            self.p.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
        try:
            self.p.wait(10)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait(5)
        self.p = None
        self.log.close()

    @property
    def pid(self):
        return self.p.pid if self.p else None


def serve(argv):
    """`tools/soak.py server [--ack-timeout MS] [--dedup-max N] -- ARGS`: tools.server with overrides."""
    import argparse
    ap = argparse.ArgumentParser(prog="tools/soak.py server")
    ap.add_argument("--ack-timeout", type=int)
    ap.add_argument("--dedup-max", type=int)
    ap.add_argument("rest", nargs=argparse.REMAINDER)
    a = ap.parse_args(argv)
    rest = a.rest[1:] if a.rest[:1] == ["--"] else a.rest
    import tools.server.core as core
    import tools.server.__main__ as cli
    if a.ack_timeout:
        core.ACK_TIMEOUT = a.ack_timeout
    if a.dedup_max:
        base = cli.Config

        class Config(base):
            def __init__(self, *args, **kw):
                super().__init__(*args, **kw)
                self.dedup_max = a.dedup_max
        cli.Config = Config
    cli.main(rest)


# ------------------------------------------------------------------ the board
# A board app for the unix port. argv: uri duration_ms retry_ms quiet(0/1) [k=v client config...]
# Without nftables, mc_loss=P drops P% of the group datagrams on arrival and link_file=PATH drops every
# datagram while PATH exists (the board-side stand-ins for a lossy / cut link).
# Lines: "O t" observe sent, "N t v via" notification, "E t reason" ended, "H t alloc" heap after
# gc.collect (every 'heap_every' notifications when set), "S ..." final stats.
BOARD = r'''
import sys, gc
import coapcast
from coap.compat import ticks_ms, ticks_diff
uri = sys.argv[1]
dur = int(sys.argv[2])
retry_ms = int(sys.argv[3])
quiet = sys.argv[4] == "1"
cfg = {}
for kv in sys.argv[5:]:
    k, v = kv.split("=")
    try:
        cfg[k] = int(v)
    except ValueError:
        cfg[k] = v
heap_every = cfg.pop("heap_every", 0)
mc_loss = cfg.pop("mc_loss", 0)      # % of group datagrams dropped on arrival (no nftables: tests)
link_file = cfg.pop("link_file", "") # while this file exists, every datagram in is dropped (link down)
t0 = ticks_ms()
def now():
    return ticks_diff(ticks_ms(), t0)
c = coapcast.Client("127.0.0.1", 0, iface="127.0.0.1", log=lambda s: print("L", now(), s), **cfg)
lost = [0, 12345]
if mc_loss or link_file:
    import os
    core_recv = c.core.receive
    def impaired(data, src, t, grp=None):
        if link_file:
            try:
                os.stat(link_file)
                lost[0] += 1
                return
            except OSError:
                pass
        if grp is not None and mc_loss:
            s = lost[1]
            s ^= (s << 13) & 0xFFFFFFFF
            s ^= s >> 17
            s ^= (s << 5) & 0xFFFFFFFF
            lost[1] = s
            if s % 100 < mc_loss:
                lost[0] += 1
                return
        core_recv(data, src, t, grp)
    c.core.receive = impaired
st = {"retry": None, "n": 0, "obs": None}
def cb(p, cf, v, via):
    st["n"] += 1
    if not quiet:
        print("N", now(), v, via)
    if heap_every and st["n"] % heap_every == 0:
        gc.collect()
        print("H", now(), st["n"], gc.mem_alloc())
def end(o, why):
    print("E", now(), why)
    st["retry"] = ticks_ms()
def observe():
    st["retry"] = None
    try:
        st["obs"] = c.observe(uri, cb, end)
        print("O", now())
    except OSError as e:
        print("E", now(), "observe failed", e)
        st["retry"] = ticks_ms()
observe()
while now() < dur:
    c.service(20)
    r = st["retry"]
    if r is not None and ticks_diff(ticks_ms(), r) >= retry_ms:
        observe()
gc.collect()
s = c.stats
print("H", now(), st["n"], gc.mem_alloc())
print("S", s.received, s.delivered, s.duplicates, s.reordered, s.feedback, s.dropped["source"], s.dropped["token"],
      s.dropped["stale"], s.dropped["malformed"], c.driver.errors, lost[0], getattr(c.driver, "rxsize", 1280))
'''


def board_script(tmpdir):
    p = os.path.join(tmpdir, "soak_board.py")
    if not os.path.exists(p):
        with open(p, "w") as f:
            f.write(BOARD)
    return p


def mpy_build(tmpdir):
    """The firmware compiled with mpy-cross (tools/mpy.py, unix): what a board imports. A tight heap
    (64k) cannot compile coap.client from source (the compiler needs the RAM), a board never does."""
    from tools import mpy
    dest, n = mpy.build(os.path.join(tmpdir, "mpy"), "unix")
    return dest


def start_board(tmpdir, uri, duration_ms, retry_ms=300, quiet=False, heap="192k", path=None, **cfg):
    """A board process; path: its MICROPYPATH firmware folder (firmware/ sources by default, or mpy_build())."""
    env = dict(os.environ, MICROPYPATH=".frozen:" + (path or FIRMWARE))
    args = [micropython_bin(), "-X", "heapsize=" + heap, board_script(tmpdir), uri, str(duration_ms), str(retry_ms),
            "1" if quiet else "0"] + ["%s=%s" % kv for kv in sorted(cfg.items())]
    return subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=ROOT, env=env)


class BoardLog:
    """Parsed board output."""

    def __init__(self, out):
        self.out = out
        self.notifs = []     # (t, v, via)
        self.ends = []       # (t, reason)
        self.observes = []   # t
        self.heap = []       # (t, n, alloc)
        self.stats = None
        for line in out.splitlines():
            f = line.split()
            if not f:
                continue
            try:
                if f[0] == "N":
                    self.notifs.append((int(f[1]), int(f[2]), int(f[3])))
                elif f[0] == "E":
                    self.ends.append((int(f[1]), " ".join(f[2:])))
                elif f[0] == "O":
                    self.observes.append(int(f[1]))
                elif f[0] == "H":
                    self.heap.append((int(f[1]), int(f[2]), int(f[3])))
                elif f[0] == "S":
                    k = ("received", "delivered", "duplicates", "reordered", "feedback", "source", "token",
                         "stale", "malformed", "errors", "impaired", "rxsize")
                    self.stats = dict(zip(k, (int(x) for x in f[1:])))
            except (ValueError, IndexError):
                pass

    def values(self):
        return [v for t, v, via in self.notifs]


def run_board(tmpdir, uri, duration_ms, timeout=None, **kw):
    p = start_board(tmpdir, uri, duration_ms, **kw)
    out, _ = p.communicate(timeout=timeout or duration_ms / 1000 + 30)
    return BoardLog(out)


# ------------------------------------------------------------------ memory (the core at a tight heap)
MEM_CORE = r'''
import gc, sys
from coap import client, msg
from coap import options as o
N = int(sys.argv[1])
INFO = bytes.fromhex(sys.argv[2])
TPL = bytearray(bytes.fromhex(sys.argv[3]))   # NON 2.05, T, Observe (3 bytes), CF, MRFD, payload
OBS = int(sys.argv[4])                         # offset of the 3 Observe value bytes
SRV = ("192.0.2.10", 5683)
GRP = ("233.252.0.23", 5683)

class Rng:
    def __init__(self):
        self.s = 12345
    def getrandbits(self, k):
        s = self.s
        s ^= (s << 13) & 0xFFFFFFFF
        s ^= s >> 17
        s ^= (s << 5) & 0xFFFFFFFF
        self.s = s
        return s >> (32 - k) if k < 32 else s

n = [0]
def cb(payload, cf, v, via):
    n[0] += 1
c = client.Client(rng=Rng(), leisure_ms=50, log=lambda s: None)
ob = c.observe(SRV, [(11, "r")], cb, 0)
reg = msg.Msg()
reg.decode(c.take()[0][0])
c.receive(msg.empty(2, reg.mid), SRV, 1)
info = bytearray(INFO)
info[4:4 + len(ob.token)] = ob.token          # the registration's token
c.receive(bytes(info), SRV, 2)
c.take()
assert ob.state == client.GROUP, ob.state
now = 10
fb = 0

def feed(k):
    global now, fb
    v = 11 + k
    TPL[2] = (v >> 8) & 0xFF               # MID
    TPL[3] = v & 0xFF
    TPL[OBS] = (v >> 16) & 0xFF
    TPL[OBS + 1] = (v >> 8) & 0xFF
    TPL[OBS + 2] = v & 0xFF
    now += 10
    c.receive(TPL, SRV, now, GRP)
    c.tick(now)
    fb += len(c.take())

for k in range(200):                        # warm-up: caches, dedup ring, interned objects
    feed(k)
gc.collect()
start = gc.mem_alloc()
peak = 0
err = 0
try:
    for k in range(200, 200 + N):
        feed(k)
        if k % 1000 == 0:
            a = gc.mem_alloc()
            if a > peak:
                peak = a
except MemoryError:
    err = 1
gc.collect()
end = gc.mem_alloc()
s = c.stats
print("MEM", start, end, end - start, peak, err, n[0], s.feedback, fb, s.duplicates, s.dropped["stale"], gc.mem_free())
'''


def mem_core(tmpdir, n=10000, heap="64k"):
    """Feed n multicast notifications (MRFD Q=3 polls, feedback sent) into the client core at
    -X heapsize=heap, from the mpy build. Returns the figures (heap before/after gc.collect, ...)."""
    from coap import msg, inforespenc, cborenc
    from coap import options as o
    T = b"\x7b"
    tpl = msg.encode(msg.NON, msg.CONTENT, 0, T, [(o.OBSERVE, 0x10000), (o.CONTENT_FORMAT, 60), (o.MRFD, 3)],
                     cborenc.dumps("5678"))
    off = tpl.index(bytes([0x63, 0x01, 0x00, 0x00])) + 1   # Observe: delta 6, length 3
    ph = inforespenc.to_tim(msg.encode(msg.NON, msg.GET, 0, T, [(o.OBSERVE, 0), (o.URI_PATH, "r")]))
    last = inforespenc.to_tim(msg.encode(msg.NON, msg.CONTENT, 0, T, [(o.OBSERVE, 10), (o.CONTENT_FORMAT, 60)],
                                         cborenc.dumps("1234")))
    pl = inforespenc.build(ph, last, T, bytes([192, 0, 2, 10]), 5683, bytes([233, 252, 0, 23]), None)
    info = msg.encode(msg.CON, msg.SERVICE_UNAVAILABLE, 0x99, b"\0\0\0\0", [(o.CONTENT_FORMAT, o.CF_INFORMATIVE)], pl)
    script = os.path.join(tmpdir, "mp_mem_core.py")
    with open(script, "w") as f:
        f.write(MEM_CORE)
    env = dict(os.environ, MICROPYPATH=".frozen:" + mpy_build(tmpdir))
    r = subprocess.run([micropython_bin(), "-X", "heapsize=" + heap, script, str(n), info.hex(), tpl.hex(), str(off)],
                       capture_output=True, text=True, timeout=300, env=env, cwd=tmpdir)
    out = r.stdout + r.stderr
    line = [ln for ln in out.splitlines() if ln.startswith("MEM ")]
    if not line:
        return {"error": out[-3000:]}
    keys = ("heap_start", "heap_end", "drift", "peak", "memory_errors", "delivered", "feedback", "feedback_sent",
            "duplicates", "stale", "free_at_end")
    fig = dict(zip(keys, (int(x) for x in line[0].split()[1:])))
    fig["out"] = out
    return fig


# ------------------------------------------------------------------ nftables
def have_nft():
    return os.geteuid() == 0 and shutil.which("nft") is not None


class Nft:
    """A private nftables table on the output hook (loopback traffic passes it once)."""

    def __init__(self, tag):
        self.table = "coapcast_%s_%d" % (tag, os.getpid())
        self._nft("add", "table", "inet", self.table)
        self._nft("add", "chain", "inet", self.table, "out", "{ type filter hook output priority 0 ; }")

    @staticmethod
    def _nft(*args):
        r = subprocess.run(["nft"] + list(args), capture_output=True, text=True)
        if r.returncode:
            raise RuntimeError("nft %s: %s" % (" ".join(args), r.stderr.strip()))
        return r.stdout

    def rule(self, text):
        """e.g. 'udp dport 5683 numgen random mod 100 < 20 counter drop'"""
        self._nft(*(["add", "rule", "inet", self.table, "out"] + text.split()))

    def flush(self):
        self._nft("flush", "chain", "inet", self.table, "out")

    def counters(self):
        """[(rule text, packets)] of the rules with a counter."""
        out = []
        for line in self._nft("list", "chain", "inet", self.table, "out").splitlines():
            if "counter packets" in line:
                f = line.split()
                out.append((line.strip(), int(f[f.index("packets") + 1])))
        return out

    def delete(self):
        subprocess.run(["nft", "delete", "table", "inet", self.table], capture_output=True)


# ------------------------------------------------------------------ load
def loadgen(port, rate=1000, duration=10.0, sockets=200, path="r", probe_every=0.25):
    """Registrations (CON GET Observe 0) at `rate`/s round-robin over `sockets` sockets for
    `duration` s; ACKs every CON informative response; a probe GET /time every probe_every s.
    Returns the figures (sent, acks, informative, rst, probe replies and worst latency)."""
    from coap import msg
    from coap import options as o
    socks = []
    for _ in range(sockets):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 18)
        s.bind(("127.0.0.1", 0))
        s.setblocking(False)
        socks.append(s)
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    probe.bind(("127.0.0.1", 0))
    probe.setblocking(False)
    ep = select.epoll()
    fds = {s.fileno(): s for s in socks + [probe]}
    for fd in fds:
        ep.register(fd, select.EPOLLIN)
    dst = ("127.0.0.1", port)
    fig = {"sent": 0, "empty_acks": 0, "informative": 0, "other": 0, "probes": 0, "probe_replies": 0,
           "probe_worst_ms": 0.0, "acked": 0}
    probe_out = {}
    mid = 0
    k = 0
    t0 = time.monotonic()
    next_probe = t0
    end = t0 + duration
    opts = [(o.OBSERVE, 0), (o.URI_PATH, path)]
    while True:
        now = time.monotonic()
        if now >= end + 1.0:
            break
        if now < end:
            due = int((now - t0) * rate)
            while fig["sent"] < due:
                mid = (mid + 1) & 0xFFFF
                s = socks[k % sockets]
                k += 1
                try:
                    s.sendto(msg.encode(msg.CON, msg.GET, mid, (k & 0xFFFFFFFF).to_bytes(4, "big"), opts), dst)
                except BlockingIOError:
                    pass
                fig["sent"] += 1
            if now >= next_probe:
                next_probe += probe_every
                pm = 0x8000 + fig["probes"]
                probe.sendto(msg.encode(msg.CON, msg.GET, pm, b"\x01", [(o.URI_PATH, "time")]), dst)
                probe_out[pm] = now
                fig["probes"] += 1
        for fd, _ in ep.poll(0.002):
            s = fds[fd]
            while True:
                try:
                    data, src = s.recvfrom(2048)
                except (BlockingIOError, InterruptedError):
                    break
                try:
                    m = msg.decode(data)
                except msg.DecodeError:
                    fig["other"] += 1
                    continue
                if s is probe:
                    t = probe_out.pop(m.mid, None)
                    if t is not None and m.code == msg.CONTENT:
                        fig["probe_replies"] += 1
                        fig["probe_worst_ms"] = max(fig["probe_worst_ms"], (time.monotonic() - t) * 1000)
                    continue
                if m.type == msg.ACK and m.code == 0:
                    fig["empty_acks"] += 1
                elif m.code == msg.SERVICE_UNAVAILABLE and m.uint(o.CONTENT_FORMAT) == o.CF_INFORMATIVE:
                    fig["informative"] += 1
                    if m.type == msg.CON:
                        s.sendto(msg.empty(msg.ACK, m.mid), src)
                        fig["acked"] += 1
                else:
                    fig["other"] += 1
    for s in socks + [probe]:
        s.close()
    ep.close()
    fig["seconds"] = round(time.monotonic() - t0 - 1.0, 2)
    fig["rate"] = round(fig["sent"] / max(duration, 1e-9))
    fig["probe_worst_ms"] = round(fig["probe_worst_ms"], 1)
    return fig


# ------------------------------------------------------------------ the campaign
def _junit(path):
    """{test file stem: [passed, total]} from a pytest JUnit XML report."""
    import xml.etree.ElementTree as ET
    out = {}
    try:
        root = ET.parse(path).getroot()
    except (OSError, ET.ParseError):
        return out
    for tc in root.iter("testcase"):
        stem = tc.get("classname", "").split(".")[-1]
        if any(ch.tag in ("skipped",) for ch in tc):
            continue
        ok = not any(ch.tag in ("failure", "error") for ch in tc)
        rec = out.setdefault(stem, [0, 0])
        rec[0] += ok
        rec[1] += 1
    return out


def campaign(quick=False, n=None):
    """make soak: the fuzzers (n inputs per target), then the issue-7 tests with figures."""
    import tempfile
    n = n or (20000 if quick else 100000)
    print("== fuzzing: %d inputs per target (python -m tools.fuzz)" % n, flush=True)
    from tools.fuzz.__main__ import fuzz, quiet_server_log
    quiet_server_log()
    from tools.fuzz import targets
    res = fuzz(targets.NAMES, n, crash_dir=os.path.join(ROOT, "build", "fuzz", "crashes"))
    crashes = sum(r["crashes"] for r in res)
    tmp = tempfile.mkdtemp(prefix="coapcast-soak-")
    figs = os.path.join(tmp, "figures.jsonl")
    junit = os.path.join(tmp, "junit.xml")
    env = dict(os.environ, COAPCAST_FIGURES=figs, COAPCAST_SOAK="0" if quick else "1")
    tests = ["host_tests/test_faults.py", "host_tests/test_memory.py", "host_tests/test_load.py",
             "host_tests/fw/test_spoofing.py", "host_tests/test_spoofing_udp.py", "host_tests/fw/test_fuzz_replay.py",
             "host_tests/fw/test_reregister.py"]
    tests = [t for t in tests if os.path.exists(os.path.join(ROOT, t))]
    print("== faults, memory, load, spoofing (%s)" % ("quick" if quick else "long variants"), flush=True)
    r = subprocess.run([python_bin(), "-m", "pytest", "-q", "-p", "no:cacheprovider", "--junitxml", junit] + tests,
                       cwd=ROOT, env=env, capture_output=True, text=True)
    tail = [ln for ln in r.stdout.splitlines() if ln.strip()][-1:] or ["?"]
    rows = []
    if os.path.exists(figs):
        with open(figs) as f:
            rows = [json.loads(ln) for ln in f if ln.strip()]
    res_by = _junit(junit)
    shutil.rmtree(tmp, ignore_errors=True)
    print()
    print("== coapcast soak figures")
    for x in res:
        print("fuzz   %-9s %7d inputs  %6d accepted  %d crashes (%d unique)  %.1f s" % (
            x["target"], x["inputs"], x["valid"], x["crashes"], len(x["unique"]), x["seconds"]))
    for row in rows:
        name = row.pop("name")
        print("%-40s %s" % (name, "  ".join("%s=%s" % kv for kv in sorted(row.items()))))
    print()

    def pt(*stems):
        p = sum(res_by.get(st, [0, 0])[0] for st in stems)
        t = sum(res_by.get(st, [0, 0])[1] for st in stems)
        return "%d/%d" % (p, t)
    mem = [x for x in rows if "drift_bytes" in x]
    print("summary: fuzzed %d inputs over %d targets, %d crashes" % (sum(x["inputs"] for x in res), len(res), crashes))
    print("summary: faults survived %s (loss, restart, kill -9, duplicates/reordering, link drops)"
          % pt("test_faults"))
    print("summary: heap drift %s bytes (limit 1024)" % ", ".join(str(x["drift_bytes"]) for x in mem))
    print("summary: load held %s, spoofing dropped %s, corpus replay %s"
          % (pt("test_load"), pt("test_spoofing", "test_spoofing_udp"), pt("test_fuzz_replay")))
    print("tests  %s" % tail[0])
    ok = crashes == 0 and r.returncode == 0
    if r.returncode:
        print(r.stdout[-6000:])
    print("soak: %s" % ("PASS" if ok else "FAIL"))
    return 0 if ok else 1


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["server"]:
        return serve(argv[1:])
    if argv[:1] == ["loadgen"]:
        import argparse
        ap = argparse.ArgumentParser(prog="tools/soak.py loadgen")
        ap.add_argument("--port", type=int, required=True)
        ap.add_argument("--rate", type=float, default=1000)
        ap.add_argument("--duration", type=float, default=10)
        ap.add_argument("--sockets", type=int, default=200)
        a = ap.parse_args(argv[1:])
        print(json.dumps(loadgen(a.port, a.rate, a.duration, a.sockets)))
        return 0
    import argparse
    ap = argparse.ArgumentParser(prog="tools/soak.py", description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="short variants (as CI)")
    ap.add_argument("--n", type=int, help="fuzz inputs per target (100000; --quick 20000)")
    a = ap.parse_args(argv)
    return campaign(a.quick, a.n)


if __name__ == "__main__":
    sys.exit(main() or 0)
