"""make demo: the desktop server and N virtual boards on this machine, over loopback multicast.

  python tools/demo.py [--boards 3] [--duration 30] [--interval 0.5] [--heap 192k] [--pm 0|1|off]
                       [--loss PCT] [--delay MS]

Starts `python -m tools.server`, tools/relay.py in front of it (the boards register and post their
telemetry through it: it adds --delay ms each way, drops --loss % each way, and reads the PM option
of every datagram as an on-path probe), then N virtual boards (tools/vboard.py: the MicroPython unix
port on a pseudo-terminal), deploys the firmware to each through `make deploy BOARD=unix` (mpremote,
the same path as a real board), starts main.py on each, and lets the server update its group-observed
resource /r every --interval seconds. With --loss, nftables (when usable) also drops that share of
the multicast notifications. After --duration seconds (or Ctrl-C) it stops everything it started and
prints a summary: notifications sent once by the server vs received by each board, feedback rounds,
observer estimate, PM figures per flow next to the truth (tools/demo_report.py), and writes
build/demo/report.png. Exit status 0 when every board received every notification sent while it was
registered (with --loss: every notification it was not denied by the injected loss).
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

from coap.pm import N_GROUP   # the group flow's PM block length (server and boards use the default)
from tools.demo_report import Record, server_series, board_series, group_truth, plot
from tools.util import ROOT, free_port
PY = sys.executable
BIN = os.path.dirname(PY)
GROUP = "224.0.1.187"
T0 = time.time()
_print_lock = threading.Lock()
REC = Record()   # every line of every process, with its arrival time (the report's series)


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
            REC.add(time.time() - T0, self.name, line)
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


def board_config(path, port, pm, keys=None, status_s=2):
    with open(path, "w") as f:
        f.write("# written by tools/demo.py for a virtual board\n")
        if keys:  # --oscore: the board's OSCORE and GROUP_OSCORE (python -m tools.oscore_keys)
            with open(keys) as k:
                f.write(k.read())
            f.write("OSCORE_SEQ_FILE = None\nOSCORE_STEPS = 8\n")
        f.write("OBSERVE = [%r]\n" % ("coap://127.0.0.1:%d/r" % port))
        f.write("JOIN_IFACE = '127.0.0.1'\nLEISURE_S = 1\nSTATUS_S = %d\n" % status_s)
        if pm is not None:
            f.write("PM_PATTERN = %d\nTELEMETRY_URI = %r\nTELEMETRY_S = 1\n" % (pm, "coap://127.0.0.1:%d/telemetry" % port))
        else:
            f.write("PM_PATTERN = None\nTELEMETRY_S = 0\n")


def summary(server_json, boards, lossy=False):
    """Print the table; return True when every board got every notification sent while it listened
    (lossy: multicast loss was injected, a missing notification is what it took)."""
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
        if (missing and not lossy) or extra or got != sorted(got):
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
    print("result: %s" % (("every board received every notification sent while it was registered" if not lossy else
                            "no board received a notification twice or out of order (missing ones: the injected "
                            "loss)") if ok else "MISMATCH"))
    return ok


class _McLoss:
    """nftables drops loss % of the datagrams to the group port: a private table on the input hook
    (a drop on the output hook would fail the server's sendto), deleted afterwards."""

    def __init__(self, loss, gport):
        self.table = "coapcast_demo_%d" % os.getpid()
        for args in (["add", "table", "ip", self.table],
                     ["add", "chain", "ip", self.table, "in", "{ type filter hook input priority 0 ; }"],
                     ["add", "rule", "ip", self.table, "in", "ip", "daddr", GROUP, "udp", "dport", str(gport),
                      "numgen", "random", "mod", "100", "<", str(int(round(loss))), "counter", "drop"]):
            r = subprocess.run(["nft"] + args, capture_output=True, text=True)
            if r.returncode:
                self.delete()
                raise RuntimeError(r.stderr.strip() or "nft failed")

    def delete(self):
        subprocess.run(["nft", "delete", "table", "ip", self.table], capture_output=True)


def multicast_loss(loss, gport):
    """The multicast loss injector (_McLoss), or None when nftables is not usable here (said)."""
    from tools.soak.nft import have_nft
    if not have_nft():
        say("demo", "nftables not usable here (needs root and nft): multicast loss not injected")
        return None
    try:
        n = _McLoss(loss, gport)
    except RuntimeError as e:
        say("demo", "nftables: %s: multicast loss not injected" % e)
        return None
    say("demo", "nftables drops %d %% of the multicast notifications" % round(loss))
    return n


def path_rtt(rport, count=30, timeout=1.0):
    """Median time of CoAP GET /time -> response through the relay (the RTT the boards' unicast
    flows see; lost ones retried with a new token): (median ms, answered, sent)."""
    import socket
    from coap import msg, options
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(timeout)
    rtts, sent = [], 0
    try:
        for k in range(count):
            tok = b"rt%02d" % k
            sent += 1
            t0 = time.monotonic()
            s.sendto(msg.encode(msg.NON, msg.GET, 0x4000 + k, tok, [(options.URI_PATH, "time")]),
                     ("127.0.0.1", rport))
            while True:
                try:
                    data = s.recv(2048)
                except OSError:
                    break
                try:
                    if msg.decode(data).token_bytes() == tok:
                        rtts.append((time.monotonic() - t0) * 1000.0)
                        break
                except msg.DecodeError:
                    pass
    finally:
        s.close()
    rtts.sort()
    return (rtts[len(rtts) // 2] if rtts else None), len(rtts), sent


def probe_text(probe):
    if not probe or probe[0] is None:
        return "not measured"
    return "%.1f ms (median of %d CoAP GETs answered of %d)" % probe


def _group_key(sj):
    g = next((x for x in (sj or {}).get("groups") or [] if x.get("path") == "/r"), None)
    return (g.get("grp"), [int(o) for o, _ in g.get("notifications", [])]) if g else (None, [])


def pm_summary(sj, rj, names, probe, a, nft):
    """PM per flow against the truth; True when every figure that exists matches it: a board's
    multicast loss within 1 notification of the truth over the same blocks, a board's RTT within
    max(5 ms, 25 %) of the path RTT, no RTT figure from idle spin periods."""
    ok = True
    grp, wire = _group_key(sj)
    rtt_true = probe[0] if probe else None
    print()
    print("== PM (pattern %s) against the truth == injected: %g %% loss each way on the relay%s, %g ms each way;"
          " path RTT %s" % (a.pm, a.loss, (", %g %% of the multicast notifications" % a.loss) if nft else
                            " (multicast: none)", a.delay, probe_text(probe)))
    for name in names:
        got, pm = board_series(REC, name)
        obs = [o for _, o, _ in got]
        for label, rows in sorted(pm.items()):
            t, loss, lost, exp, rtt, rn = rows[-1]
            if label == grp:
                tl, te = group_truth(wire, obs, N_GROUP, exp // N_GROUP)
                good = exp == 0 or (te == exp and abs(tl - lost) <= 1)
                print("%-8s multicast %-20s PM loss %s (%d/%d)   truth %s (%d/%d over the same blocks)%s" % (
                    name, label, "-" if loss is None else "%.2f%%" % loss, lost, exp,
                    "-" if not te else "%.2f%%" % (100.0 * tl / te), tl, te, "" if good else "   MISMATCH"))
                ok = ok and good
            else:
                good = rtt is None or rtt_true is None or abs(rtt - rtt_true) <= max(5.0, 0.25 * rtt_true)
                print("%-8s unicast   %-20s PM loss %s (%d/%d)   rtt %s (n=%d)   truth: rtt %s%s" % (
                    name, label, "-" if loss is None else "%.2f%%" % loss, lost, exp,
                    "-" if rtt is None else "%gms" % rtt, rn, "-" if rtt_true is None else "%.1fms" % rtt_true,
                    "" if good else "   MISMATCH"))
                ok = ok and good
    flows = (rj or {}).get("flows") or []
    who = lambda i: names[i] if i < len(names) else "demo probe"   # noqa: E731 (relay flows: boards in order)
    ups = dict((f.get("upstream"), (who(i), f)) for i, f in enumerate(flows))
    for peer, d in sorted((((sj or {}).get("pm") or {}).get("peers") or {}).items()):
        if peer == grp or not d.get("pkts"):
            continue
        name, f = ups.get(peer, (peer, None))
        truth = f["up"]["true_loss_pct"] if f else None
        print("server    from %-10s PM loss %s (%d/%d)   rtt %s%s   truth: relay dropped %s upstream" % (
            name, "-" if d.get("loss_pct") is None else "%.2f%%" % d["loss_pct"], d["lost"], d["expected"],
            "-" if d.get("rtt_ms") is None else "%gms" % d["rtt_ms"],
            "" if not d.get("idle") else " (%d spin periods not taken: request gaps, not round trips)" % d["idle"],
            "-" if truth is None else "%.2f%%" % truth))
        if d.get("rtt_ms") is not None and rtt_true is not None and abs(d["rtt_ms"] - rtt_true) > max(5.0, 0.25 * rtt_true):
            print("          MISMATCH: an RTT figure from spin periods that are not round trips")
            ok = False
    for i, f in enumerate(flows):
        for d in ("up", "down"):
            x = f[d]
            # (the PM figure covers the closed blocks of n = 64, the truth every datagram of the run)
            print("relay     %-4s %-10s PM loss %s (%d/%d)   truth: dropped %d of %d (%.2f%%) in the whole run" % (
                d, who(i), "-" if x.get("loss_pct") is None else "%.2f%%" % x["loss_pct"], x["lost"],
                x["expected"], x["relay_dropped"], x["relay_rx"], x["true_loss_pct"] or 0.0))
    print("PM result: %s" % ("every figure matches the truth" if ok else "MISMATCH"))
    return ok


def _server_flows(pm_srv, rj, names, grp):
    """The server's PM series by board name: the relay's flows come in the order the boards started
    (one upstream socket each, the peer the server sees), the demo's own RTT probe last."""
    who = {}
    for i, f in enumerate((rj or {}).get("flows") or []):
        who[f.get("upstream")] = names[i] if i < len(names) else "demo probe"
    return [(who.get(p, p), rows) for p, rows in sorted(pm_srv.items()) if p != grp]


def report(png, sj, rj, names, probe, a, t_end):
    """build/demo/report.png (tools/demo_report.plot)."""
    sent, count, rounds, pm_srv = server_series(REC)
    grp, wire = _group_key(sj)
    boards, pm_board, truth, n_boards_t = [], [], {}, []
    k = 0
    for name in names:
        got, pm = board_series(REC, name)
        boards.append((name, got))
        if got:
            k += 1
            n_boards_t.append((got[0][0], k))
        for label, rows in sorted(pm.items()):
            kind = "multicast" if label == grp else "unicast"
            pm_board.append(("%s %s" % (name, kind), rows))
            if label == grp:   # the truth at each status line, over the blocks the figure covers then
                obs = [o for _, o, _ in got]
                tr = [(r[0], group_truth(wire, obs, N_GROUP, r[3] // N_GROUP)) for r in rows if r[3]]
                truth["%s %s" % (name, kind)] = [(t, 100.0 * tl / te) for t, (tl, te) in tr if te]
    pm_server = [("from %s" % who, rows) for who, rows in _server_flows(pm_srv, rj, names, grp)
                 if any(r[1] is not None or r[2] is not None or r[3] for r in rows)]
    plot(png, t_end, boards, sent, count, rounds, n_boards_t, pm_board, pm_server, truth,
         probe[0] if probe else None,
         "make demo: %d boards, %g s, PM pattern %s, relay %g ms each way, loss %g %%" % (
             len(names), a.duration, a.pm, a.delay, a.loss))


def _json(path):
    """The JSON a process wrote at exit, or None (it did not get to write it)."""
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


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
    ap.add_argument("--interval", type=cli.number(0, above=True), default=0.5, help="server updates /r every S seconds")
    ap.add_argument("--loss", type=cli.number(0, 100, what="a loss %% 0..100 (make demo LOSS=P)"),
                    default=os.getenv("LOSS", "0"), help="%% dropped each way by the relay, and of the multicast "
                                                         "notifications by nftables")
    ap.add_argument("--delay", type=cli.number(0, 1000, what="ms 0..1000 (make demo DELAY=MS)"),
                    default=os.getenv("DELAY", "10"), help="ms added each way by the relay")
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
    relay_path = os.path.join(a.workdir, "relay.json")
    for f in (stats_path, relay_path):
        if os.path.exists(f):
            os.unlink(f)
    rport = free_port()
    nft = None
    probe = None

    procs = []
    boards = []
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        cmd = [PY, "-m", "tools.server", "--bind", "127.0.0.1", "--port", str(port), "--mc-if", "127.0.0.1",
               "--group", GROUP, "--group-port", str(gport), "--interval", "%g" % min(1.0, a.interval),
               "--update", "/r=%g" % a.interval,
               "--wait", "4", "--m", "2", "--every", "3", "--status-every", "2", "--stats-json", stats_path]
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
        # the relay in front of the server: the boards' unicast path, impaired (--loss, --delay), and a
        # PM probe on it (draft-ietf-core-coap-pm §4.1)
        relay = Proc("relay", [PY, "-m", "tools.relay", "--listen", "127.0.0.1:%d" % rport, "--server",
                               "127.0.0.1:%d" % port, "--loss", "%g" % a.loss, "--delay", "%g" % a.delay,
                               "--seed", "1", "--report", "0", "--json", relay_path])
        procs.append(relay)
        say("demo", "relay 127.0.0.1:%d -> server: %g ms each way, %g %% loss each way" % (rport, a.delay, a.loss))
        if a.loss:
            nft = multicast_loss(a.loss, gport)
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
            board_config(cfg, rport, pm, keydir and os.path.join(keydir, "c%d_config.py" % i))
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
        if server.p.poll() is None and not stop.is_set():
            probe = path_rtt(rport)   # the truth for the RTT figures: CoAP GETs through the same relay
            say("demo", "path RTT through the relay: %s" % probe_text(probe))
    except KeyboardInterrupt:
        say("demo", "interrupted")
    finally:
        # the server first: it cancels the group observation (multicast 5.03) and writes its stats
        t_end = time.time() - T0
        for p in procs[:1]:
            p.stop(signal.SIGINT, wait=10)
        time.sleep(1.0)
        for p in reversed(procs[1:]):
            p.stop()
        if nft is not None:
            nft.delete()
    sj, rj = _json(stats_path), _json(relay_path)
    ok = summary(sj, [(n, p.lines) for n, p in boards], lossy=bool(a.loss and nft is not None))
    if pm is not None:
        ok = pm_summary(sj, rj, [n for n, _ in boards], probe, a, nft) and ok
    png = os.path.join(a.workdir, "report.png")
    try:
        report(png, sj, rj, [n for n, _ in boards], probe, a, t_end if procs else 0)
        print("report: %s" % os.path.relpath(png, ROOT) if png.startswith(ROOT) else "report: %s" % png)
    except ImportError as e:   # matplotlib is pinned in requirements-host.txt; say it, do not crash
        print("report: not drawn (%s)" % e)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
