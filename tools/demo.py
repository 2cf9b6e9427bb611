"""make demo: the desktop server and N virtual boards on this machine, over loopback multicast.

  python tools/demo.py [--boards 3] [--duration 30] [--interval 2] [--heap 192k] [--pm 0|1|off]

Starts `python -m tools.server`, then N virtual boards (tools/vboard.py: the MicroPython unix port
on a pseudo-terminal), deploys the firmware to each through `make deploy BOARD=unix` (mpremote, the
same path as a real board), starts main.py on each, and lets the server update its group-observed
resource /r every --interval seconds. After --duration seconds (or Ctrl-C) it stops everything it
started and prints a summary: notifications sent once by the server vs received by each board,
feedback rounds, observer estimate, PM figures. Exit status 0 when every board received every
notification sent while it was registered.
"""
import argparse
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time

from tools.util import ROOT, free_port
PY = sys.executable
BIN = os.path.dirname(PY)
GROUP = "224.0.1.187"
T0 = time.time()
_print_lock = threading.Lock()


def say(who, line):
    with _print_lock:
        print("[%5.1fs] %-7s| %s" % (time.time() - T0, who, line), flush=True)


class Proc:
    """A child process in its own session, its output read line by line on a thread."""

    def __init__(self, name, cmd, on_line=None, show=True, **kw):
        self.name = name
        self.lines = []
        self.on_line = on_line
        self.show = show
        self.p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                  start_new_session=True, cwd=ROOT, **kw)
        self.t = threading.Thread(target=self._read, daemon=True)
        self.t.start()

    def _read(self):
        for line in self.p.stdout:
            line = line.rstrip("\r\n")
            if not line:
                continue
            self.lines.append(line)
            if self.on_line:
                line = self.on_line(line)
            if self.show and line:
                say(self.name, line)

    def stop(self, sig=signal.SIGTERM, wait=5):
        if self.p.poll() is None:
            try:
                os.killpg(self.p.pid, sig)
            except ProcessLookupError:
                pass
            try:
                self.p.wait(wait)
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(self.p.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                self.p.wait(2)
        self.t.join(2)


_TS = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+ (INFO|WARNING|ERROR|DEBUG) ")


def server_line(line):
    return _TS.sub(lambda m: "" if m.group(1) == "INFO" else m.group(1) + ": ", line)


_NOTIFY = re.compile(r"^notify (\S+) obs=(\d+) via=(\w+)")


def parse_board(lines):
    """(observe values delivered in order, via per value, status lines, ended lines)."""
    obs, via, status, ended = [], [], [], []
    for ln in lines:
        m = _NOTIFY.match(ln)
        if m:
            obs.append(int(m.group(2)))
            via.append(m.group(3))
        elif ln.startswith("status"):
            status.append(ln)
        elif ln.startswith("ended"):
            ended.append(ln)
    return obs, via, status, ended


def board_config(path, port, pm, keys=None):
    with open(path, "w") as f:
        f.write("# written by tools/demo.py for a virtual board\n")
        if keys:  # --oscore: the board's OSCORE and GROUP_OSCORE (python -m tools.oscore_keys)
            with open(keys) as k:
                f.write(k.read())
            f.write("OSCORE_SEQ_FILE = None\nOSCORE_STEPS = 8\n")
        f.write("OBSERVE = [%r]\n" % ("coap://127.0.0.1:%d/r" % port))
        f.write("JOIN_IFACE = '127.0.0.1'\nLEISURE_S = 1\nSTATUS_S = 10\n")
        if pm is not None:
            f.write("PM_PATTERN = %d\nTELEMETRY_URI = %r\nTELEMETRY_S = 2\n" % (pm, "coap://127.0.0.1:%d/telemetry" % port))
        else:
            f.write("PM_PATTERN = None\nTELEMETRY_S = 0\n")


def summary(server_json, boards):
    """Print the table; return True when every board got every notification sent while it listened."""
    sent = []
    groups = (server_json or {}).get("groups") or []
    g = next((x for x in groups if x.get("path") == "/r"), groups[0] if groups else None)
    if g:
        sent = [int(o) for o, _ in g.get("notifications", [])]
    ok = True
    print()
    print("== summary ==")
    if g:
        print("server: group observation of /r, T=%s -> %s: %d multicast notifications sent once; "
              "observer estimate %s; feedback rounds %s, confirmations %s" % (
                  g.get("token"), g.get("grp"), len(sent), g.get("count"), g.get("rounds"), g.get("confirmations")))
    else:
        print("server: no statistics (it did not write its stats file)")
        ok = False
    print("%-8s %9s %9s %9s %8s %8s  %s" % ("board", "baseline", "expected", "received", "missing", "extra", "last status"))
    for name, lines in boards:
        obs, via, status, ended = parse_board(lines)
        if not obs:
            print("%-8s %9s %9s %9s %8s %8s  %s" % (name, "-", "-", 0, "-", "-", "no notification"))
            ok = False
            continue
        base = obs[0]  # from last_notif in the informative response
        got = obs[1:]
        exp = [o for o in sent if o > base]
        missing = sorted(set(exp) - set(got))
        extra = len(got) - len(set(got) & set(exp))
        if missing or extra or got != sorted(got):
            ok = False
        st = status[-1] if status else ""
        m = re.search(r"feedback=(\d+)", st)
        print("%-8s %9d %9d %9d %8d %8d  %s" % (name, base, len(exp), len(got), len(missing), extra,
                                               ("feedback=%s" % m.group(1)) if m else ""))
        for ln in status[-1:]:
            pm = re.search(r"pm .*", ln)
            if pm:
                print("%-8s %s" % ("", pm.group(0)))
    pmj = (server_json or {}).get("pm")
    if pmj:
        for peer, d in sorted((pmj.get("peers") or {}).items()):
            loss = d.get("loss_pct")
            rtt = d.get("rtt_ms")
            print("server PM (pattern %s) %-22s tx=%-4s rx=%-4s loss=%s rtt=%s" % (
                pmj.get("pattern"), peer, d.get("tx", "-"), d.get("pkts", "-"),
                "-" if loss is None else "%.2f%%" % loss, "-" if rtt is None else "%dms" % rtt))
    sec = (server_json or {}).get("oscore")
    if sec:   # --oscore (draft §6-7): what the server verified/refused, what each board verified/rejected
        print("server OSCORE: %d requests verified, %d refused %s; %d responses protected; group mode: %s" % (
            sec["verified"], sec["rejected"], sec["rejected_by_reason"] or "", sec["protected"],
            " ".join("%s=%d" % kv for kv in sorted((sec.get("group_protected") or {}).items()))))
        for name, lines in boards:
            st = [ln for ln in lines if " oscore verified=" in ln]
            m = re.search(r"oscore verified=(\d+) rejected=(\d+) informative=(\d+)", st[-1]) if st else None
            print("%-8s OSCORE: %s" % (name, "notifications verified %s, rejected %s, informative responses "
                                             "verified %s" % m.groups() if m else "no status line"))
            if not m:
                ok = False
    print("result: %s" % ("every board received every notification sent while it was registered" if ok else "MISMATCH"))
    return ok


def _pm(s):
    if s not in ("0", "1", "off"):
        raise argparse.ArgumentTypeError("expected 0, 1 or off (make demo PM=0|1|off), got %r" % s)
    return None if s == "off" else int(s)


def _heap(s):
    if not re.match(r"^[1-9]\d*[kKmM]?$", s):
        raise argparse.ArgumentTypeError("expected a heap size like 192k, got %r" % s)
    return s


def main(argv=None):
    # every value (also make's BOARDS, DURATION, PM: string defaults go through the types) is checked
    # here, one line and exit 2 before anything starts (tools.cli)
    from tools import cli
    ap = cli.Parser(prog="tools/demo.py", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--boards", type=cli.number(1, 32, True, what="1..32 boards (make demo BOARDS=N)"),
                    default=os.getenv("BOARDS", "3"))
    ap.add_argument("--duration", type=cli.number(0, above=True, what="seconds > 0 (make demo DURATION=S)"),
                    default=os.getenv("DURATION", "30"))
    ap.add_argument("--interval", type=cli.number(0, above=True), default=2.0, help="server updates /r every S seconds")
    ap.add_argument("--heap", type=_heap, help="MicroPython heap per board (192k; 384k with --oscore: the virtual "
                                               "boards are the 64-bit unix port, whose objects are twice a board's)")
    ap.add_argument("--pm", type=_pm, default=os.getenv("PM", "0"), help="PM pattern 0 or 1, or off")
    ap.add_argument("--oscore", action="store_true", default=os.getenv("OSCORE", "0") not in ("", "0"),
                    help="protected group observations (draft §6-7): keys from python -m tools.oscore_keys, the "
                         "server with --oscore, each board with its OSCORE/GROUP_OSCORE (make demo OSCORE=1)")
    ap.add_argument("--workdir", default=os.path.join(ROOT, "build", "demo"))
    a = ap.parse_args(argv)
    pm = a.pm
    a.heap = a.heap or ("384k" if a.oscore else "192k")
    os.makedirs(a.workdir, exist_ok=True)
    port, gport = free_port(), free_port()
    stats_path = os.path.join(a.workdir, "server.json")
    if os.path.exists(stats_path):
        os.unlink(stats_path)

    procs = []
    boards = []
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        cmd = [PY, "-m", "tools.server", "--bind", "127.0.0.1", "--port", str(port), "--mc-if", "127.0.0.1",
               "--group", GROUP, "--group-port", str(gport), "--interval", "1", "--update", "/r=%g" % a.interval,
               "--wait", "4", "--m", "2", "--every", "3", "--status-every", "10", "--stats-json", stats_path]
        if pm is not None:
            cmd += ["--pm", str(pm)]
        keydir = None
        if a.oscore:
            keydir = os.path.join(a.workdir, "keys")
            k = subprocess.run([PY, "-m", "tools.oscore_keys", "--out", keydir, "--n", str(a.boards)], cwd=ROOT,
                               capture_output=True, text=True)
            if k.returncode:
                raise SystemExit("python -m tools.oscore_keys failed: %s" % (k.stderr or k.stdout))
            for f in os.listdir(keydir):
                if f.endswith(".seq"):
                    os.unlink(os.path.join(keydir, f))
            cmd += ["--oscore", os.path.join(keydir, "server.json")]
            say("demo", "OSCORE: %s" % k.stdout.strip())
        say("demo", "server on 127.0.0.1:%d, group %s:%d; %d virtual boards, %g s" % (port, GROUP, gport, a.boards, a.duration))
        server = Proc("server", cmd, on_line=server_line)
        procs.append(server)
        time.sleep(0.5)
        for i in range(1, a.boards + 1):
            name = "board%d" % i
            flash = os.path.join(a.workdir, name)
            vb = Proc(name, [PY, "-m", "tools.vboard", "--flash", flash, "--heap", a.heap], show=False)
            procs.append(vb)
            t = time.time()
            while not vb.lines and time.time() - t < 10:
                time.sleep(0.05)
            if not vb.lines:
                raise SystemExit("virtual board %s did not start" % name)
            dev = vb.lines[0].split()[1]
            cfg = os.path.join(a.workdir, name + "_config.py")
            board_config(cfg, port, pm, keydir and os.path.join(keydir, "c%d_config.py" % i))
            d = subprocess.run(["make", "-s", "--no-print-directory", "deploy", "BOARD=unix", "PORT=" + dev,
                                "CONFIG=" + cfg, "START=0"], cwd=ROOT, capture_output=True, text=True, timeout=120)
            if d.returncode:
                raise SystemExit("deploy to %s failed:\n%s%s" % (name, d.stdout, d.stderr))
            say(name, "%s (%s heap): %s" % (dev, a.heap, d.stdout.strip().splitlines()[-1]))
            run = Proc(name, [os.path.join(BIN, "mpremote"), "connect", dev, "resume", "exec", "import main"])
            procs.append(run)
            boards.append((name, run))
        end = time.time() + a.duration
        while time.time() < end and not stop.is_set():
            if server.p.poll() is not None:
                say("demo", "the server exited (%s)" % server.p.returncode)
                break
            time.sleep(0.2)
    except KeyboardInterrupt:
        say("demo", "interrupted")
    finally:
        # the server first: it cancels the group observation (multicast 5.03) and writes its stats
        for p in procs[:1]:
            p.stop(signal.SIGINT, wait=10)
        time.sleep(1.0)
        for p in reversed(procs[1:]):
            p.stop()
    sj = None
    try:
        with open(stats_path) as f:
            sj = json.load(f)
    except (OSError, ValueError):
        pass
    ok = summary(sj, [(n, p.lines) for n, p in boards])
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
